// Every situation a set of conditions can meet, so that two versions of a cell can be compared
// exactly rather than by sampling. A context fixes the truth of every condition at once:
// statement properties (unbounded, limited), the values a token's claims hold (or a missing
// claim, which makes its conditions unknown: spec/language.md §5.4), and the minute of the week
// in each time zone. Conditions on the same claim, or windows in the same zone, are related, and
// the enumeration respects that: `during 09:00-17:00` and `during 08:00-18:00` are never
// compared as if the first could hold without the second.

import type { CompiledCondition } from '../../spec/compiled-policy.ts';
import { conditionKey } from './tables.ts';

export const FAILS = 0;
export const HOLDS = 1;
/** a claim condition whose claim is missing: allow entries fail on it, deny and approve entries hold */
export const UNKNOWN = 2;

export interface ContextSpace {
  /** condition key → its index in each context's state array */
  index: Map<string, number>;
  /** per context, the state of every condition */
  states: Uint8Array[];
}

const WEEK = 7 * 1440;
/** Beyond this many contexts the comparison falls back to a coarser, conservative one. */
export const MAX_CONTEXTS = 4096;
/** Claims with more distinct values than this are not enumerated (2^n value sets). */
const MAX_CLAIM_VALUES = 8;

type During = Extract<CompiledCondition, { kind: 'during' }>;
type Claim = Extract<CompiledCondition, { kind: 'claim' }>;

/** As the runtime decides a window: a window whose start is after its end wraps past midnight. */
export function duringAt(c: During, day: number, minute: number): boolean {
  if (c.from <= c.to) return c.days.includes(day) && minute >= c.from && minute < c.to;
  if (minute >= c.from) return c.days.includes(day);
  if (minute < c.to) return c.days.includes((day + 6) % 7);
  return false;
}

/** One minute of the week per stretch of time in which every window keeps its truth. */
function weekSegments(windows: During[]): number[] {
  const bounds = new Set<number>([0]);
  for (const w of windows) {
    for (let d = 0; d < 7; d++) {
      bounds.add((d * 1440 + w.from) % WEEK);
      bounds.add((d * 1440 + w.to) % WEEK);
    }
  }
  return [...bounds].sort((a, b) => a - b);
}

/**
 * The contexts of a set of conditions; null when there would be more than MAX_CONTEXTS.
 * `unboundedPossible` is false for actions whose facts are never unbounded.
 */
export function contextSpace(conditions: Iterable<CompiledCondition>, unboundedPossible: boolean): ContextSpace | null {
  const distinct = new Map<string, CompiledCondition>();
  for (const c of conditions) distinct.set(conditionKey(c), c);
  const keys = [...distinct.keys()].sort();
  const index = new Map(keys.map((k, i) => [k, i]));
  const conds = keys.map((k) => distinct.get(k)!);

  // Each dimension lists its possible values as functions filling the states it decides.
  type Setter = (states: Uint8Array) => void;
  const dimensions: Setter[][] = [];

  for (const property of ['unbounded', 'limited'] as const) {
    const mine = conds.map((c, i) => ({ c, i })).filter(({ c }) => c.kind === 'property' && c.property === property);
    if (mine.length === 0) continue;
    const values = property === 'unbounded' && !unboundedPossible ? [false] : [false, true];
    dimensions.push(
      values.map((v) => (states: Uint8Array) => {
        for (const { c, i } of mine) states[i] = (c as { negated: boolean }).negated !== v ? HOLDS : FAILS;
      }),
    );
  }

  const claims = new Map<string, { c: Claim; i: number }[]>();
  conds.forEach((c, i) => {
    if (c.kind !== 'claim') return;
    const list = claims.get(c.claim) ?? [];
    list.push({ c, i });
    claims.set(c.claim, list);
  });
  for (const list of claims.values()) {
    const values = [...new Set(list.flatMap(({ c }) => c.values))].sort();
    if (values.length > MAX_CLAIM_VALUES) return null;
    const options: Setter[] = [
      (states) => {
        for (const { i } of list) states[i] = UNKNOWN;
      },
    ];
    // The claim holds some subset of the values the conditions name (an array claim may hold
    // several; the empty subset is any other value).
    for (let subset = 0; subset < 1 << values.length; subset++) {
      const held = new Set(values.filter((_, b) => (subset & (1 << b)) !== 0));
      options.push((states) => {
        for (const { c, i } of list) {
          const any = c.values.some((v) => held.has(v));
          states[i] = (c.op === 'in' ? any : !any) ? HOLDS : FAILS;
        }
      });
    }
    dimensions.push(options);
  }

  const zones = new Map<string, { c: During; i: number }[]>();
  conds.forEach((c, i) => {
    if (c.kind !== 'during') return;
    const list = zones.get(c.tz) ?? [];
    list.push({ c, i });
    zones.set(c.tz, list);
  });
  // Windows in different zones are enumerated independently: exact within a zone, and across
  // zones it may consider a combination that never occurs, which can only over-report a change.
  for (const list of zones.values()) {
    dimensions.push(
      weekSegments(list.map(({ c }) => c)).map((w) => (states: Uint8Array) => {
        const day = Math.floor(w / 1440);
        const minute = w % 1440;
        for (const { c, i } of list) states[i] = duringAt(c, day, minute) ? HOLDS : FAILS;
      }),
    );
  }

  let total = 1;
  for (const d of dimensions) {
    total *= d.length;
    if (total > MAX_CONTEXTS) return null;
  }
  const states: Uint8Array[] = [];
  const pick = new Array<number>(dimensions.length).fill(0);
  for (let n = 0; n < total; n++) {
    const s = new Uint8Array(conds.length);
    dimensions.forEach((d, k) => d[pick[k]](s));
    states.push(s);
    for (let k = 0; k < pick.length; k++) {
      if (++pick[k] < dimensions[k].length) break;
      pick[k] = 0;
    }
  }
  return { index, states };
}

/** Whether an entry with these conditions applies in a context (unknown: only deny and approve). */
export function appliesIn(space: ContextSpace, states: Uint8Array, whenKeys: readonly string[], isAllow: boolean): boolean {
  for (const k of whenKeys) {
    const s = states[space.index.get(k)!];
    if (s === HOLDS) continue;
    if (s === UNKNOWN && !isAllow) continue;
    return false;
  }
  return true;
}
