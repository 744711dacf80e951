// The access part of a policy diff: for every target, action and resource key, what each group's
// entries mean in the two versions, which identities' decisions change, and whether the change
// widens or narrows what they get (spec/diff.md §2).
//
// Keys compared: every key of either version's table and the wildcards above them. Any other
// key is decided by the same cell as its parent wildcard (or `*`) in both versions, so these
// keys cover every fact. A change is reported at the most general key where it happens: a key
// whose own entries (those not inherited from a wildcard) did not change, under a wildcard whose
// change is reported, adds nothing a reviewer needs and folds into the wildcard's row.

import type { ApprovalRequirement, CompiledPolicy, CompiledTarget } from '../../spec/compiled-policy.ts';
import type { BuiltinData } from '../builtins.ts';
import { unboundedActions } from '../taxonomy.ts';
import { attribute, examplesOf, type Domain, type Examples, type Flags } from './attribution.ts';
import { describeApproval } from './describe.ts';
import { appliesIn, contextSpace, type ContextSpace } from './contexts.ts';
import {
  ancestorsOf,
  approvalKey,
  cmp,
  entriesOfGroup,
  entrySignature,
  EVERY_IDENTITY,
  isInherited,
  kindOf,
  meaningSignature,
  namedEntries,
  normalizeEntries,
  resolveCell,
  type NamedEntry,
} from './tables.ts';

export interface AccessChange {
  kind: 'access';
  target: string;
  /** `*` for every identity */
  group: string;
  action: string;
  key: string;
  /** the group's entries where the key is decided, normalised (spec/diff.md §2.1) */
  before: NamedEntry[];
  after: NamedEntry[];
  widening: boolean;
  narrowing: boolean;
  /** rules of entries found on one side only */
  rules: { base: number[]; head: number[] };
  /** identities for which the change shows only together with other groups they hold */
  examples: Examples;
}

export interface Side {
  policy: CompiledPolicy;
  target: CompiledTarget | undefined;
}

const DENY = 1;
const ALLOW = 2;
const REQ_SHIFT = 2;
const MAX_REQUIREMENTS = 28;

/** At least as hard to satisfy: same approvers, at least the quorum, at most the window, no more runs. */
export function approvalAtLeastAsStrict(s: ApprovalRequirement, r: ApprovalRequirement): boolean {
  return (
    s.group === r.group &&
    s.quorum >= r.quorum &&
    s.withinSeconds <= r.withinSeconds &&
    s.mode === r.mode &&
    (s.mode !== 'retry' || s.uses <= r.uses)
  );
}

/** Decisions as numbers: bit 0 deny, bit 1 allow, the rest one bit per approval requirement. */
function accessDomain(pool: ApprovalRequirement[]): Domain {
  // impliedBy[i]: the requirements at least as strict as requirement i
  const impliedBy = pool.map((r) => pool.reduce((m, s, j) => (approvalAtLeastAsStrict(s, r) ? m | (1 << j) : m), 0));
  const kind = (x: number) => ((x & DENY) !== 0 ? 0 : x >>> REQ_SHIFT !== 0 ? 1 : (x & ALLOW) !== 0 ? 2 : 0);
  /** every requirement of `lax` is implied by one of `strict` */
  const covers = (strict: number, lax: number) => {
    for (let rest = lax; rest !== 0; rest &= rest - 1) {
      const i = 31 - Math.clz32(rest & -rest);
      if ((strict & impliedBy[i]) === 0) return false;
    }
    return true;
  };
  const memo = new Map<number, Map<number, boolean>>();
  return {
    none: 0,
    join: (a, b) => a | b,
    decisive: (x) => (x & DENY) !== 0,
    wider: (a, b) => {
      const ka = kind(a);
      const kb = kind(b);
      if (ka !== kb) return ka > kb;
      if (ka !== 1) return false;
      let m = memo.get(a);
      if (!m) memo.set(a, (m = new Map()));
      let w = m.get(b);
      if (w === undefined) m.set(b, (w = !covers(a >>> REQ_SHIFT, b >>> REQ_SHIFT)));
      return w;
    },
  };
}

