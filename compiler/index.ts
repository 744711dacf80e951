// The compiler: parsed policy files in, diagnostics and the compiled policy out.
// Passes: declarations → identity and targets → rules → lowering (DESIGN.md §1).

import { createHash } from 'node:crypto';
import type { Diagnostic } from '../language/diagnostic.ts';
import { sortDiagnostics } from '../language/diagnostic.ts';
import { parsePolicy } from '../language/index.ts';
import { lineIndex, type LineIndex } from '../language/source.ts';
import { COMPILED_FORMAT, COMPILED_VERSION, type CompiledPolicy, type SourceLocation } from '../spec/compiled-policy.ts';
import { loadBuiltins } from './builtin-data.ts';
import type { BuiltinData } from './builtins.ts';
import { CompileContext, type SourceFile } from './context.ts';
import { collectDeclarations } from './declarations.ts';
import { lowerIdentity } from './identity.ts';
import { lowerApprovals, lowerAudit } from './policy-blocks.ts';
import { lower } from './lower.ts';
import { resolveRules, type ResolvedRule } from './rules.ts';
import type { InputFile } from './sources.ts';
import { lowerTargets } from './targets.ts';

export interface CompileOutput {
  /** null when there are errors */
  policy: CompiledPolicy | null;
  /** sorted; `file` is the display path */
  diagnostics: Diagnostic[];
  /** display path → text, for rendering diagnostics */
  texts: Map<string, string>;
  /** the parsed files, by root-relative path */
  files: SourceFile[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** One line of a rule as written: comments dropped, whitespace collapsed. */
function oneLine(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    let inString = false;
    let cut = line.length;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (inString && c === '\\') i++;
      else if (c === '"') inString = !inString;
      else if (c === '#' && !inString) {
        cut = i;
        break;
      }
    }
    out.push(line.slice(0, cut));
  }
  return out.join(' ').replace(/\s+/g, ' ').trim();
}

/** Checks run on a policy that compiled (analysis, schema checks); files are named by root-relative path. */
export type PolicyCheck = (policy: CompiledPolicy, files: SourceFile[], builtins: BuiltinData) => Diagnostic[];

export function compileFiles(inputs: InputFile[], builtins: BuiltinData = loadBuiltins(), checks: PolicyCheck[] = []): CompileOutput {
  const sorted = [...inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const early: Diagnostic[] = [];
  const files: SourceFile[] = [];
  for (const input of sorted) {
    early.push(...input.source.diagnostics.map((d) => ({ ...d, file: input.path })));
    if (!input.source.ok) continue;
    const { file, diagnostics } = parsePolicy(input.source.text, input.path);
    early.push(...diagnostics);
    files.push({ path: input.path, text: input.source.text, sha256: sha256(input.source.text), ast: file });
  }

  const ctx = new CompileContext(files, builtins);
  ctx.diagnostics.push(...early);
  const fileIndex = new Map(files.map((f, i) => [f.path, i]));
  const indexes = new Map<string, LineIndex>();
  const locate = (file: string, start: number, end: number): SourceLocation => {
    const f = files[fileIndex.get(file)!];
    let idx = indexes.get(file);
    if (!idx) indexes.set(file, (idx = lineIndex(f.text)));
    const { line, column } = idx.position(start);
    return { file: fileIndex.get(file)!, line, column, start, end };
  };
  const ruleText = (r: ResolvedRule) => oneLine(files[fileIndex.get(r.file)!].text.slice(r.span.start, r.span.end));

  let policy: CompiledPolicy | null = null;
  if (files.length > 0) {
    const decls = collectDeclarations(ctx);
    const identity = lowerIdentity(ctx, decls.identity);
    const targets = lowerTargets(ctx, decls.targets, locate);
    const rules = resolveRules(ctx, decls, targets);
    const audit = lowerAudit(ctx, decls.audit);
    const approvals = lowerApprovals(ctx, decls.approvals);
    if (!ctx.hasErrors && identity && decls.policy) {
      const lowered = lower({ builtins, declaredGroups: decls.groups.keys(), targets, rules, locate, ruleText });
      const sources = files.map((f) => ({ path: f.path, sha256: f.sha256 }));
      policy = {
        format: COMPILED_FORMAT,
        version: COMPILED_VERSION,
        policy: decls.policy.node.name.value,
        digest: sha256(sources.map((s) => `${s.path}\0${s.sha256}\n`).join('')),
        sources,
        identity,
        ...lowered,
        ...(audit ? { audit } : {}),
        ...(approvals ? { approvals } : {}),
      };
      for (const check of checks) ctx.diagnostics.push(...check(policy, files, builtins));
      if (ctx.hasErrors) policy = null;
    }
  }

  const display = new Map(inputs.map((i) => [i.path, i.display]));
  const shown = (file: string) => display.get(file) ?? file;
  const diagnostics = sortDiagnostics(
    ctx.diagnostics.map((d) => ({
      ...d,
      file: shown(d.file),
      ...(d.related ? { related: d.related.map((r) => ({ ...r, file: shown(r.file) })) } : {}),
    })),
  );
  const texts = new Map(inputs.map((i) => [i.display, i.source.text]));
  return { policy, diagnostics, texts, files };
}

/** The compiled policy as the bytes `pamc compile` writes: stable across runs and machines. */
export function serializeCompiled(policy: CompiledPolicy): string {
  return JSON.stringify(policy, null, 2) + '\n';
}
