// Why a decision came out as it did: for every fact, the table cell it was looked up in and
// every rule in that cell, with whether it applied and why not. Slower than decide(), and
// built on the same tables, so the two cannot disagree (a test holds them to it).

import type { CompiledCondition } from '../../spec/compiled-policy.ts';
import type { ClassifiedStatement, Fact } from '../sql/facts.ts';
import { duringHolds } from './clock.ts';
import { decide, factsOf, type Decision, type DecisionEffect } from './decide.ts';
import { parentKey } from './keys.ts';
import type { LoadedEntry } from './load.ts';
import { DYNAMIC, FAILS, HOLDS, intersects, UNKNOWN, type Principal } from './principal.ts';

export interface RuleConsideration {
  rule: number;
  effect: DecisionEffect;
  applies: boolean;
  /** why it does not apply; empty when it does */
  why: string;
}

export interface FactExplanation {
  statement: number;
  fact: Fact;
  /** the table key the fact was found under (exact, a wildcard, `*`), or null when no rule mentions it */
  matchedKey: string | null;
  considered: RuleConsideration[];
  effect: DecisionEffect;
  reason: 'rule' | 'no_rule' | 'forbidden';
}

export interface Explanation {
  decision: Decision;
  facts: FactExplanation[];
}

function describeCondition(c: CompiledCondition): string {
  switch (c.kind) {
    case 'property':
      return `${c.negated ? 'not ' : ''}${c.property}`;
    case 'during':
      return `during (${c.tz})`;
    case 'claim':
      return `claim "${c.claim}" ${c.op} [${c.values.map((v) => `"${v}"`).join(', ')}]`;
  }
}

function whyNot(p: Principal, e: LoadedEntry, effect: DecisionEffect, fact: Fact, s: ClassifiedStatement, now: number): string {
  if (!intersects(e.mask, p.mask)) {
    const rule = p.policy.rules[e.rule];
    return rule.group === null ? 'not for this identity' : `for group "${rule.group}", which this identity is not in`;
  }
  for (const c of e.when ?? []) {
    const cond = p.policy.conditions[c];
    const state = p.conditionState[c];
    if (state === HOLDS) continue;
    if (state === FAILS) return `condition \`${describeCondition(cond)}\` does not hold`;
    if (state === UNKNOWN) {
      if (effect === 'allow') return `condition \`${describeCondition(cond)}\` cannot be evaluated (the claim is missing or not a string)`;
      continue;
    }
    if (state === DYNAMIC) {
      let holds: boolean;
      if (cond.kind === 'property') {
        const v = cond.property === 'unbounded' ? fact.unbounded === true : s.limited;
        holds = cond.negated ? !v : v;
      } else holds = cond.kind === 'during' ? duringHolds(cond, now) : false;
      if (!holds) return `condition \`${describeCondition(cond)}\` does not hold`;
    }
  }
  return '';
}

function explainFact(p: Principal, si: number, s: ClassifiedStatement, fact: Fact, now: number): FactExplanation {
  if (fact.action === 'forbidden') {
    return { statement: si, fact, matchedKey: null, considered: [], effect: 'deny', reason: 'forbidden' };
  }
  const t = p.target;
  const cells = t.actions.get(fact.action);
  let matchedKey: string | null = null;
  if (cells) {
    if (cells.has(fact.resource)) matchedKey = fact.resource;
    else {
      const parent = parentKey(t.resourceKinds.get(fact.action) ?? '', fact.resource);
      if (parent !== null && cells.has(parent)) matchedKey = parent;
      else if (cells.has('*')) matchedKey = '*';
    }
  }
  const cell = matchedKey !== null ? cells!.get(matchedKey)! : null;
  const considered: RuleConsideration[] = [];
  let effect: DecisionEffect | null = null;
  for (const eff of ['deny', 'approve', 'allow'] as const) {
    for (const e of cell?.[eff] ?? []) {
      const why = whyNot(p, e, eff, fact, s, now);
      considered.push({ rule: e.rule, effect: eff, applies: why === '', why });
      if (why === '' && effect === null) effect = eff;
    }
  }
  return { statement: si, fact, matchedKey, considered, effect: effect ?? 'deny', reason: effect === null ? 'no_rule' : 'rule' };
}

export function explain(p: Principal, statements: readonly ClassifiedStatement[], now: number = Date.now()): Explanation {
  const facts: FactExplanation[] = [];
  statements.forEach((s, si) => {
    for (const fact of factsOf(s)) facts.push(explainFact(p, si, s, fact, now));
  });
  return { decision: decide(p, statements, now), facts };
}
