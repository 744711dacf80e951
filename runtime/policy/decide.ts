// The decision function (DESIGN.md §2–3, spec/language.md §5): every fact of every statement
// must be allowed; per fact deny beats approve beats allow, and a fact no rule allows is denied;
// the query's effect is the strictest over all facts. Masks accumulate over the relations read;
// the row limit is the principal's smallest.
//
// This is the hot path: a few map probes and bit tests per fact, nothing allocated beyond the
// result.

import type { ApprovalRequirement } from '../../spec/compiled-policy.ts';
import type { ClassifiedStatement, Fact } from '../sql/facts.ts';
import { duringHolds } from './clock.ts';
import { parentKey } from './keys.ts';
import type { LoadedCell, LoadedEntry, LoadedMaskEntry, LoadedTarget } from './load.ts';
import { resolveRelationMasks, stricter, type ColumnMask } from './masks.ts';
import { FAILS, HOLDS, intersects, UNKNOWN, type Principal } from './principal.ts';

export type DecisionEffect = 'allow' | 'deny' | 'approve';

export interface DecidingFact {
  /** index of the statement in the query */
  statement: number;
  fact: Fact;
  /** `rule`: a deny or approve rule matched; `no_rule`: nothing allows it; `forbidden`: refused regardless of policy */
  reason: 'rule' | 'no_rule' | 'forbidden';
  /** why the statement needs this fact when it does not state it (a rename needs what its new name allows) */
  note?: string;
}

export interface Decision {
  effect: DecisionEffect;
  /** deny: the deny rules that matched the deciding fact (empty when no rule allows it);
   *  approve: the approve rules; allow: every allow rule that allowed a fact */
  rules: number[];
  /** the fact that made the decision a deny or an approve; null for allow */
  deciding: DecidingFact | null;
  masks: readonly ColumnMask[];
  limit: { rows: number; rule: number } | null;
  /** approve: what each matching approve rule requires */
  approvals: { rule: number; approval: ApprovalRequirement }[];
}

const READ_ACTIONS = new Set(['select', 'copy_out']);
/** A statement with no facts of its own (SELECT 1) is decided as this one fact. */
const COMPUTE_ONLY: readonly Fact[] = [{ action: 'compute', resource: '' }];

/** The facts a statement is decided by. */
export function factsOf(s: ClassifiedStatement): readonly Fact[] {
  return s.facts.length > 0 ? s.facts : COMPUTE_ONLY;
}
const MAX_CACHED_KEYS = 10_000;

/** Per target: the cell a fact key resolved to (exact, parent wildcard or `*`), memoised. */
const resolvedCells = new WeakMap<LoadedTarget, Map<string, Map<string, LoadedCell | null>>>();

export function lookupCell(target: LoadedTarget, action: string, resource: string): LoadedCell | null {
  const cells = target.actions.get(action);
  if (!cells) return null;
  const exact = cells.get(resource);
  if (exact) return exact;
  let byAction = resolvedCells.get(target);
  if (!byAction) resolvedCells.set(target, (byAction = new Map()));
  let memo = byAction.get(action);
  if (!memo) byAction.set(action, (memo = new Map()));
  const known = memo.get(resource);
  if (known !== undefined) return known;
  const parent = parentKey(target.resourceKinds.get(action) ?? '', resource);
  const found = (parent !== null ? cells.get(parent) : undefined) ?? cells.get('*') ?? null;
  if (memo.size >= MAX_CACHED_KEYS) memo.clear();
  memo.set(resource, found);
  return found;
}

/** Whether an entry applies to this principal, fact and statement. */
function applies(
  p: Principal,
  e: LoadedEntry,
  effect: DecisionEffect,
  fact: Fact,
  statement: ClassifiedStatement,
  now: number,
): boolean {
  if (!intersects(e.mask, p.mask)) return false;
  const when = e.when;
  if (when === null) return true;
  for (let i = 0; i < when.length; i++) {
    const c = when[i];
    const state = p.conditionState[c];
    if (state === HOLDS) continue;
    if (state === FAILS) return false;
    if (state === UNKNOWN) {
      if (effect === 'allow') return false;
      continue;
    }
    // DYNAMIC
    const cond = p.policy.conditions[c];
    let holds: boolean;
    if (cond.kind === 'property') {
      const value = cond.property === 'unbounded' ? fact.unbounded === true : statement.limited;
      holds = cond.negated ? !value : value;
    } else if (cond.kind === 'during') holds = duringHolds(cond, now);
    else holds = false;
    if (!holds) return false;
  }
  return true;
}

