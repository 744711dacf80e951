// The baseline for decide(): a straightforward evaluator that, for every fact, scans the
// policy's whole rule list in file order (no decision tables, no precomputed group masks) and
// applies the same semantics: per fact deny beats approve beats allow and a fact no rule allows
// is denied; the query's effect is the strictest over all facts of all statements; masks
// accumulate over relations read, the strictest strategy winning per column; the smallest row
// limit applies. It covers what the generated policies contain (no sets, no baseline rule, no
// protected catalog relations), which is all the benchmark's statements need.

import type { ClassifiedStatement, Fact } from '../../../runtime/sql/facts.ts';
import type { GenCondition, GenRule, MaskStrategySpec, Pattern } from './policy-gen.ts';

export interface NaiveIdentity {
  groups: ReadonlySet<string>;
  claims: Readonly<Record<string, unknown>>;
}

export interface NaiveDecision {
  effect: 'allow' | 'deny' | 'approve';
  /** line numbers of the rules behind the decision (as decide() names rule ids) */
  rules: number[];
  deciding: { statement: number; fact: Fact } | null;
  masks: { relation: string; column: string; strategy: MaskStrategySpec; rules: number[] }[];
  limit: number | null;
}

const READS = ['select', 'copy_out'];
const SYSTEM_SCHEMAS = ['pg_catalog', 'information_schema', 'pg_toast'];

function schemaOf(key: string): string {
  const dot = key.indexOf('.');
  return dot < 0 ? '' : key.slice(0, dot);
}

function matches(p: Pattern, resource: string): boolean {
  switch (p.kind) {
    case 'exact':
      return p.key === resource;
    case 'schema':
      return schemaOf(resource) === p.schema;
    case 'any':
      return !SYSTEM_SCHEMAS.includes(schemaOf(resource));
  }
}

function claimValues(v: unknown): string[] | null {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v) && v.every((x) => ['string', 'number', 'boolean'].includes(typeof x))) return v.map(String);
  return null;
}

/** true / false, or null when the claim is missing (unknown). */
function conditionHolds(c: GenCondition, fact: Fact, claims: NaiveIdentity['claims'], now: number): boolean | null {
  switch (c.kind) {
    case 'unbounded':
      return (fact.unbounded === true) !== c.negated;
    case 'during': {
      const minute = Math.floor((now % 86_400_000) / 60_000);
      return c.from <= c.to ? minute >= c.from && minute < c.to : minute >= c.from || minute < c.to;
    }
    case 'claim': {
      const values = claims[c.claim] === undefined || claims[c.claim] === null ? null : claimValues(claims[c.claim]);
      if (values === null) return null;
      const any = values.some((v) => c.values.includes(v));
      return c.op === '=' || c.op === 'in' ? any : !any;
    }
  }
}

function applies(r: GenRule, fact: Fact, who: NaiveIdentity, now: number): boolean {
  for (const c of r.when) {
    const holds = conditionHolds(c, fact, who.claims, now);
    // an unknown claim condition keeps deny and approve rules, drops allow rules
    if (holds === false || (holds === null && r.effect === 'allow')) return false;
  }
  return true;
}

function strictness(s: MaskStrategySpec): number {
  return s.name === 'null' ? 4 : s.name === 'redact' ? 3 : s.name === 'hash' ? 2 : 1;
}

function combine(a: MaskStrategySpec, b: MaskStrategySpec): MaskStrategySpec {
  if (a.name === b.name && a.n === b.n) return a;
  const sa = strictness(a);
  const sb = strictness(b);
  if (sa !== sb) return sa > sb ? a : b;
  return { name: 'redact' };
}

const inScope = (r: GenRule, target: string, who: NaiveIdentity) => r.target === target && (r.group === null || who.groups.has(r.group));

export function naiveDecide(
  rules: readonly GenRule[],
  target: string,
  who: NaiveIdentity,
  statements: readonly ClassifiedStatement[],
  now: number,
): NaiveDecision {
  let approve: NaiveDecision | null = null;
  const allowRules: number[] = [];
  const masks: NaiveDecision['masks'] = [];
  for (let si = 0; si < statements.length; si++) {
    const facts = statements[si].facts.length > 0 ? statements[si].facts : [{ action: 'compute', resource: '' }];
    for (const fact of facts) {
      const deciding = { statement: si, fact };
      if (fact.action === 'forbidden') return { effect: 'deny', rules: [], deciding, masks: [], limit: null };
      const deny: number[] = [];
      const approving: number[] = [];
      const allow: number[] = [];
      for (const r of rules) {
        if (r.effect !== 'allow' && r.effect !== 'deny' && r.effect !== 'approve') continue;
        if (!inScope(r, target, who) || !r.actions.includes(fact.action)) continue;
        if (!r.resources.some((p) => matches(p, fact.resource))) continue;
        if (!applies(r, fact, who, now)) continue;
        (r.effect === 'deny' ? deny : r.effect === 'approve' ? approving : allow).push(r.line);
      }
      if (deny.length > 0) return { effect: 'deny', rules: deny, deciding, masks: [], limit: null };
      if (approving.length > 0) {
        approve ??= { effect: 'approve', rules: [], deciding, masks: [], limit: null };
        for (const l of approving) if (!approve.rules.includes(l)) approve.rules.push(l);
      } else if (allow.length > 0) {
        for (const l of allow) if (!allowRules.includes(l)) allowRules.push(l);
      } else return { effect: 'deny', rules: [], deciding, masks: [], limit: null };
      if (READS.includes(fact.action)) {
        for (const r of rules) {
          if (r.effect !== 'mask' || r.mask === null || r.mask.relation !== fact.resource || !inScope(r, target, who)) continue;
          const m = r.mask;
          const existing = masks.find((x) => x.relation === m.relation && x.column === m.column);
          if (existing === undefined) masks.push({ relation: m.relation, column: m.column, strategy: m.strategy, rules: [r.line] });
          else if (!existing.rules.includes(r.line)) {
            existing.strategy = combine(existing.strategy, m.strategy);
            existing.rules.push(r.line);
          }
        }
      }
    }
  }
  let limit: number | null = null;
  for (const r of rules) if (r.effect === 'limit' && r.rows !== null && inScope(r, target, who) && (limit === null || r.rows < limit)) limit = r.rows;
  if (approve !== null) return { ...approve, masks, limit };
  return { effect: 'allow', rules: allowRules, deciding: null, masks, limit };
}
