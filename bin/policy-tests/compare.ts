// Comparing a case's expectations with the decision it got (spec/testing.md §4): the effect
// first; when it matches, the deny reason, approver groups, masks, row limit and deciding rules
// that the case states. Each difference is one line.

import type { RuleRef, TestCase } from '../../language/test-file-ast.ts';
import type { Decision } from '../../runtime/policy/decide.ts';
import type { CompiledPolicy, CompiledRule } from '../../spec/compiled-policy.ts';
import { decisionLine, strategyText, type ActualDecision } from './outcome.ts';

const REASON_TEXT = { no_rule: 'no rule allows it', forbidden: 'forbidden whatever the policy says', rule: 'a deny rule' } as const;

/** Whether a rule reference names this rule. */
export function refMatches(compiled: CompiledPolicy, ref: RuleRef, rule: CompiledRule): boolean {
  if (ref.kind === 'baseline') return rule.source === null;
  if (rule.source === null) return false;
  return (
    compiled.sources[rule.source.file].path === ref.file &&
    rule.source.line === ref.line &&
    (ref.column === null || rule.source.column === ref.column)
  );
}

function refText(ref: RuleRef): string {
  return ref.kind === 'baseline' ? 'baseline' : ref.text;
}

function list(items: string[]): string {
  return items.length === 0 ? 'none' : items.join(', ');
}

export function compareCase(c: TestCase, compiled: CompiledPolicy, d: Decision, actual: ActualDecision): string[] {
  const out: string[] = [];
  const e = c.expect!;
  if (e.effect !== d.effect) {
    const wanted = e.effect === 'deny' && e.reason !== null ? `deny (${REASON_TEXT[e.reason]})` : e.effect;
    return [`expected ${wanted}, got ${decisionLine(actual)}`];
  }
  if (e.effect === 'deny' && e.reason !== null && d.deciding && d.deciding.reason !== e.reason) {
    out.push(`expected deny because ${REASON_TEXT[e.reason]}, got ${decisionLine(actual)}`);
  }
  if (e.effect === 'approve' && e.approvers !== null) {
    const want = [...new Set(e.approvers.map((a) => a.value))].sort();
    const got = [...new Set(d.approvals.map((a) => a.approval.group))].sort();
    if (want.join('\0') !== got.join('\0')) {
      out.push(`expected approval by ${list(want.map((g) => `"${g}"`))}, got approval by ${list(got.map((g) => `"${g}"`))}`);
    }
  }
  if (c.masks !== undefined) {
    const key = (relation: string, column: string, strategy: string) => `${relation}.${column} with ${strategy}`;
    const want = c.masks.masks.map((m) => key(m.relation, m.column, strategyText(m.strategy)));
    const got = actual.masks.map((m) => key(m.relation, m.column, m.strategy));
    const missing = want.filter((w) => !got.includes(w));
    const extra = got.filter((g) => !want.includes(g));
    if (missing.length > 0 || extra.length > 0) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`expected but not applied: ${missing.join(', ')}`);
      if (extra.length > 0) parts.push(`applied but not expected: ${extra.join(', ')}`);
      out.push(`masks differ: ${parts.join('; ')}`);
    }
  }
  if (c.limit !== undefined) {
    const got = d.limit?.rows ?? null;
    if (got !== c.limit.rows) {
      const show = (n: number | null) => (n === null ? 'no limit' : `limit ${n}`);
      out.push(`expected ${show(c.limit.rows)}, got ${show(got)}${actual.limit ? ` (${actual.limit.rule})` : ''}`);
    }
  }
  if (c.rules !== undefined) {
    const refs = c.rules.refs;
    const rules = d.rules.map((id) => compiled.rules[id]);
    const unmatchedRefs = refs.filter((ref) => !rules.some((r) => refMatches(compiled, ref, r)));
    const unmatchedRules = actual.rules.filter((_, i) => !refs.some((ref) => refMatches(compiled, ref, rules[i])));
    if (unmatchedRefs.length > 0 || unmatchedRules.length > 0) {
      const what = d.effect === 'deny' ? 'denied' : d.effect === 'approve' ? 'held' : 'allowed';
      out.push(
        `expected ${what} by ${list(refs.map(refText))}, got ${list(actual.rules.map((r) => (r.location === '(baseline)' ? 'baseline' : r.location)))}`,
      );
    }
  }
  return out;
}