function firstMatch(p: Principal, entries: LoadedEntry[], effect: DecisionEffect, fact: Fact, s: ClassifiedStatement, now: number): boolean {
  for (let i = 0; i < entries.length; i++) if (applies(p, entries[i], effect, fact, s, now)) return true;
  return false;
}

function collect(p: Principal, entries: LoadedEntry[], effect: DecisionEffect, fact: Fact, s: ClassifiedStatement, now: number, into: number[]): void {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (applies(p, e, effect, fact, s, now) && !into.includes(e.rule)) into.push(e.rule);
  }
}

function denied(rules: number[], statement: number, fact: Fact, reason: DecidingFact['reason']): Decision {
  return { effect: 'deny', rules, deciding: { statement, fact, reason }, masks: [], limit: null, approvals: [] };
}

/**
 * The relations whose rows a statement on `relation` also reads or changes — its partitions and
 * inheritance ancestors and descendants, from the target's catalog — or null when the gateway
 * cannot tell (no catalog snapshot yet). Only the gateway knows them; elsewhere (`pamc eval`,
 * tests) decisions go by the names alone.
 */
export type Relatives = (relation: string) => readonly string[] | null;

export function decide(p: Principal, statements: readonly ClassifiedStatement[], now: number = Date.now(), relatives?: Relatives): Decision {
  const target = p.target;
  let approve: Decision | null = null;
  const allowRules: number[] = [];
  let masks: readonly ColumnMask[] | null = null;
  // The query is denied once any fact is; the scan goes on only to name the most telling fact:
  // one refused whatever the policy says, else one a deny rule names, else the first no rule allows.
  let denial: Decision | null = null;

  for (let si = 0; si < statements.length; si++) {
    const s = statements[si];
    const facts = factsOf(s);
    for (let fi = 0; fi < facts.length; fi++) {
      const fact = facts[fi];
      if (fact.action === 'forbidden') return denied([], si, fact, 'forbidden');
      const shared = lookupCell(target, fact.action, fact.resource);
      if (shared === null) {
        denial ??= denied([], si, fact, 'no_rule');
        continue;
      }
      const cell = principalCell(p, shared);
      if (cell.deny.length > 0 && firstMatch(p, cell.deny, 'deny', fact, s, now)) {
        if (denial === null || denial.deciding?.reason === 'no_rule') {
          const rules: number[] = [];
          collect(p, cell.deny, 'deny', fact, s, now, rules);
          denial = denied(rules, si, fact, 'rule');
        }
        continue;
      }
      if (denial !== null) continue;
      if (cell.approve.length > 0 && firstMatch(p, cell.approve, 'approve', fact, s, now)) {
        if (approve === null) {
          approve = { effect: 'approve', rules: [], deciding: { statement: si, fact, reason: 'rule' }, masks: [], limit: null, approvals: [] };
        }
        for (const e of cell.approve) {
          if (e.approval !== null && applies(p, e, 'approve', fact, s, now) && !approve.rules.includes(e.rule)) {
            approve.rules.push(e.rule);
            approve.approvals.push({ rule: e.rule, approval: e.approval });
          }
        }
      } else if (cell.allow.length > 0 && firstMatch(p, cell.allow, 'allow', fact, s, now)) {
        collect(p, cell.allow, 'allow', fact, s, now, allowRules);
      } else {
        denial = denied([], si, fact, 'no_rule');
        continue;
      }
      // the same rows under other names: what a deny or an approval of one of those says holds too
      const others = alsoReached(target, fact, relatives);
      if (others !== NOTHING_ELSE) {
        const stricter = stricterElsewhere(p, shared, fact, s, si, others, now);
        if (stricter === null) continue;
        if (stricter.effect === 'deny') {
          denial = stricter;
          continue;
        }
        if (approve === null) approve = stricter;
        else for (let i = 0; i < stricter.rules.length; i++) {
          if (approve.rules.includes(stricter.rules[i])) continue;
          approve.rules.push(stricter.rules[i]);
          approve.approvals.push(stricter.approvals[i]);
        }
      }
      if (READ_ACTIONS.has(fact.action)) {
        const m = relationMasks(p, fact.resource);
        // One relation's masks are returned as they are cached; several are merged into a new list.
        if (m.length > 0 && masks !== m) masks = masks === null ? m : mergeMasks(masks, m);
      }
    }
  }
  if (denial !== null) return denial;
  for (let si = 0; si < statements.length; si++) {
    const effects = statements[si].effects;
    for (let i = 0; i < effects.length; i++) {
      const e = effects[i];
      if (e.kind === 'reach') {
        const d = reachDenial(p, e.from, e.as, si, now);
        if (d !== null) return d;
      } else if (e.kind === 'reach_column') {
        const d = columnReachDenial(p, e.relation, e.from, e.as, si);
        if (d !== null) return d;
      }
    }
  }
  const resultMasks = masks ?? [];
  if (approve !== null) {
    approve.masks = resultMasks;
    approve.limit = p.limit;
    return approve;
  }
  return { effect: 'allow', rules: allowRules, deciding: null, masks: resultMasks, limit: p.limit, approvals: [] };
}

