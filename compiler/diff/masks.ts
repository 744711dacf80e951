// The mask and row-limit parts of a policy diff. Masks accumulate over every group an identity
// holds, the strictest strategy winning per column (spec/language.md §5.8); a mask on column `*`
// covers every column of the relation. The smallest applicable row limit wins.

import type { CompiledPolicy, CompiledTarget, LimitEntry, MaskEntry, MaskStrategy } from '../../spec/compiled-policy.ts';
import { attribute, examplesOf, type Domain, type Examples, type Flags } from './attribution.ts';
import { describeStrategy } from './describe.ts';
import { cmp, EVERY_IDENTITY } from './tables.ts';

export interface MaskChange {
  kind: 'mask';
  target: string;
  group: string;
  relation: string;
  /** a column, or `*` for every column of the relation */
  column: string;
  /** what holders of the group alone get on the column; null: not masked */
  before: MaskStrategy | null;
  after: MaskStrategy | null;
  widening: boolean;
  narrowing: boolean;
  rules: { base: number[]; head: number[] };
  examples: Examples;
}

export interface LimitChange {
  kind: 'limit';
  target: string;
  group: string;
  /** the group's smallest limit; null: none */
  before: number | null;
  after: number | null;
  widening: boolean;
  narrowing: boolean;
  rules: { base: number[]; head: number[] };
  examples: Examples;
}

interface Side {
  policy: CompiledPolicy;
  target: CompiledTarget | undefined;
}

/** Higher is stricter; partial reveals rank lowest. */
function rankOf(s: MaskStrategy): number {
  switch (s.name) {
    case 'null':
      return 4;
    case 'redact':
      return 3;
    case 'hash':
      return 2;
    default:
      return 1;
  }
}

export const strategyKey = (s: MaskStrategy): string => ('n' in s ? `${s.name}(${s.n})` : s.name);

/**
 * The strategy applied when several fall on one column (spec/language.md §5.8), as a function of
 * the set, so that the order of the rules never matters: `null`, then `redact`, win; two
 * different partial reveals together become `redact`; then `hash`; then the one partial reveal.
 */
export function foldStrategies(list: readonly MaskStrategy[]): MaskStrategy | null {
  let rank = 0;
  const partials = new Map<string, MaskStrategy>();
  for (const s of list) {
    const r = rankOf(s);
    if (r === 1) partials.set(strategyKey(s), s);
    else rank = Math.max(rank, r);
  }
  return effective(rank, partials.size > 1 ? MANY : partials.size === 1 ? [...partials.values()][0] : null);
}

const MANY = 'several partial reveals';

function effective(rank: number, partial: MaskStrategy | null | typeof MANY): MaskStrategy | null {
  if (rank === 4) return { name: 'null' };
  if (rank === 3 || partial === MANY) return { name: 'redact' };
  if (rank === 2) return { name: 'hash' };
  return partial;
}

/** Whether `a` hides at least what `b` hides (null: no mask). Different partial reveals are incomparable. */
export function maskAtLeastAsStrict(a: MaskStrategy | null, b: MaskStrategy | null): boolean {
  if (b === null) return true;
  if (a === null) return false;
  const ra = rankOf(a);
  const rb = rankOf(b);
  if (ra !== rb) return ra > rb;
  if (ra > 1) return true;
  if (a.name !== b.name) return false;
  return 'n' in a && 'n' in b ? a.n <= b.n : true;
}

/**
 * Masks as numbers: the strictest non-partial rank (0 none, 2 hash, 3 redact, 4 null) times
 * (partials + 2), plus which partial reveal is present (0 none, i one of them, partials + 1
 * several). Joining is then associative, commutative and idempotent, as the set fold is.
 */
