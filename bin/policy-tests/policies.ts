// The policy under test: resolved from the test file's `policy "…"` line (a file or folder,
// relative to the test file) or, without one, the `.pam` files beside the test file; compiled
// once per run however many test files name it, and loaded for the runtime.

import { readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { compileFiles } from '../../compiler/index.ts';
import { loadPolicyFiles } from '../../compiler/sources.ts';
import { diagnostic, hasErrors, type Diagnostic } from '../../language/diagnostic.ts';
import type { TestFile } from '../../language/test-file-ast.ts';
import { loadPolicy, type LoadedPolicy } from '../../runtime/policy/load.ts';
import type { CompiledPolicy, CompiledRule } from '../../spec/compiled-policy.ts';

export interface PolicyUnderTest {
  /** what identifies it within a run: the resolved file, folder, or `folder/*.pam` */
  key: string;
  /** how reports name it: relative to the working directory */
  display: string;
  /** null when it does not compile (or the compiled form does not load) */
  compiled: CompiledPolicy | null;
  loaded: LoadedPolicy | null;
  /** the compiler's diagnostics (errors and warnings), file paths as displayed */
  diagnostics: Diagnostic[];
  /** display path → text of every policy file, for rendering diagnostics */
  texts: Map<string, string>;
  fileCount: number;
  /** compiled source index → display path */
  sourceDisplay: string[];
}

export type PolicyResolution = { ok: true; policy: PolicyUnderTest } | { ok: false; diagnostic: Diagnostic };

const showPath = (cwd: string, full: string) => relative(cwd, full) || '.';

async function pamFilesIn(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && e.name.endsWith('.pam') && !e.name.startsWith('.'))
      .map((e) => join(dir, e.name))
      .sort();
  } catch {
    return [];
  }
}

async function compile(key: string, display: string, paths: string[], cwd: string): Promise<PolicyUnderTest> {
  const input = await loadPolicyFiles(paths, cwd);
  if (input.files.length === 0) {
    return { key, display, compiled: null, loaded: null, diagnostics: [], texts: new Map(), fileCount: 0, sourceDisplay: [] };
  }
  const out = compileFiles(input.files);
  const byPath = new Map(input.files.map((f) => [f.path, f.display]));
  const diagnostics = [...out.diagnostics];
  let compiled = out.policy;
  let loaded: LoadedPolicy | null = null;
  if (compiled !== null) {
    try {
      compiled = JSON.parse(JSON.stringify(compiled)) as CompiledPolicy;
      loaded = loadPolicy(compiled);
    } catch (e) {
      diagnostics.push(
        diagnostic('PAM5041', 'error', input.files[0]?.display ?? display, { start: 0, end: 0 }, `the compiled policy does not load: ${(e as Error).message}`),
      );
      compiled = null;
    }
  }
  if (compiled === null && !hasErrors(diagnostics)) {
    diagnostics.push(diagnostic('PAM5041', 'error', input.files[0]?.display ?? display, { start: 0, end: 0 }, 'the policy does not compile'));
  }
  return {
    key,
    display,
    compiled,
    loaded,
    diagnostics,
    texts: out.texts,
    fileCount: input.files.length,
    sourceDisplay: compiled ? compiled.sources.map((s) => byPath.get(s.path) ?? s.path) : [],
  };
}

/** Resolves and compiles policies, each once. */
export function createPolicyCache(cwd = process.cwd()) {
  const cache = new Map<string, Promise<PolicyUnderTest>>();
  const once = (key: string, display: string, paths: string[]) => {
    let p = cache.get(key);
    if (!p) cache.set(key, (p = compile(key, display, paths, cwd)));
    return p;
  };

  async function resolvePolicy(testFileFull: string, file: TestFile): Promise<PolicyResolution> {
    const dir = dirname(testFileFull);
    if (file.policy === null) {
      const pams = await pamFilesIn(dir);
      if (pams.length === 0) {
        return {
          ok: false,
          diagnostic: diagnostic('PAM5040', 'error', file.path, { start: 0, end: 0 }, `no policy to test: \`${showPath(cwd, dir)}\` holds no .pam files`, {
            help: 'name the policy under test: `policy "policy.pam"` or `policy "policies/"`',
          }),
        };
      }
      const shown = pams.length === 1 ? showPath(cwd, pams[0]) : join(showPath(cwd, dir), '*.pam');
      return { ok: true, policy: await once(`${dir}/*.pam`, shown, pams) };
    }
    const full = resolve(dir, file.policy.value);
    let st;
    try {
      st = await stat(full);
    } catch {
      return {
        ok: false,
        diagnostic: diagnostic('PAM5040', 'error', file.path, file.policy.span, `policy \`${file.policy.value}\` does not exist`, {
          help: `the path is relative to the test file's folder, \`${showPath(cwd, dir)}\``,
        }),
      };
    }
    const policy = await once(full, showPath(cwd, full), [full]);
    if (st.isDirectory() && policy.fileCount === 0) {
      return {
        ok: false,
        diagnostic: diagnostic('PAM5040', 'error', file.path, file.policy.span, `policy folder \`${file.policy.value}\` holds no .pam files`),
      };
    }
    return { ok: true, policy };
  }

  return { resolvePolicy, policies: async () => Promise.all(cache.values()) };
}

/** `examples/quickstart/policy.pam:21:5` for a rule, or `(baseline)`. */
export function ruleWhere(p: PolicyUnderTest, rule: CompiledRule): string {
  if (!rule.source) return '(baseline)';
  return `${p.sourceDisplay[rule.source.file]}:${rule.source.line}:${rule.source.column}`;
}

/** Whether several rules of the policy come from this rule's text (an `on a, b` block). */
export function sharedSource(p: PolicyUnderTest, rule: CompiledRule): boolean {
  if (!rule.source || !p.compiled) return false;
  const s = rule.source;
  return p.compiled.rules.some((r) => r.id !== rule.id && r.source !== null && r.source.file === s.file && r.source.start === s.start);
}