// ---------------------------------------------------------------------------------------------
// One fact, several names. A fact on a wildcard (`select public.*` of schema_to_xml, `select *` of
// database_to_xml) reads every relation the wildcard stands for, and a statement on a partitioned
// or inheritance parent reads and changes its descendants' rows, on a child rows its ancestors
// hold too. Rules are by name, so a deny or an approval on any of those other names applies to
// the fact as well; their allows are not needed (the rows are reached through a name the
// identity may use). spec/language.md §5.7b.

const NOTHING_ELSE: readonly string[] = [];
/** per target and action: the keys of rules a wildcard stands for */
const wildcardMembers = new WeakMap<LoadedTarget, Map<string, readonly string[]>>();
/** per target and action: whether a deny or approve rule names something narrower than `*` */
const narrowStrictRules = new WeakMap<LoadedTarget, Map<string, boolean>>();

/** `*`, `schema.*`, `kind *`: a key that stands for others. */
const isWildcard = (key: string): boolean => key === '*' || key.endsWith('.*') || key.endsWith(' *');

/** The other names of the fact's rows: a wildcard's members, or a relation's relatives. */
function alsoReached(target: LoadedTarget, fact: Fact, relatives: Relatives | undefined): readonly string[] {
  const r = fact.resource;
  if (isWildcard(r)) return membersOf(target, fact.action, r);
  if (relatives === undefined || !ROW_ACTIONS.includes(fact.action) || target.resourceKinds.get(fact.action) !== 'relation') return NOTHING_ELSE;
  const found = relatives(r);
  if (found !== null) return found.length === 0 ? NOTHING_ELSE : found;
  // no catalog yet: every relation a narrower deny or approval names could be a relative
  return hasNarrowStrictRules(target, fact.action) ? UNKNOWN_RELATIVES : NOTHING_ELSE;
}
const UNKNOWN_RELATIVES: readonly string[] = ['\u0000unknown'];

function membersOf(target: LoadedTarget, action: string, wildcard: string): readonly string[] {
  let byAction = wildcardMembers.get(target);
  if (!byAction) wildcardMembers.set(target, (byAction = new Map()));
  const memo = `${action}\u0000${wildcard}`;
  const known = byAction.get(memo);
  if (known !== undefined) return known;
  const kind = target.resourceKinds.get(action) ?? '';
  const members: string[] = [];
  for (const key of target.actions.get(action)?.keys() ?? []) {
    if (key === wildcard) continue;
    if (wildcard === '*' || parentKey(kind, key) === wildcard) members.push(key);
  }
  const out = members.length === 0 ? NOTHING_ELSE : members;
  byAction.set(memo, out);
  return out;
}

function hasNarrowStrictRules(target: LoadedTarget, action: string): boolean {
  let byAction = narrowStrictRules.get(target);
  if (!byAction) narrowStrictRules.set(target, (byAction = new Map()));
  let found = byAction.get(action);
  if (found === undefined) {
    found = [...(target.actions.get(action) ?? [])].some(([key, cell]) => key !== '*' && (cell.deny.length > 0 || cell.approve.length > 0));
    byAction.set(action, found);
  }
  return found;
}

