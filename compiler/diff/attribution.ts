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
  /** a small set of held groups and a context where the change widens (narrows), with the outcomes */
  widenedFor?: Witness;
  narrowedFor?: Witness;
}

export interface Witness {
  /** indices of the groups held, 0 (every identity) included */
  held: number[];
  context: number;
  before: number;
  after: number;
}

export interface Domain {
  /** the contribution of a group that says nothing */
  none: number;
  /** associative, commutative and idempotent: holding a group twice adds nothing */
  join(a: number, b: number): number;
  /** whether outcome `a` grants something outcome `b` does not */
  wider(a: number, b: number): boolean;
  /** a contribution that decides the outcome whatever is joined to it (a denial): nothing held with it can change */
  decisive?(x: number): boolean;
}

/** Sets of changed groups × contexts × other outcomes beyond which attribution gives up. */
export const MAX_WORK = 1 << 21;
const MAX_OTHERS = 4096;

/**
 * `base[c][g]` and `head[c][g]`: the contribution of group g (0 is every identity, always held)
 * in context c. Returns per group whether its change widens and narrows anything, or null when
 * the enumeration would be too large.
 *
 * Groups whose contribution is the same in both versions matter only through the join of those
 * an identity holds; the distinct joins of every subset of them (few: a handful of bits, a few
 * strategies or limits) are enumerated instead of the subsets. Sets of the changed groups are
 * enumerated in full.
 */
export function attribute(domain: Domain, base: Float64Array[], head: Float64Array[]): Flags[] | null {
  const contexts = base.length;
  if (contexts === 0) return [];
  const n = base[0].length;
  const { join, wider, none, decisive } = domain;
  const differs = (g: number) => base.some((row, c) => row[g] !== head[c][g]);
  const starChanged = differs(0);
  const free: number[] = [];
  const same: number[] = [];
  for (let g = 1; g < n; g++) (differs(g) ? free : same).push(g);
  if (free.length > 24 || contexts * 2 ** free.length > MAX_WORK) return null;
  const flags: Flags[] = Array.from({ length: n }, () => ({ widening: false, narrowing: false }));

  // Contexts in which every group contributes the same as in another context add nothing.
  const seen = new Set<string>();
  const held: number[] = [];
  for (let c = 0; c < contexts; c++) {
    const b = base[c];
    const h = head[c];
    if (!b.some((v, g) => v !== h[g])) continue;
    const shape = `${b.join(',')}|${h.join(',')}`;
    if (seen.has(shape)) continue;
    seen.add(shape);
    // every join of a set of unchanged groups (with every identity's, when that is unchanged),
    // each with the last group added to reach it, to rebuild one such set for an example
    const start = starChanged ? none : b[0];
    if (decisive?.(start)) continue;
    const others = new Map<number, { via: number; from: number; size: number }>([[start, { via: -1, from: start, size: 0 }]]);
    // unchanged groups that contribute the same are interchangeable: one of each value
    const values = new Map<number, number>();
    for (const u of same) if (b[u] !== none && !values.has(b[u])) values.set(b[u], u);
    for (const [value, u] of values) {
      for (const [v, at] of [...others]) {
        const nv = join(v, value);
        if (!others.has(nv) && !decisive?.(nv)) others.set(nv, { via: u, from: v, size: at.size + 1 });
      }
      if (others.size > MAX_OTHERS) return null;
    }
    const groupsOf = (j: number): number[] => {
      const out: number[] = [];
      for (let at = others.get(j)!; at.via >= 0; at = others.get(at.from)!) out.push(at.via);
      return out;
    };
    const members: number[] = [];
    for (let s = 0; s < 1 << free.length; s++) {
      held.length = 0;
      if (starChanged) held.push(0);
      for (let i = 0; i < free.length; i++) if ((s & (1 << i)) !== 0) held.push(free[i]);
      members.length = 0;
      for (const g of held) if (b[g] !== h[g]) members.push(g);
      if (members.length === 0) continue;
      for (const [j, at] of others) {
        let before = j;
        let after = j;
        for (const g of held) {
          before = join(before, b[g]);
          after = join(after, h[g]);
        }
        const widens = wider(after, before);
        const narrows = wider(before, after);
        if (!widens && !narrows) continue;
        const size = 1 + held.length + at.size;
        // nothing to learn when every member already has these flags with an example no larger
        const known = (f: Flags) =>
          (!widens || (f.widening && f.widenedFor !== undefined && f.widenedFor.held.length <= size)) &&
          (!narrows || (f.narrowing && f.narrowedFor !== undefined && f.narrowedFor.held.length <= size));
        if (members.every((g) => known(flags[g]))) continue;
        let wideBy: number[];
        let narrowBy: number[];
        if (members.length === 1) {
          wideBy = widens ? members : [];
          narrowBy = narrows ? members : [];
        } else {
          wideBy = [];
          narrowBy = [];
          for (const g of members) {
            // the outcome with g alone switched: from the base to the head, and back from the head
            let baseWithHeadG = j;
            let headWithBaseG = j;
            for (const x of held) {
              baseWithHeadG = join(baseWithHeadG, x === g ? h[x] : b[x]);
              headWithBaseG = join(headWithBaseG, x === g ? b[x] : h[x]);
            }
            if (widens && (wider(baseWithHeadG, before) || wider(after, headWithBaseG))) wideBy.push(g);
            if (narrows && (wider(before, baseWithHeadG) || wider(headWithBaseG, after))) narrowBy.push(g);
          }
          if (widens && wideBy.length === 0) wideBy = [...members];
          if (narrows && narrowBy.length === 0) narrowBy = [...members];
        }
        let witness: Witness | undefined;
        const example = (): Witness =>
          (witness ??= { held: [...new Set([0, ...held, ...groupsOf(j)])].sort((x, y) => x - y), context: c, before, after });
        for (const g of wideBy) {
          const f = flags[g];
          f.widening = true;
          if (!f.widenedFor || size < f.widenedFor.held.length) f.widenedFor = example();
        }
        for (const g of narrowBy) {
          const f = flags[g];
          f.narrowing = true;
          if (!f.narrowedFor || size < f.narrowedFor.held.length) f.narrowedFor = example();
        }
      }
    }
  }
  return flags;
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
    if (!w || w.held.every((g) => g === 0 || g === gi)) return undefined;
    const held = w.held.filter((g) => g !== 0).map((g) => groups[g]);
    return { groups: held, before: describe(w.before), after: describe(w.after) };
  };
  const out: Examples = {};
  const w = one(f.widenedFor);
  const n = one(f.narrowedFor);
  if (w) out.widening = w;
  if (n) out.narrowing = n;
  return out;
}