interface ResolvedSide {
  /** the key of the cell that decides, or null */
  at: string | null;
  entries: NamedEntry[];
}

export function diffAccess(builtins: BuiltinData, name: string, base: Side, head: Side): AccessChange[] {
  const out: AccessChange[] = [];
  const actions = new Set([...Object.keys(base.target?.actions ?? {}), ...Object.keys(head.target?.actions ?? {})]);
  const targetKind = (head.target ?? base.target)!.kind;
  const unbounded = new Set(unboundedActions(targetKind));
  const spaces: SpaceCache = new Map();
  for (const action of [...actions].sort(cmp)) {
    out.push(...diffAction(builtins, name, action, base, head, unbounded.has(action), spaces));
  }
  return out;
}

function diffAction(
  builtins: BuiltinData,
  name: string,
  action: string,
  base: Side,
  head: Side,
  unboundedPossible: boolean,
  spaces: SpaceCache,
): AccessChange[] {
  const target = (head.target ?? base.target)!;
  const kind = kindOf(target, action);
  const keys = new Set<string>(['*']);
  for (const side of [base, head]) {
    for (const key of Object.keys(side.target?.actions[action] ?? {})) {
      keys.add(key);
      for (const a of ancestorsOf(kind, key)) keys.add(a);
    }
  }
  const depth = (k: string) => ancestorsOf(kind, k).length;
  const ordered = [...keys].sort((a, b) => depth(a) - depth(b) || cmp(a, b));

  const memo = new Map<string, ResolvedSide>();
  const resolve = (side: Side, which: 'b' | 'h', key: string): ResolvedSide => {
    const found = resolveCell(side.target, action, key);
    const memoKey = `${which}:${found?.key ?? ''}`;
    let r = memo.get(memoKey);
    if (!r) memo.set(memoKey, (r = { at: found?.key ?? null, entries: found ? namedEntries(side.policy, found.cell) : [] }));
    return r;
  };
  const cellMeaning = new Map<ResolvedSide, Map<string, string>>();
  const meaningOf = (r: ResolvedSide): Map<string, string> => {
    let m = cellMeaning.get(r);
    if (!m) {
      m = new Map();
      const groups = new Set(r.entries.flatMap((e) => e.groups));
      for (const g of groups) m.set(g, meaningSignature(entriesOfGroup(r.entries, g)));
      cellMeaning.set(r, m);
    }
    return m;
  };
  const ownMeaning = (side: Side, key: string, group: string): string => {
    const t = side.target;
    const cell = t?.actions[action]?.[key];
    if (!t || !cell) return '';
    const own = namedEntries(side.policy, cell, (effect, e) => !isInherited(builtins, t, action, key, effect, e.rule));
    return meaningSignature(entriesOfGroup(own, group));
  };

  // A cheap first comparison: the cells' entries by content (rule ids aside). Equal means equal.
  const rawSignature = new Map<ResolvedSide, string>();
  const rawOf = (r: ResolvedSide) => {
    let sig = rawSignature.get(r);
    if (sig === undefined) {
      sig = r.entries.map((e) => e.content).sort().join('\n');
      rawSignature.set(r, sig);
    }
    return sig;
  };

  const rows: AccessChange[] = [];
  const reported = new Map<string, Map<string, AccessChange>>();
  const decided = new Map<ResolvedSide, Map<ResolvedSide, ReturnType<typeof cellFlags>>>();
  for (const key of ordered) {
    const rb = resolve(base, 'b', key);
    const rh = resolve(head, 'h', key);
    if (rawOf(rb) === rawOf(rh)) continue;
    const mb = meaningOf(rb);
    const mh = meaningOf(rh);
    const groups = [...new Set([EVERY_IDENTITY, ...mb.keys(), ...mh.keys()])].sort((a, b) =>
      a === EVERY_IDENTITY ? -1 : b === EVERY_IDENTITY ? 1 : cmp(a, b),
    );
    const changedGroups = groups.filter((g) => (mb.get(g) ?? '') !== (mh.get(g) ?? ''));
    if (changedGroups.length === 0) continue;

    // keys decided by the same two cells (a wildcard and the keys it decides) share the answer
    let pair = decided.get(rb)?.get(rh);
    if (!pair) {
      pair = cellFlags(groups, rb.entries, rh.entries, unboundedPossible, spaces);
      if (!decided.has(rb)) decided.set(rb, new Map());
      decided.get(rb)!.set(rh, pair);
    }
    const { flags, describe } = pair;
    for (let gi = 0; gi < groups.length; gi++) {
      const group = groups[gi];
      const f = flags[gi];
      if (!f.widening && !f.narrowing) continue;
      const before = entriesOfGroup(rb.entries, group);
      const after = entriesOfGroup(rh.entries, group);
      const byGroup = reported.get(group) ?? new Map<string, AccessChange>();
      reported.set(group, byGroup);
      const ownChanged = ownMeaning(base, key, group) !== ownMeaning(head, key, group);
      const ancestor = ownChanged ? undefined : ancestorsOf(kind, key).find((a) => byGroup.has(a));
      if (ancestor !== undefined) {
        const row = byGroup.get(ancestor)!;
        row.widening ||= f.widening;
        row.narrowing ||= f.narrowing;
        continue;
      }
      const row: AccessChange = {
        kind: 'access',
        target: name,
        group,
        action,
        key,
        before: normalizeEntries(before),
        after: normalizeEntries(after),
        widening: f.widening,
        narrowing: f.narrowing,
        rules: differingRules(before, after),
        examples: examplesOf(f, gi, groups, describe),
      };
      byGroup.set(key, row);
      rows.push(row);
    }
  }
  return rows;
}

