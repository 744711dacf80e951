// What `pamc eval`, `pamc explain` and `pamc test` share: compiling a policy for the runtime,
// building a principal from command-line identity options, and describing rules and decisions.

import type { CompiledPolicy, CompiledRule } from '../../spec/compiled-policy.ts';
import { loadPolicy, type LoadedPolicy } from '../../runtime/policy/load.ts';
import { createPrincipal, type Principal } from '../../runtime/policy/principal.ts';
import type { Decision } from '../../runtime/policy/decide.ts';
import { loadParser } from '../../runtime/sql/parser.ts';
import { classify } from '../../runtime/sql/classify.ts';
import type { Classification, Fact } from '../../runtime/sql/facts.ts';
import { didYouMean } from '../../compiler/suggest.ts';
import { renderDiagnostics } from '../../compiler/render.ts';
import { compilePaths, splitList, UsageError, useColor } from './common.ts';

export interface PolicyForRuntime {
  compiled: CompiledPolicy;
  loaded: LoadedPolicy;
}

/** Compiles and loads a policy; prints its diagnostics and fails when it has errors. */
export async function policyForRuntime(paths: string[]): Promise<PolicyForRuntime> {
  const out = await compilePaths(paths);
  if (!out.policy) {
    process.stderr.write(renderDiagnostics('human', out.diagnostics, out.texts, out.fileCount, { color: useColor(process.stderr) }));
    throw new UsageError('the policy has errors (above); fix them first');
  }
  return { compiled: out.policy, loaded: loadPolicy(out.policy) };
}

/** `k=v` pairs into claims; a value that looks like JSON (`["a","b"]`, `true`, `3`) is parsed. */
export function parseClaims(items: string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`\`--claim ${item}\` is not k=v`);
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    if (/^(\[.*\]|true|false|-?\d+(\.\d+)?)$/.test(raw)) {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    }
    claims[item.slice(0, eq)] = value;
  }
  return claims;
}

export function principalFor(
  policy: LoadedPolicy,
  targetName: string,
  groups: string[],
  claims: Record<string, unknown>,
  subject = 'cli',
): Principal {
  const target = policy.targets.get(targetName);
  if (!target) {
    const names = [...policy.targets.keys()];
    throw new UsageError(`no target \`${targetName}\` in the policy${didYouMean(targetName, names) ? `; ${didYouMean(targetName, names)}` : ` (targets: ${names.join(', ')})`}`);
  }
  return createPrincipal(policy, target, { subject, groups, agent: null, claims });
}

export async function classifyFor(principal: Principal, sql: string): Promise<Classification> {
  await loadParser();
  return classify(sql, { searchPath: principal.target.compiled.searchPath });
}

export function parseAt(value: unknown): number {
  if (value === undefined) return Date.now();
  const t = Date.parse(String(value));
  if (Number.isNaN(t)) throw new UsageError(`\`--at ${String(value)}\` is not a date and time (ISO 8601, e.g. 2026-11-25T10:00:00Z)`);
  return t;
}

/** `policy.pam:12:5` for a rule, or `(baseline)` for rules the compiler added. */
export function ruleLocation(compiled: CompiledPolicy, rule: CompiledRule): string {
  if (!rule.source) return '(baseline)';
  return `${compiled.sources[rule.source.file].path}:${rule.source.line}:${rule.source.column}`;
}

export function describeFact(f: Fact): string {
  const resource = f.resource === '' ? '' : ` on ${f.resource}`;
  const extra = f.unbounded ? ' (unbounded)' : '';
  if (f.action === 'forbidden') return `forbidden: ${f.detail ?? 'refused'}`;
  return `${f.action}${resource}${extra}`;
}

export function formatWindow(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** The decision as a JSON-ready object (`pamc eval --json`). */
export function decisionJson(compiled: CompiledPolicy, d: Decision, classification: Classification) {
  const rule = (id: number) => {
    const r = compiled.rules[id];
    return { id, text: r.text, location: r.source ? ruleLocation(compiled, r) : null };
  };
  return {
    effect: d.effect,
    rules: d.rules.map(rule),
    deciding: d.deciding ? { statement: d.deciding.statement + 1, fact: d.deciding.fact, reason: d.deciding.reason } : null,
    masks: d.masks.map((m) => ({ relation: m.relation, column: m.column, strategy: m.strategy, rules: m.rules.map(rule) })),
    limit: d.limit ? { rows: d.limit.rows, rule: rule(d.limit.rule) } : null,
    approvals: d.approvals.map((a) => ({ ...a.approval, rule: rule(a.rule) })),
    statements: classification.statements.map((s) => ({ text: s.text, fingerprint: s.fingerprint, facts: s.facts, limited: s.limited })),
  };
}

/** A few lines a person reads: the effect, why, and what comes with it. */
export function decisionText(compiled: CompiledPolicy, d: Decision, classification: Classification): string {
  const lines: string[] = [];
  const rule = (id: number) => `${ruleLocation(compiled, compiled.rules[id])}  ${compiled.rules[id].text}`;
  if (d.effect === 'deny' && d.deciding) {
    const where = classification.statements.length > 1 ? ` (statement ${d.deciding.statement + 1})` : '';
    const fact = describeFact(d.deciding.fact);
    if (d.deciding.note) {
      lines.push(`deny: ${fact}${where}`, `  ${d.deciding.note}`);
      for (const r of d.rules) lines.push(`  see ${rule(r)}`);
    } else if (d.deciding.reason === 'forbidden') lines.push(`deny: ${fact}${where}; refused whatever the policy says`);
    else if (d.deciding.reason === 'no_rule') lines.push(`deny: ${fact}${where}; no rule allows it`);
    else {
      lines.push(`deny: ${fact}${where}`);
      for (const r of d.rules) lines.push(`  denied by ${rule(r)}`);
    }
    return lines.join('\n') + '\n';
  }
  lines.push(d.effect);
  if (d.effect === 'approve') {
    for (const a of d.approvals) {
      const q = a.approval.quorum > 1 ? `${a.approval.quorum} approvers` : 'one approver';
      lines.push(`  needs ${q} from "${a.approval.group}" within ${formatWindow(a.approval.withinSeconds)} (${a.approval.mode})`);
      lines.push(`    ${rule(a.rule)}`);
    }
  } else {
    for (const r of d.rules) lines.push(`  allowed by ${rule(r)}`);
  }
  for (const m of d.masks) {
    const s = 'n' in m.strategy ? `${m.strategy.name}(${m.strategy.n})` : m.strategy.name;
    lines.push(`  mask ${m.relation}.${m.column} with ${s}  (${m.rules.map((r) => ruleLocation(compiled, compiled.rules[r])).join(', ')})`);
  }
  if (d.limit) lines.push(`  limit ${d.limit.rows} rows  (${ruleLocation(compiled, compiled.rules[d.limit.rule])})`);
  return lines.join('\n') + '\n';
}

export const identityOptions = {
  policy: { type: 'string' as const, demandOption: true, describe: 'policy files or folders (repeatable)' },
  target: { type: 'string' as const, demandOption: true, describe: 'the target the SQL runs on' },
  groups: { type: 'string' as const, describe: 'the identity\'s groups (comma-separated or repeated)' },
  claim: { type: 'string' as const, describe: 'a token claim, k=v (repeatable)' },
  at: { type: 'string' as const, describe: 'decide as of this time (ISO 8601), for `during` conditions' },
};

export function groupsOf(args: Record<string, unknown>): string[] {
  return splitList(args.groups);
}
