// Rules that never decide anything (spec/diff.md §4):
//
// PAM4001 shadowed: an allow or approve rule every one of whose cells holds a stronger entry
// (a deny, or for an allow also an approve) for the same group or for every identity, with no
// condition the rule does not also have. Whenever the rule applies, the stronger one does too.
//
// PAM4002 redundant: a rule every one of whose cells holds another entry of the same effect (and
// the same approval) that applies whenever it does: for the same group or every identity, with a
// subset of its conditions. Of two rules that cover each other, the later one is reported, so
// removing every reported rule at once leaves the decisions unchanged.
//
// Both hold only when they hold on every target a rule is written for.

import type { Diagnostic } from '../../language/diagnostic.ts';
import { diagnostic } from '../../language/diagnostic.ts';
import type { CompiledPolicy, CompiledRule, Entry } from '../../spec/compiled-policy.ts';
import { approvalKey } from '../diff/tables.ts';
import { groupBit, locate, relatedRules, rulesBySpan, sourceOrder, whenWithin, type Occurrence } from './occurrences.ts';

const appliesToGroupOf = (e: Entry, bit: number) => e.groups.includes(0) || e.groups.includes(bit);

/** The rules that override `rule` in every cell it has; null if some cell is not overridden. */
function shadowers(policy: CompiledPolicy, rule: CompiledRule, occurrences: Occurrence[]): { rules: Set<number>; byApproval: boolean } | null {
  if (rule.effect !== 'allow' && rule.effect !== 'approve') return null;
  const bit = groupBit(policy, rule);
  const rules = new Set<number>();
  let byApproval = false;
  for (const o of occurrences) {
    const stronger = [...(o.cell.deny ?? []), ...(rule.effect === 'allow' ? (o.cell.approve ?? []) : [])];
    const found = stronger.filter((e) => appliesToGroupOf(e, bit) && whenWithin(e, o.entry));
    if (found.length === 0) return null;
    for (const e of found) {
      rules.add(e.rule);
      if (e.approval) byApproval = true;
    }
  }
  return { rules, byApproval };
}

/** Whether `other` covers `rule`'s entry: applies whenever it does, and is stronger or earlier. */
function covers(policy: CompiledPolicy, rule: CompiledRule, entry: Entry, other: Entry): boolean {
  const r2 = policy.rules[other.rule];
  if (r2.id === rule.id || r2.source === null) return false;
  if (approvalKey(other.approval ?? null) !== approvalKey(entry.approval ?? null)) return false;
  const bit = groupBit(policy, rule);
  if (!appliesToGroupOf(other, bit) || !whenWithin(other, entry)) return false;
  const broaderGroup = other.groups.includes(0) && bit !== 0;
  const fewerConditions = (other.when ?? []).length < (entry.when ?? []).length;
  return broaderGroup || fewerConditions || sourceOrder(r2, rule) < 0;
}

function coverers(policy: CompiledPolicy, rule: CompiledRule, occurrences: Occurrence[]): Set<number> | null {
  if (rule.effect !== 'allow' && rule.effect !== 'deny' && rule.effect !== 'approve') return null;
  const rules = new Set<number>();
  for (const o of occurrences) {
    const found = (o.cell[o.effect] ?? []).filter((e) => covers(policy, rule, o.entry, e));
    if (found.length === 0) return null;
    for (const e of found) rules.add(e.rule);
  }
  return rules;
}

export function deadRules(policy: CompiledPolicy, occurrences: Map<number, Occurrence[]>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const compiled of rulesBySpan(policy)) {
    const first = compiled[0];
    if (first.effect === 'mask' || first.effect === 'limit') continue;
    const at = locate(policy, first)!;
    const occ = compiled.map((r) => occurrences.get(r.id) ?? []);
    if (occ.some((o) => o.length === 0)) continue;

    const shadowed = compiled.map((r, i) => shadowers(policy, r, occ[i]));
    if (shadowed.every((s) => s !== null)) {
      const ids = shadowed.flatMap((s) => [...s!.rules]);
      const byApproval = shadowed.some((s) => s!.byApproval);
      const what = first.effect === 'allow' ? 'allows' : 'holds for approval';
      const outcome = byApproval ? 'is denied or needs approval by a stronger rule' : 'is denied by a stronger rule';
      out.push(
        diagnostic('PAM4001', 'warning', at.file, at.span, `this rule never decides anything: everything it ${what} ${outcome}`, {
          help: 'deny beats approve beats allow, whatever the order (spec/language.md §5.3): remove this rule, or narrow the rule that overrides it',
          related: relatedRules(policy, ids, (r) => (r.effect === 'deny' ? 'denied here' : 'held for approval here')),
        }),
      );
      continue;
    }

    const covered = compiled.map((r, i) => coverers(policy, r, occ[i]));
    if (covered.every((c) => c !== null)) {
      const ids = covered.flatMap((c) => [...c!]);
      const verb = first.effect === 'allow' ? 'allowed' : first.effect === 'deny' ? 'denied' : 'held for the same approval';
      out.push(
        diagnostic('PAM4002', 'warning', at.file, at.span, `this rule is redundant: everything it covers is already ${verb} by another rule`, {
          help: 'remove it; the rules below decide the same with no more conditions',
          related: relatedRules(policy, ids, () => `already ${verb} here`),
        }),
      );
    }
  }
  return out;
}