/** Rules of entries whose meaning appears on one side only. */
function differingRules(before: NamedEntry[], after: NamedEntry[]): { base: number[]; head: number[] } {
  const sb = new Set(before.map(entrySignature));
  const sa = new Set(after.map(entrySignature));
  const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
  return {
    base: uniq(before.filter((e) => !sa.has(entrySignature(e))).map((e) => e.rule)),
    head: uniq(after.filter((e) => !sb.has(entrySignature(e))).map((e) => e.rule)),
  };
}

/** Per group (same order as `groups`), whether its change widens or narrows some decision. */
/** Context spaces by the conditions and entry kinds of a cell: many cells share them. */
type SpaceCache = Map<string, ContextSpace | null>;

function spaceFor(cache: SpaceCache, entries: NamedEntry[], unboundedPossible: boolean): ContextSpace | null {
  const kinds = `${unboundedPossible}\n${[...new Set(entries.map((e) => `${e.effect === 'allow' ? 'a' : 'o'}${e.whenKeys.join('&')}`))].sort().join('\n')}`;
  let space = cache.get(kinds);
  if (space === undefined) {
    space = distinctContexts(contextSpace(entries.flatMap((e) => e.when), unboundedPossible), entries);
    cache.set(kinds, space);
  }
  return space;
}

