// What a case's run produced, in a shape every report format reads: the decision described with
// display paths (so a failure names `examples/quickstart/policy.pam:21:5`, not a rule id).

import type { Diagnostic, Span } from '../../language/diagnostic.ts';
import type { Decision } from '../../runtime/policy/decide.ts';
import type { Classification } from '../../runtime/sql/facts.ts';
import type { MaskStrategy } from '../../spec/compiled-policy.ts';
import { describeFact, formatWindow } from '../commands/evaluate.ts';
import { ruleWhere, type PolicyUnderTest } from './policies.ts';

export interface RuleView {
  id: number;
  /** `file:line:col`, or `(baseline)` */
  location: string;
  text: string;
  target: string;
}

export interface ActualDecision {
  effect: Decision['effect'];
  /** deny: why; null otherwise */
  reason: 'rule' | 'no_rule' | 'forbidden' | null;
  /** deny and approve: the fact that decided, described (`delete on public.orders (unbounded)`), and its statement (1-based) */
  deciding: { statement: number; fact: string } | null;
  rules: RuleView[];
  approvals: { group: string; quorum: number; within: string; mode: string; rule: RuleView }[];
  masks: { relation: string; column: string; strategy: string; rules: string[] }[];
  limit: { rows: number; rule: string } | null;
  statements: { text: string; facts: string[] }[];
  /** set when the SQL does not parse */
  parseError: string | null;
}

export type CaseStatus = 'pass' | 'fail' | 'error';

export interface CaseOutcome {
  name: string;
  /** the case's `case "name"` in the test file */
  span: Span;
  line: number;
  column: number;
  status: CaseStatus;
  /** fail: what did not match, one line each */
  mismatches: string[];
  /** null when the case did not run (status error) */
  actual: ActualDecision | null;
  /** error: why it could not run (also reported with the file's diagnostics) */
  errors: string[];
  /** rule ids the case exercised (decision coverage) */
  exercised: number[];
  durationMs: number;
}

export interface FileOutcome {
  /** the path as displayed (relative to the working directory) */
  display: string;
  text: string;
  /** the test file's own diagnostics: syntax, and names that do not resolve against the policy */
  diagnostics: Diagnostic[];
  /** null when the policy could not be resolved */
  policy: PolicyUnderTest | null;
  cases: CaseOutcome[];
  durationMs: number;
}

export function strategyText(s: MaskStrategy | { name: string; n?: number }): string {
  return 'n' in s && s.n !== undefined ? `${s.name}(${s.n})` : s.name;
}

export function ruleView(p: PolicyUnderTest, id: number): RuleView {
  const r = p.compiled!.rules[id];
  return { id, location: ruleWhere(p, r), text: r.text, target: r.target };
}

export function actualDecision(p: PolicyUnderTest, d: Decision, c: Classification): ActualDecision {
  const view = (id: number) => ruleView(p, id);
  return {
    effect: d.effect,
    reason: d.effect === 'deny' && d.deciding ? d.deciding.reason : null,
    deciding: d.deciding ? { statement: d.deciding.statement + 1, fact: describeFact(d.deciding.fact) } : null,
    rules: d.rules.map(view),
    approvals: d.approvals.map((a) => ({
      group: a.approval.group,
      quorum: a.approval.quorum,
      within: formatWindow(a.approval.withinSeconds),
      mode: a.approval.mode,
      rule: view(a.rule),
    })),
    masks: d.masks.map((m) => ({ relation: m.relation, column: m.column, strategy: strategyText(m.strategy), rules: m.rules.map((r) => view(r).location) })),
    limit: d.limit ? { rows: d.limit.rows, rule: view(d.limit.rule).location } : null,
    statements: c.statements.map((s) => ({
      text: s.text,
      facts: (s.facts.length > 0 ? s.facts : [{ action: 'compute', resource: '' }]).map(describeFact),
    })),
    parseError: c.error ? c.error.message : null,
  };
}

/** The decision in one line: `deny: no rule allows select on public.payments`. */
export function decisionLine(a: ActualDecision): string {
  const where = a.deciding && a.statements.length > 1 ? ` (statement ${a.deciding.statement})` : '';
  if (a.effect === 'deny') {
    if (a.reason === 'forbidden') return `deny: ${a.deciding?.fact ?? 'forbidden'}${where}, refused whatever the policy says`;
    if (a.reason === 'no_rule') return `deny: no rule allows ${a.deciding?.fact ?? 'it'}${where}`;
    return `deny: ${a.deciding?.fact ?? ''}${where} denied by ${a.rules.map((r) => r.location).join(', ')}`;
  }
  if (a.effect === 'approve') {
    const by = [...new Set(a.approvals.map((x) => `"${x.group}"`))].join(', ');
    return `approve by ${by}: ${a.deciding?.fact ?? ''}${where}`;
  }
  return 'allow';
}

/** The decision in a few lines, for a failure's details. */
export function decisionDetails(a: ActualDecision): string[] {
  const lines: string[] = [];
  const rule = (r: RuleView) => `${r.location}  ${r.text}`;
  const label = a.effect === 'deny' ? 'denied by' : a.effect === 'approve' ? 'held by' : 'allowed by';
  for (const r of a.rules) lines.push(`${label} ${rule(r)}`);
  for (const x of a.approvals) {
    lines.push(`needs ${x.quorum > 1 ? `${x.quorum} approvers` : 'one approver'} from "${x.group}" within ${x.within} (${x.mode})`);
  }
  for (const m of a.masks) lines.push(`mask ${m.relation}.${m.column} with ${m.strategy}  (${m.rules.join(', ')})`);
  if (a.limit) lines.push(`limit ${a.limit.rows} rows  (${a.limit.rule})`);
  if (a.parseError) lines.push(`the sql does not parse: ${a.parseError}`);
  a.statements.forEach((s, i) => {
    const text = s.text.replace(/\s+/g, ' ');
    const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
    lines.push(`statement ${i + 1}: ${shown}`);
    lines.push(`  facts: ${s.facts.join('; ')}`);
  });
  return lines;
}
