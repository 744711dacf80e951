// Which group's change widens or narrows access, found exactly by enumeration.
//
// What an identity gets from one cell (or one masked column, or the row limit) depends only on
// which of the groups mentioned there it holds, and on the context. So for every set of those
// groups and every context the two versions' outcomes are compared; where they differ, the
// change is attributed to the groups whose own contribution changed. When several changed
// groups are held together, a group is credited with a widening only if switching that group
// alone (from the base, or back from the head) widens; if no single switch explains the
// widening, every changed group held is credited. Widening and narrowing are defined through one
// relation, `wider`, so the diff of head against base mirrors the diff of base against head.
//
// Contributions are numbers whose combination over the groups held is `join` (an OR of bits, a
// minimum, the stricter of two masks): what each domain (access, masks, limits) needs.

export interface Flags {
  widening: boolean;
  narrowing: boolean;
  /** a smallest set of held groups (bits over the groups given) and a context where it widens, with the outcomes */
  widenedFor?: Witness;
  narrowedFor?: Witness;
}

export interface Witness {
  held: number;
  context: number;
  before: number;
  after: number;
}

export interface Domain {
  /** the contribution of a group that says nothing */
  none: number;
  join(a: number, b: number): number;
  /** whether outcome `a` grants something outcome `b` does not */
  wider(a: number, b: number): boolean;
}

/** Sets of groups × contexts beyond which attribution gives up (the caller is conservative then). */
export const MAX_WORK = 1 << 20;

/**
 * `base[c][g]` and `head[c][g]`: the contribution of group g (0 is every identity, always held)
 * in context c. Returns per group whether its change widens and narrows anything, or null when
 * the enumeration would be too large.
 */
export function attribute(domain: Domain, base: Float64Array[], head: Float64Array[]): Flags[] | null {
  const contexts = base.length;
  if (contexts === 0) return [];
  const reduced = withoutRepeats(base, head);
  if (reduced.kept.length < base[0].length) {
    const inner = attributeAll(domain, reduced.base, reduced.head);
    if (!inner) return null;
    const flags: Flags[] = Array.from({ length: base[0].length }, () => ({ widening: false, narrowing: false }));
    const widen = (w: Witness | undefined): Witness | undefined => {
      if (!w) return undefined;
      let held = 0;
      reduced.kept.forEach((g, i) => {
        if ((w.held & (1 << i)) !== 0) held |= 1 << g;
      });
      return { ...w, held };
    };
    reduced.kept.forEach((g, i) => {
      const f = inner[i];
      flags[g] = { widening: f.widening, narrowing: f.narrowing, widenedFor: widen(f.widenedFor), narrowedFor: widen(f.narrowedFor) };
    });
    return flags;
  }
  return attributeAll(domain, base, head);
}

/**
 * Groups whose contribution is the same in both versions only matter through what they add to
 * the others; two such groups that contribute the same in every context are interchangeable
 * (joins are idempotent), and one that contributes what every identity already gets adds
 * nothing. Keeping one of each shrinks the enumeration without changing its answer.
 */
function withoutRepeats(base: Float64Array[], head: Float64Array[]): { kept: number[]; base: Float64Array[]; head: Float64Array[] } {
  const n = base[0].length;
  const kept: number[] = [0];
  const seen = new Set<string>();
  const vector = (g: number) => base.map((row) => row[g]).join(',');
  const unchanged = (g: number) => base.every((row, c) => row[g] === head[c][g]);
  if (unchanged(0)) seen.add(vector(0));
  for (let g = 1; g < n; g++) {
    if (unchanged(g)) {
      const v = vector(g);
      if (seen.has(v)) continue;
      seen.add(v);
    }
    kept.push(g);
  }
  const pick = (rows: Float64Array[]) => rows.map((row) => Float64Array.from(kept, (g) => row[g]));
  return { kept, base: pick(base), head: pick(head) };
}

function attributeAll(domain: Domain, base: Float64Array[], head: Float64Array[]): Flags[] | null {
  const contexts = base.length;
  const n = base[0].length;
  if (n - 1 >= 30 || contexts * 2 ** (n - 1) > MAX_WORK) return null;
  const flags: Flags[] = Array.from({ length: n }, () => ({ widening: false, narrowing: false }));
  const { join, wider, none } = domain;

  const outcome = (row: Float64Array, held: number, swap: number, other: Float64Array): number => {
    let acc = none;
    for (let g = 0; g < n; g++) {
      if ((held & (1 << g)) === 0) continue;
      acc = join(acc, g === swap ? other[g] : row[g]);
    }
    return acc;
  };

  for (let c = 0; c < contexts; c++) {
    const b = base[c];
    const h = head[c];
    let changed = 0;
    for (let g = 0; g < n; g++) if (b[g] !== h[g]) changed |= 1 << g;
    if (changed === 0) continue;
    for (let s = 0; s < 1 << (n - 1); s++) {
      const held = (s << 1) | 1;
      const ch = held & changed;
      if (ch === 0) continue;
      const before = outcome(b, held, -1, h);
      const after = outcome(h, held, -1, b);
      const widens = wider(after, before);
      const narrows = wider(before, after);
      if (!widens && !narrows) continue;
      const members: number[] = [];
      for (let g = 0; g < n; g++) if ((ch & (1 << g)) !== 0) members.push(g);
      const witness: Witness = { held, context: c, before, after };
      const credit = (g: number, wide: boolean, narrow: boolean) => {
        const f = flags[g];
        if (wide) {
          f.widening = true;
          if (!f.widenedFor || popcount(held) < popcount(f.widenedFor.held)) f.widenedFor = witness;
        }
        if (narrow) {
          f.narrowing = true;
          if (!f.narrowedFor || popcount(held) < popcount(f.narrowedFor.held)) f.narrowedFor = witness;
        }
      };
      if (members.length === 1) {
        credit(members[0], widens, narrows);
        continue;
      }
      const wideBy: number[] = [];
      const narrowBy: number[] = [];
      for (const g of members) {
        const baseWithHeadG = outcome(b, held, g, h);
        const headWithBaseG = outcome(h, held, g, b);
        if (widens && (wider(baseWithHeadG, before) || wider(after, headWithBaseG))) wideBy.push(g);
        if (narrows && (wider(before, baseWithHeadG) || wider(headWithBaseG, after))) narrowBy.push(g);
      }
      for (const g of wideBy.length > 0 ? wideBy : widens ? members : []) credit(g, true, false);
      for (const g of narrowBy.length > 0 ? narrowBy : narrows ? members : []) credit(g, false, true);
    }
  }
  return flags;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}

/** An identity for which a change shows only because it holds other groups too. */
export interface Example {
  /** every group it holds (besides every identity's) */
  groups: string[];
  before: string;
  after: string;
}

export interface Examples {
  widening?: Example;
  narrowing?: Example;
}

/**
 * The witnesses of group `gi`'s change as examples, kept only where the identity holds groups
 * other than `gi`: otherwise the group's own before and after already tell the story.
 */
export function examplesOf(f: Flags, gi: number, groups: readonly string[], describe: (outcome: number) => string): Examples {
  const one = (w: Witness | undefined): Example | undefined => {
    if (!w || (w.held & ~(1 | (1 << gi))) === 0) return undefined;
    const held = groups.filter((_, i) => i !== 0 && (w.held & (1 << i)) !== 0);
    return { groups: held, before: describe(w.before), after: describe(w.after) };
  };
  const out: Examples = {};
  const w = one(f.widenedFor);
  const n = one(f.narrowedFor);
  if (w) out.widening = w;
  if (n) out.narrowing = n;
  return out;
}