function cellFlags(
  groups: string[],
  before: NamedEntry[],
  after: NamedEntry[],
  unboundedPossible: boolean,
  spaces: SpaceCache,
): { flags: Flags[]; describe: (outcome: number) => string } {
  const space = spaceFor(spaces, [...before, ...after], unboundedPossible);
  const pool: ApprovalRequirement[] = [];
  const poolIndex = new Map<string, number>();
  for (const e of [...before, ...after]) {
    if (!e.approval) continue;
    const k = approvalKey(e.approval);
    if (!poolIndex.has(k)) {
      poolIndex.set(k, pool.length);
      pool.push(e.approval);
    }
  }
  if (space && pool.length <= MAX_REQUIREMENTS) {
    // entry by entry: whether it applies in each context (memoised by its conditions), then OR
    // its effect into the contribution of each group it is for
    const index = new Map(groups.map((g, i) => [g, i]));
    const applies = new Map<string, Uint8Array>();
    const appliesFor = (e: NamedEntry): Uint8Array => {
      const isAllow = e.effect === 'allow';
      const k = `${isAllow ? 'a' : 'o'}${e.whenKeys.join('&')}`;
      let a = applies.get(k);
      if (!a) applies.set(k, (a = Uint8Array.from(space.states, (st) => (appliesIn(space, st, e.whenKeys, isAllow) ? 1 : 0))));
      return a;
    };
    const rows = (entries: NamedEntry[]): Float64Array[] => {
      const out = space.states.map(() => new Float64Array(groups.length));
      for (const e of entries) {
        const bit = e.effect === 'deny' ? DENY : e.effect === 'allow' ? ALLOW : 1 << (REQ_SHIFT + poolIndex.get(approvalKey(e.approval))!);
        const a = appliesFor(e);
        const gis = e.groups.map((g) => index.get(g)!);
        for (let c = 0; c < a.length; c++) {
          if (a[c] === 0) continue;
          const row = out[c];
          for (const gi of gis) row[gi] = row[gi] | bit;
        }
      }
      return out;
    };
    const b = rows(before);
    const h = rows(after);
    const exact = attribute(accessDomain(pool), b, h);
    const describe = (x: number) => {
      if ((x & DENY) !== 0 || x === 0) return 'deny';
      const reqs = pool.filter((_, i) => (x & (1 << (REQ_SHIFT + i))) !== 0);
      return reqs.length > 0 ? reqs.map((r) => `approve ${describeApproval(r)}`).join('; ') : 'allow';
    };
    return { flags: exact ?? localFlags(groups, space, before, after), describe };
  }
  return { flags: localFlags(groups, null, before, after), describe: () => '' };
}

/**
 * Only contexts in which some entry applies differently from every context kept so far: the
 * outcome depends on a context only through which entries apply (typically a few dozen of the
 * hundreds of combinations of windows, claims and properties).
 */
function distinctContexts(space: ContextSpace | null, entries: NamedEntry[]): ContextSpace | null {
  if (!space) return null;
  const kinds = new Map<string, { whenKeys: string[]; isAllow: boolean }>();
  for (const e of entries) {
    const isAllow = e.effect === 'allow';
    kinds.set(`${isAllow ? 'a' : 'o'}${e.whenKeys.join('&')}`, { whenKeys: e.whenKeys, isAllow });
  }
  const list = [...kinds.values()];
  const seen = new Set<string>();
  const states: Uint8Array[] = [];
  for (const st of space.states) {
    let key = '';
    for (const k of list) key += appliesIn(space, st, k.whenKeys, k.isAllow) ? '1' : '0';
    if (seen.has(key)) continue;
    seen.add(key);
    states.push(st);
  }
  return { index: space.index, states };
}

/**
 * The conservative fallback for cells too large to enumerate: a group's change counts as
 * widening if, in some context, it drops a denial, adds an allowance or changes its approvals,
 * and as narrowing in the mirror cases; without contexts, any change counts as both.
 */
function localFlags(groups: string[], space: ContextSpace | null, before: NamedEntry[], after: NamedEntry[]): Flags[] {
  return groups.map((g) => {
    const eb = entriesOfGroup(before, g);
    const ea = entriesOfGroup(after, g);
    if (meaningSignature(eb) === meaningSignature(ea)) return { widening: false, narrowing: false };
    if (!space) return { widening: true, narrowing: true };
    const f = { widening: false, narrowing: false };
    for (const states of space.states) {
      const sum = (entries: NamedEntry[]) => {
        let deny = false;
        let allow = false;
        const approvals: string[] = [];
        for (const e of entries) {
          if (!appliesIn(space, states, e.whenKeys, e.effect === 'allow')) continue;
          if (e.effect === 'deny') deny = true;
          else if (e.effect === 'allow') allow = true;
          else approvals.push(approvalKey(e.approval));
        }
        return { deny, allow, approvals: [...new Set(approvals)].sort().join('\n') };
      };
      const x = sum(eb);
      const y = sum(ea);
      if ((x.deny && !y.deny) || (!x.allow && y.allow) || x.approvals !== y.approvals) f.widening = true;
      if ((!x.deny && y.deny) || (x.allow && !y.allow) || x.approvals !== y.approvals) f.narrowing = true;
    }
    return f;
  });
}