/** A deny (or else an approval) that another name of the fact's rows has for this identity, or null. */
function stricterElsewhere(p: Principal, own: LoadedCell, fact: Fact, s: ClassifiedStatement, si: number, others: readonly string[], now: number): Decision | null {
  if (others === UNKNOWN_RELATIVES) {
    const note = `the gateway cannot tell yet which partitions or inheritance relatives of ${fact.resource} it reaches (its catalog snapshot is not loaded), and the policy denies or holds some relations by name`;
    return { effect: 'deny', rules: [], deciding: { statement: si, fact, reason: 'no_rule', note }, masks: [], limit: null, approvals: [] };
  }
  let approve: Decision | null = null;
  for (let i = 0; i < others.length; i++) {
    const key = others[i];
    const shared = lookupCell(p.target, fact.action, key);
    if (shared === null || shared === own) continue;
    const cell = principalCell(p, shared);
    const other: Fact = fact.unbounded === true ? { action: fact.action, resource: key, unbounded: true } : { action: fact.action, resource: key };
    const how = isWildcard(fact.resource) ? `${key} is one of ${fact.resource}` : `the rows of ${key} are rows of ${fact.resource} too (partitions and inheritance)`;
    if (cell.deny.length > 0 && firstMatch(p, cell.deny, 'deny', other, s, now)) {
      const rules: number[] = [];
      collect(p, cell.deny, 'deny', other, s, now, rules);
      return { effect: 'deny', rules, deciding: { statement: si, fact: other, reason: 'rule', note: `the statement ${fact.action === 'select' || fact.action === 'copy_out' ? 'reads' : 'reaches'} them as ${fact.resource}: ${how}` }, masks: [], limit: null, approvals: [] };
    }
    if (approve === null && cell.approve.length > 0 && firstMatch(p, cell.approve, 'approve', other, s, now)) {
      approve = { effect: 'approve', rules: [], deciding: { statement: si, fact: other, reason: 'rule', note: `the statement reaches them as ${fact.resource}: ${how}` }, masks: [], limit: null, approvals: [] };
      for (const e of cell.approve) {
        if (e.approval !== null && applies(p, e, 'approve', other, s, now) && !approve.rules.includes(e.rule)) {
          approve.rules.push(e.rule);
          approve.approvals.push({ rule: e.rule, approval: e.approval });
        }
      }
    }
  }
  return approve;
}

// ---------------------------------------------------------------------------------------------
// Rows reached under another name (a `reach` effect: rename, SET SCHEMA, INHERIT, ATTACH
// PARTITION). A policy is by name, so moving rows to a name the identity may do more with would
// undo a deny: `deny select on public.secrets` and `ALTER TABLE secrets RENAME TO notes`. The move
// is refused unless, for every action on rows and every kind of statement (bounded or not,
// limited or not), the old name allows at least what the new one does — for this identity, and
// (conservatively, their groups and claims unknown) for every identity of the policy.

/** Actions that read or change rows. */
const ROW_ACTIONS = ['select', 'copy_out', 'insert', 'update', 'delete', 'merge', 'truncate', 'copy_in'];
const VARIANTS: readonly { unbounded: boolean; limited: boolean }[] = [
  { unbounded: false, limited: false },
  { unbounded: false, limited: true },
  { unbounded: true, limited: false },
  { unbounded: true, limited: true },
];
const NONE = 0;
const APPROVE = 1;
const ALLOW = 2;

/** What the principal may do: deny or no rule (NONE), with approval, or freely. */
function strength(p: Principal, action: string, resource: string, variant: (typeof VARIANTS)[number], now: number): number {
  const shared = lookupCell(p.target, action, resource);
  if (shared === null) return NONE;
  const cell = principalCell(p, shared);
  const fact: Fact = { action, resource, unbounded: variant.unbounded };
  const s: ClassifiedStatement = { text: '', location: 0, length: 0, nodeType: 'Reach', facts: [fact], limited: variant.limited, fingerprint: '', effects: [] };
  if (cell.deny.length > 0 && firstMatch(p, cell.deny, 'deny', fact, s, now)) return NONE;
  if (cell.approve.length > 0 && firstMatch(p, cell.approve, 'approve', fact, s, now)) return APPROVE;
  if (cell.allow.length > 0 && firstMatch(p, cell.allow, 'allow', fact, s, now)) return ALLOW;
  return NONE;
}

