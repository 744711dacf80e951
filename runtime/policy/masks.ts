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

/** The stricter of two strategies; two different partial reveals together reveal too much: redact. */
export function stricter(a: MaskStrategy, b: MaskStrategy): MaskStrategy {
  if (sameStrategy(a, b)) return a;
  const sa = strictness(a);
  const sb = strictness(b);
  if (sa !== sb) return sa > sb ? a : b;
  return { name: 'redact' };
}

/** The masks on one relation that apply to a group mask. */
export function resolveRelationMasks(target: LoadedTarget, relation: string, groups: Uint32Array): ColumnMask[] {
  const byColumn = target.masks.get(relation);
  if (!byColumn) return [];
  const out: ColumnMask[] = [];
  for (const [column, entries] of byColumn) {
    let strategy: MaskStrategy | null = null;
    const rules: number[] = [];
    for (const e of entries) {
      if (!intersects(e.mask, groups)) continue;
      strategy = strategy === null ? e.strategy : stricter(strategy, e.strategy);
      rules.push(e.rule);
    }
    if (strategy) out.push({ relation, column, strategy, rules });
  }
  return out;
}