function strategyDomain(partials: MaskStrategy[]): { domain: Domain; encode(list: MaskStrategy[]): number; decode(x: number): MaskStrategy | null } {
  const width = partials.length + 2;
  const many = partials.length + 1;
  const partialIndex = new Map(partials.map((p, i) => [strategyKey(p), i + 1]));
  const split = (x: number) => [Math.floor(x / width), x % width] as const;
  const decode = (x: number): MaskStrategy | null => {
    const [rank, p] = split(x);
    return effective(rank, p === 0 ? null : p === many ? MANY : partials[p - 1]);
  };
  const join = (a: number, b: number) => {
    const [ra, pa] = split(a);
    const [rb, pb] = split(b);
    const p = pa === 0 ? pb : pb === 0 || pa === pb ? pa : many;
    return Math.max(ra, rb) * width + p;
  };
  const encode = (list: MaskStrategy[]) =>
    list.reduce((acc, s) => join(acc, rankOf(s) === 1 ? partialIndex.get(strategyKey(s))! : rankOf(s) * width), 0);
  return { domain: { none: 0, join, wider: (a, b) => !maskAtLeastAsStrict(decode(a), decode(b)) }, encode, decode };
}

const groupsOfEntry = (policy: CompiledPolicy, e: { groups: number[] }) => e.groups.map((g) => policy.groups[g]);


export function diffMasks(name: string, base: Side, head: Side): MaskChange[] {
  const out: MaskChange[] = [];
  const relations = new Set([...Object.keys(base.target?.masks ?? {}), ...Object.keys(head.target?.masks ?? {})]);
  for (const relation of [...relations].sort(cmp)) {
    const colsOf = (s: Side): Record<string, MaskEntry[]> => s.target?.masks[relation] ?? {};
    const cb = colsOf(base);
    const ch = colsOf(head);
    const columns = [...new Set([...Object.keys(cb), ...Object.keys(ch)])].sort((a, b) => (a === '*' ? -1 : b === '*' ? 1 : cmp(a, b)));
    const groupSet = new Set<string>([EVERY_IDENTITY]);
    for (const [s, cols] of [
      [base, cb],
      [head, ch],
    ] as const) {
      for (const entries of Object.values(cols)) for (const e of entries) for (const g of groupsOfEntry(s.policy, e)) groupSet.add(g);
    }
    const groups = [...groupSet].sort((a, b) => (a === EVERY_IDENTITY ? -1 : b === EVERY_IDENTITY ? 1 : cmp(a, b)));

    const partials: MaskStrategy[] = [];
    for (const cols of [cb, ch]) {
      for (const entries of Object.values(cols)) {
        for (const e of entries) if (rankOf(e.strategy) === 1 && !partials.some((p) => strategyKey(p) === strategyKey(e.strategy))) partials.push(e.strategy);
      }
    }
    const { domain, encode, decode } = strategyDomain(partials);

    const own = (s: Side, cols: Record<string, MaskEntry[]>, column: string, group: string) =>
      (cols[column] ?? []).filter((e) => groupsOfEntry(s.policy, e).includes(group));
    const effectiveEntries = (s: Side, cols: Record<string, MaskEntry[]>, column: string, group: string): MaskEntry[] =>
      column === '*' ? own(s, cols, '*', group) : [...own(s, cols, column, group), ...own(s, cols, '*', group)];

    const reported = new Map<string, MaskChange>();
    for (const column of columns) {
      const vec = (s: Side, cols: Record<string, MaskEntry[]>) =>
        Float64Array.from(groups, (g) => encode(effectiveEntries(s, cols, column, g).map((e) => e.strategy)));
      const vb = vec(base, cb);
      const vh = vec(head, ch);
      const flags = attribute(domain, [vb], [vh]) ?? groups.map((_, i): Flags => {
        const changed = vb[i] !== vh[i];
        return { widening: changed, narrowing: changed };
      });
      groups.forEach((group, gi) => {
        const f = flags[gi];
        if (!f.widening && !f.narrowing) return;
        const ownKey = (s: Side, cols: Record<string, MaskEntry[]>) => {
          const folded = foldStrategies(own(s, cols, column, group).map((e) => e.strategy));
          return folded ? strategyKey(folded) : '';
        };
        if (column !== '*' && ownKey(base, cb) === ownKey(head, ch) && reported.has(`${group}\0*`)) {
          const row = reported.get(`${group}\0*`)!;
          row.widening ||= f.widening;
          row.narrowing ||= f.narrowing;
          return;
        }
        const eb = effectiveEntries(base, cb, column, group);
        const eh = effectiveEntries(head, ch, column, group);
        const kb = new Set(eb.map((e) => strategyKey(e.strategy)));
        const kh = new Set(eh.map((e) => strategyKey(e.strategy)));
        const row: MaskChange = {
          kind: 'mask',
          target: name,
          group,
          relation,
          column,
          before: foldStrategies(eb.map((e) => e.strategy)),
          after: foldStrategies(eh.map((e) => e.strategy)),
          widening: f.widening,
          narrowing: f.narrowing,
          rules: {
            base: uniqueRules(eb.filter((e) => !kh.has(strategyKey(e.strategy)))),
            head: uniqueRules(eh.filter((e) => !kb.has(strategyKey(e.strategy)))),
          },
          examples: examplesOf(f, gi, groups, (x) => describeStrategy(decode(x))),
        };
        reported.set(`${group}\0${column}`, row);
        out.push(row);
      });
    }
  }
  return out;
}

