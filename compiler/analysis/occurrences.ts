// Where each rule's entries sit in the decision tables, and how findings point back at the text:
// a rule written once in `on a, b { … }` is one compiled rule per target, sharing one span.

import type { Span } from '../../language/ast.ts';
import type { Related } from '../../language/diagnostic.ts';
import type { Cell, CompiledPolicy, CompiledRule, Entry } from '../../spec/compiled-policy.ts';
import { ACCESS_EFFECTS, type AccessEffect } from '../diff/tables.ts';

export interface Occurrence {
  target: string;
  action: string;
  key: string;
  effect: AccessEffect;
  cell: Cell;
  entry: Entry;
}

/** rule id → every cell entry it produced (a key's cell also holds the wildcards' entries above it) */
export function occurrencesByRule(policy: CompiledPolicy): Map<number, Occurrence[]> {
  const out = new Map<number, Occurrence[]>();
  for (const [target, t] of Object.entries(policy.targets)) {
    for (const [action, byKey] of Object.entries(t.actions)) {
      for (const [key, cell] of Object.entries(byKey)) {
        for (const effect of ACCESS_EFFECTS) {
          for (const entry of cell[effect] ?? []) {
            let list = out.get(entry.rule);
            if (!list) out.set(entry.rule, (list = []));
            list.push({ target, action, key, effect, cell, entry });
          }
        }
      }
    }
  }
  return out;
}

export interface Located {
  file: string;
  span: Span;
}

export function locate(policy: CompiledPolicy, rule: CompiledRule): Located | null {
  if (!rule.source) return null;
  return { file: policy.sources[rule.source.file].path, span: { start: rule.source.start, end: rule.source.end } };
}

/** Compiled rules grouped by the text they come from, in source order. */
export function rulesBySpan(policy: CompiledPolicy): CompiledRule[][] {
  const groups = new Map<string, CompiledRule[]>();
  for (const r of policy.rules) {
    if (!r.source) continue;
    const k = `${r.source.file}:${r.source.start}`;
    const list = groups.get(k) ?? [];
    list.push(r);
    groups.set(k, list);
  }
  return [...groups.values()].sort((a, b) => sourceOrder(a[0], b[0]));
}

export function sourceOrder(a: CompiledRule, b: CompiledRule): number {
  if (!a.source || !b.source) return (a.source ? 0 : 1) - (b.source ? 0 : 1) || a.id - b.id;
  return a.source.file - b.source.file || a.source.start - b.source.start;
}

/** Related spans for rules, one per distinct span, in source order, at most `limit`. */
export function relatedRules(policy: CompiledPolicy, ids: Iterable<number>, message: (r: CompiledRule) => string, limit = 4): Related[] {
  const seen = new Set<string>();
  const rules = [...new Set(ids)].map((id) => policy.rules[id]).filter((r) => r.source !== null).sort(sourceOrder);
  const out: Related[] = [];
  for (const r of rules) {
    const at = locate(policy, r)!;
    const k = `${at.file}:${at.span.start}`;
    if (seen.has(k)) continue;
    seen.add(k);
    if (out.length < limit) out.push({ file: at.file, span: at.span, message: message(r) });
  }
  return out;
}

export const groupBit = (policy: CompiledPolicy, rule: CompiledRule): number => (rule.group === null ? 0 : policy.groups.indexOf(rule.group));

/** `a`'s conditions are all among `b`'s (indices into the same policy's conditions). */
export function whenWithin(a: Entry, b: Entry): boolean {
  const bw = new Set(b.when ?? []);
  return (a.when ?? []).every((c) => bw.has(c));
}