/** The pairs of names to compare: the two given, and for a schema (`old.*` → `new.*`) every relation the policy names in either. */
function reachPairs(p: Principal, action: string, from: string, as: string): [string, string][] {
  const pairs: [string, string][] = [[from, as]];
  if (!from.endsWith('.*') || !as.endsWith('.*')) return pairs;
  const oldPrefix = from.slice(0, -1);
  const newPrefix = as.slice(0, -1);
  for (const key of p.target.actions.get(action)?.keys() ?? []) {
    if (key.endsWith('.*')) continue;
    if (key.startsWith(oldPrefix)) pairs.push([key, newPrefix + key.slice(oldPrefix.length)]);
    else if (key.startsWith(newPrefix)) pairs.push([oldPrefix + key.slice(newPrefix.length), key]);
  }
  return pairs;
}

/** Whether entry `f` applies to every principal entry `e` applies to: the same rule, or at least its groups and no condition `e` lacks. */
function covers(f: LoadedEntry, e: LoadedEntry): boolean {
  if (f.rule === e.rule) return true;
  if (!groupsCover(f.mask, e.mask)) return false;
  if (f.when === null) return true;
  if (e.when === null) return false;
  for (let i = 0; i < f.when.length; i++) if (!e.when.includes(f.when[i])) return false;
  return true;
}

/**
 * The same question for every identity of the policy, whose groups and claims are unknown
 * here: a rule that lets anyone do the action under the new name needs a rule under the old
 * one that applies to everyone it applies to, and a deny under the old name needs one under
 * the new name. Conservative where conditions differ.
 */
function othersReachDenial(p: Principal, action: string, f: string, a: string, statement: number): Decision | null {
  const after = lookupCell(p.target, action, a);
  if (after === null || (after.allow.length === 0 && after.approve.length === 0)) return null;
  const before = lookupCell(p.target, action, f);
  const deny = (rule: number, why: string): Decision => ({
    effect: 'deny',
    rules: [rule],
    deciding: { statement, fact: { action, resource: f }, reason: 'rule', note: `the statement makes the rows of ${f} reachable as ${a}, ${why}` },
    masks: [],
    limit: null,
    approvals: [],
  });
  for (const d of before?.deny ?? []) {
    if (!after.deny.some((x) => covers(x, d))) return deny(d.rule, `where this rule's deny would no longer hold for the identities it denies`);
  }
  for (const q of before?.approve ?? []) {
    if (!after.deny.some((x) => covers(x, q)) && !after.approve.some((x) => covers(x, q))) return deny(q.rule, `where this rule's approval would no longer be asked for`);
  }
  for (const e of after.allow) {
    if (!(before?.allow ?? []).some((x) => covers(x, e))) return deny(e.rule, `where this rule lets identities ${action} them that may not under the old name`);
  }
  for (const e of after.approve) {
    if (![...(before?.allow ?? []), ...(before?.approve ?? [])].some((x) => covers(x, e))) return deny(e.rule, `where this rule lets identities ${action} them with approval that may not under the old name`);
  }
  return null;
}

/** Whether entry groups `f` hold at least the groups `e` does. */
function groupsCover(f: Uint32Array, e: Uint32Array): boolean {
  for (let i = 0; i < e.length; i++) if (((f[i] ?? 0) & e[i]) !== e[i]) return false;
  return true;
}

/**
 * Masks are by name too: rows of a relation some identity reads masked must stay masked for it
 * under the new name — each mask rule of the old name matched there on the same column, by the
 * same rule or by one with at least its groups and the same strategy.
 */
function maskReachDenial(p: Principal, from: string, as: string, statement: number): Decision | null {
  const schemaMove = from.endsWith('.*') && as.endsWith('.*');
  for (const [relation, columns] of p.target.masks) {
    let moved: string | null = null;
    if (relation === from) moved = as;
    else if (schemaMove && relation.startsWith(from.slice(0, -1))) moved = as.slice(0, -1) + relation.slice(from.length - 1);
    if (moved === null) continue;
    const after = p.target.masks.get(moved);
    for (const [column, entries] of columns) {
      for (const e of entries) {
        if (maskKept(after?.get(column), e)) continue;
        return maskMoveDenial(e, statement, relation, `the statement makes the rows of ${relation} reachable as ${moved}, where this rule's mask of column ${column} would stop masking them`);
      }
    }
  }
  return null;
}

/**
 * A column's rename (RENAME COLUMN): each mask of the old column name must hold under the new
 * one — on that column or on every column of the relation (`table.*`), by the same rule or by
 * one with at least its groups and the same strategy.
 */