const uniqueRules = (entries: { rule: number }[]) => [...new Set(entries.map((e) => e.rule))].sort((a, b) => a - b);

const limitDomain: Domain = { none: Infinity, join: Math.min, wider: (a, b) => a > b };

export function diffLimits(name: string, base: Side, head: Side): LimitChange[] {
  const lb = base.target?.limits ?? [];
  const lh = head.target?.limits ?? [];
  const groupSet = new Set<string>([EVERY_IDENTITY]);
  for (const e of lb) for (const g of groupsOfEntry(base.policy, e)) groupSet.add(g);
  for (const e of lh) for (const g of groupsOfEntry(head.policy, e)) groupSet.add(g);
  const groups = [...groupSet].sort((a, b) => (a === EVERY_IDENTITY ? -1 : b === EVERY_IDENTITY ? 1 : cmp(a, b)));
  const ofGroup = (s: Side, list: LimitEntry[], g: string) => list.filter((e) => groupsOfEntry(s.policy, e).includes(g));
  const min = (list: LimitEntry[]) => list.reduce((m, e) => Math.min(m, e.rows), Infinity);
  const vb = Float64Array.from(groups, (g) => min(ofGroup(base, lb, g)));
  const vh = Float64Array.from(groups, (g) => min(ofGroup(head, lh, g)));
  const flags = attribute(limitDomain, [vb], [vh]) ?? groups.map((_, i) => ({ widening: vb[i] !== vh[i], narrowing: vb[i] !== vh[i] }));
  const out: LimitChange[] = [];
  groups.forEach((group, gi) => {
    const f = flags[gi];
    if (!f.widening && !f.narrowing) return;
    const eb = ofGroup(base, lb, group);
    const eh = ofGroup(head, lh, group);
    const rb = new Set(eb.map((e) => e.rows));
    const rh = new Set(eh.map((e) => e.rows));
    out.push({
      kind: 'limit',
      target: name,
      group,
      before: Number.isFinite(vb[gi]) ? vb[gi] : null,
      after: Number.isFinite(vh[gi]) ? vh[gi] : null,
      widening: f.widening,
      narrowing: f.narrowing,
      rules: { base: uniqueRules(eb.filter((e) => !rh.has(e.rows))), head: uniqueRules(eh.filter((e) => !rb.has(e.rows))) },
      examples: examplesOf(f, gi, groups, (x) => (Number.isFinite(x) ? `limit rows ${x}` : 'no limit')),
    });
  });
  return out;
}
