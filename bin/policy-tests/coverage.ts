// Decision coverage (spec/testing.md §5): which rules of a policy the cases exercised.
//
// A case exercises, for each fact the decision function evaluated (every fact of an allowed or
// approved query; the facts up to and including the deciding one of a denied query), the rules
// of the effect that won for that fact and applied to it (the matching deny rules, the matching
// approve rules, or the allow rules that allowed it), plus the mask rules behind the decision's
// masks and the rule behind its row limit. The unit is a compiled rule: a rule written in
// `on a, b { … }` is one rule per target. Rules without a source (the baseline) do not count.

import type { Decision } from '../../runtime/policy/decide.ts';
import type { Explanation } from '../../runtime/policy/explain.ts';
import type { CompiledRule } from '../../spec/compiled-policy.ts';
import type { PolicyUnderTest } from './policies.ts';

/** The rule ids a decision exercised. */
export function exercisedRules(explanation: Explanation): number[] {
  const d: Decision = explanation.decision;
  const out = new Set<number>();
  let facts = explanation.facts;
  if (d.effect === 'deny' && d.deciding) {
    const deciding = d.deciding;
    const at = facts.findIndex((f) => f.statement === deciding.statement && f.fact === deciding.fact);
    const fallback = facts.findIndex(
      (f) => f.statement === deciding.statement && f.fact.action === deciding.fact.action && f.fact.resource === deciding.fact.resource,
    );
    const end = at >= 0 ? at : fallback;
    if (end >= 0) facts = facts.slice(0, end + 1);
  }
  for (const f of facts) {
    if (f.reason !== 'rule') continue;
    for (const c of f.considered) if (c.applies && c.effect === f.effect) out.add(c.rule);
  }
  for (const r of d.rules) out.add(r);
  for (const a of d.approvals) out.add(a.rule);
  for (const m of d.masks) for (const r of m.rules) out.add(r);
  if (d.limit) out.add(d.limit.rule);
  return [...out].sort((a, b) => a - b);
}

export interface PolicyCoverage {
  policy: PolicyUnderTest;
  /** rules that count: every rule with a source */
  total: number;
  covered: number;
  /** covered / total × 100 (100 when there is nothing to cover) */
  percent: number;
  uncovered: CompiledRule[];
}

export function coverageOf(policy: PolicyUnderTest, exercised: Iterable<number>): PolicyCoverage {
  const rules = (policy.compiled?.rules ?? []).filter((r) => r.source !== null);
  const hit = new Set(exercised);
  const uncovered = rules.filter((r) => !hit.has(r.id));
  const covered = rules.length - uncovered.length;
  return { policy, total: rules.length, covered, percent: rules.length === 0 ? 100 : (covered * 100) / rules.length, uncovered };
}

/** `100%`, `94.7%`: rounded down, so a policy short of full coverage never shows 100%. */
export function percentText(c: PolicyCoverage): string {
  if (c.covered === c.total) return '100%';
  return `${(Math.floor(c.percent * 10) / 10).toFixed(1)}%`;
}

/** Whether the coverage reaches `min` percent, computed exactly (no rounding). */
export function meetsMinimum(c: PolicyCoverage, min: number): boolean {
  return c.total === 0 || c.covered * 100 >= min * c.total;
}