function columnReachDenial(p: Principal, relation: string, from: string, as: string, statement: number): Decision | null {
  const columns = p.target.masks.get(relation);
  const entries = columns?.get(from);
  if (columns === undefined || entries === undefined) return null;
  for (const e of entries) {
    if (maskKept(columns.get(as), e) || maskKept(columns.get('*'), e)) continue;
    return maskMoveDenial(e, statement, relation, `the statement makes column ${from} of ${relation} reachable as column ${as}, where this rule's mask of column ${from} would stop masking it`);
  }
  return null;
}

/** Whether one of `after` masks everyone mask entry `e` masks, as strictly: the same rule, or at least its groups and the same strategy. */
function maskKept(after: readonly LoadedMaskEntry[] | undefined, e: LoadedMaskEntry): boolean {
  return after?.some((x) => x.rule === e.rule || (groupsCover(x.mask, e.mask) && x.strategy.name === e.strategy.name && (x.strategy as { n?: number }).n === (e.strategy as { n?: number }).n)) ?? false;
}

function maskMoveDenial(e: LoadedMaskEntry, statement: number, relation: string, note: string): Decision {
  return { effect: 'deny', rules: [e.rule], deciding: { statement, fact: { action: 'alter', resource: relation }, reason: 'rule', note }, masks: [], limit: null, approvals: [] };
}

function reachDenial(p: Principal, from: string, as: string, statement: number, now: number): Decision | null {
  const masked = maskReachDenial(p, from, as, statement);
  if (masked !== null) return masked;
  for (const action of ROW_ACTIONS) {
    for (const [f, a] of reachPairs(p, action, from, as)) {
      // the identity's own gain, when it has one, tells it more
      const d = ownReachDenial(p, action, f, a, statement, now) ?? othersReachDenial(p, action, f, a, statement);
      if (d !== null) return d;
    }
  }
  return null;
}

/** What the identity itself would gain under the new name, or null. */
function ownReachDenial(p: Principal, action: string, f: string, a: string, statement: number, now: number): Decision | null {
  for (const v of VARIANTS) {
    const after = strength(p, action, a, v, now);
    if (after === NONE || strength(p, action, f, v, now) >= after) continue;
    const fact: Fact = v.unbounded ? { action, resource: f, unbounded: true } : { action, resource: f };
    const shared = lookupCell(p.target, action, f);
    const rules: number[] = [];
    if (shared !== null) collect(p, principalCell(p, shared).deny, 'deny', fact, { text: '', location: 0, length: 0, nodeType: 'Reach', facts: [fact], limited: v.limited, fingerprint: '', effects: [] }, now, rules);
    const note = `the statement makes the rows of ${f} reachable as ${a}, where this identity may ${action} them${after === APPROVE ? ' with approval' : ''}`;
    return { effect: 'deny', rules, deciding: { statement, fact, reason: rules.length > 0 ? 'rule' : 'no_rule', note }, masks: [], limit: null, approvals: [] };
  }
  return null;
}

function relationMasks(p: Principal, relation: string): readonly ColumnMask[] {
  let m = p.maskCache.get(relation);
  if (m === undefined) {
    m = resolveRelationMasks(p.target, relation, p.mask);
    p.maskCache.set(relation, m);
  }
  return m;
}

/** A new list: the masks of `acc` and `m`, the strictest strategy per column winning. */
function mergeMasks(acc: readonly ColumnMask[], m: readonly ColumnMask[]): ColumnMask[] {
  const out = [...acc];
  for (const cm of m) {
    const existing = out.findIndex((x) => x.relation === cm.relation && x.column === cm.column);
    if (existing < 0) out.push(cm);
    else if (out[existing] !== cm) {
      const prev = out[existing];
      out[existing] = {
        relation: cm.relation,
        column: cm.column,
        strategy: stricter(prev.strategy, cm.strategy),
        rules: [...new Set([...prev.rules, ...cm.rules])],
      };
    }
  }
  return out;
}

/** A cell reduced to the entries whose groups the principal holds: computed once per cell. */
function principalCell(p: Principal, cell: LoadedCell): LoadedCell {
  let c = p.cellCache.get(cell);
  if (c === undefined) {
    const mine = (entries: LoadedEntry[]) => entries.filter((e) => intersects(e.mask, p.mask));
    c = { deny: mine(cell.deny), approve: mine(cell.approve), allow: mine(cell.allow) };
    p.cellCache.set(cell, c);
  }
  return c;
}
