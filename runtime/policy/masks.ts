// Which masks apply to a principal: masks accumulate over every matching rule; when several
// strategies fall on one column the strictest wins (spec/language.md §5.8).

import type { MaskStrategy } from '../../spec/compiled-policy.ts';
import type { LoadedTarget } from './load.ts';
import { intersects } from './principal.ts';

export interface ColumnMask {
  relation: string;
  /** a column name, or `*` for every column of the relation */
  column: string;
  strategy: MaskStrategy;
  /** the mask rules that apply to this column */
  rules: number[];
}

/** Higher is stricter. Partial reveals (email, keep_*) rank lowest. */
function strictness(s: MaskStrategy): number {
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

function sameStrategy(a: MaskStrategy, b: MaskStrategy): boolean {
  return a.name === b.name && (a as { n?: number }).n === (b as { n?: number }).n;
}

/**
 * The strategy for a column several masks fall on, decided on the set (so the order of the rules
 * never matters): the strictest of null > redact > hash > a partial reveal; two different
 * partial reveals together reveal too much, so they make it at least redact.
 */
export function strictestOf(strategies: readonly MaskStrategy[]): MaskStrategy {
  let best = strategies[0];
  const partials: MaskStrategy[] = [];
  for (const s of strategies) {
    if (strictness(s) > strictness(best)) best = s;
    if (strictness(s) === 1 && !partials.some((p) => sameStrategy(p, s))) partials.push(s);
  }
  if (partials.length > 1 && strictness(best) < 3) return { name: 'redact' };
  return best;
}

/** The stricter of two strategies (strictestOf of the two). */
export function stricter(a: MaskStrategy, b: MaskStrategy): MaskStrategy {
  return sameStrategy(a, b) ? a : strictestOf([a, b]);
}

/** The masks on one relation that apply to a group mask. */
export function resolveRelationMasks(target: LoadedTarget, relation: string, groups: Uint32Array): ColumnMask[] {
  const byColumn = target.masks.get(relation);
  if (!byColumn) return [];
  const out: ColumnMask[] = [];
  for (const [column, entries] of byColumn) {
    const strategies: MaskStrategy[] = [];
    const rules: number[] = [];
    for (const e of entries) {
      if (!intersects(e.mask, groups)) continue;
      strategies.push(e.strategy);
      rules.push(e.rule);
    }
    if (strategies.length > 0) out.push({ relation, column, strategy: strictestOf(strategies), rules });
  }
  return out;
}
