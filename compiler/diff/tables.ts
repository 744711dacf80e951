// Reading a compiled policy's decision tables the way the runtime reads them (spec/language.md
// §6): a fact's key finds its exact cell, else its parent wildcard's, else `*`'s. Also which
// entries of a cell a key holds of its own and which it inherits from the wildcards above it,
// so changes can be reported at the level the policy wrote them. Shared by diff and analysis.

import type { ApprovalRequirement, Cell, CompiledCondition, CompiledPolicy, CompiledTarget, Entry } from '../../spec/compiled-policy.ts';
import type { BuiltinData } from '../builtins.ts';
import { inSystemSchema, isProtected, parentKey } from '../keys.ts';
import { resourceKindOf, type ResourceKind } from '../taxonomy.ts';

export type AccessEffect = 'deny' | 'approve' | 'allow';
export const ACCESS_EFFECTS: readonly AccessEffect[] = ['deny', 'approve', 'allow'];

export const EVERY_IDENTITY = '*';

export function kindOf(target: CompiledTarget, action: string): ResourceKind {
  return resourceKindOf(target.kind, action);
}

/** The cell a fact on `key` is decided by, as the runtime finds it; null when no rule reaches it. */
export function resolveCell(target: CompiledTarget | undefined, action: string, key: string): { key: string; cell: Cell } | null {
  const cells = target?.actions[action];
  if (!target || !cells) return null;
  if (Object.hasOwn(cells, key)) return { key, cell: cells[key] };
  const parent = parentKey(kindOf(target, action), key);
  if (parent !== null && Object.hasOwn(cells, parent)) return { key: parent, cell: cells[parent] };
  if (Object.hasOwn(cells, '*')) return { key: '*', cell: cells['*'] };
  return null;
}

/** The wildcard keys above `key`, nearest first (`public.orders` → `public.*`, `*`). */
export function ancestorsOf(kind: ResourceKind, key: string): string[] {
  if (key === '*') return [];
  const parent = parentKey(kind, key);
  return parent === null ? ['*'] : [parent, '*'];
}

/**
 * Whether an entry of `effect` by `rule` in the cell of `key` comes from a wildcard above it
 * rather than from a rule naming `key`. A wildcard gives protected keys (and, for `*`, the
 * system schemas) only its denials (spec/language.md §5.7), so an allow found there is the
 * key's own even when the same rule also names the wildcard.
 */
export function isInherited(
  builtins: BuiltinData,
  target: CompiledTarget,
  action: string,
  key: string,
  effect: AccessEffect,
  rule: number,
): boolean {
  if (key === '*') return false;
  const cells = target.actions[action];
  if (!cells) return false;
  const kind = kindOf(target, action);
  const prot = isProtected(builtins, kind, key);
  const has = (k: string) => Object.hasOwn(cells, k) && (cells[k][effect] ?? []).some((e) => e.rule === rule);
  const parent = parentKey(kind, key);
  if (parent !== null && (effect === 'deny' || !prot) && has(parent)) return true;
  return (effect === 'deny' || (!prot && !inSystemSchema(builtins, kind, key))) && has('*');
}

/** An entry with group names and conditions instead of the policy's bit and index numbers. */
export interface NamedEntry {
  effect: AccessEffect;
  groups: string[];
  when: CompiledCondition[];
  /** canonical text of each condition, sorted: comparable across policies */
  whenKeys: string[];
  approval: ApprovalRequirement | null;
  rule: number;
  /** effect, approval and conditions: what the entry means for the groups it is for */
  signature: string;
  /** the signature and the groups */
  content: string;
}

export function conditionKey(c: CompiledCondition): string {
  switch (c.kind) {
    case 'property':
      return `p:${c.negated ? '!' : ''}${c.property}`;
    case 'during':
      return `d:${c.days.join(',')}:${c.from}-${c.to}:${c.tz}`;
    case 'claim':
      return `c:${JSON.stringify(c.claim)}:${c.op}:${JSON.stringify(c.values)}`;
  }
}

export function approvalKey(a: ApprovalRequirement | null): string {
  return a === null ? '' : `${JSON.stringify(a.group)}/${a.quorum}/${a.withinSeconds}/${a.mode}/${a.uses}`;
}

/**
 * A rule's entries are the same in every cell it reaches (its group bits, conditions and
 * approval), so each is named once per policy, by rule id.
 */
const named = new WeakMap<CompiledPolicy, Map<number, NamedEntry>>();

export function namedEntries(policy: CompiledPolicy, cell: Cell | undefined, filter?: (effect: AccessEffect, e: Entry) => boolean): NamedEntry[] {
  const out: NamedEntry[] = [];
  if (!cell) return out;
  let memo = named.get(policy);
  if (!memo) named.set(policy, (memo = new Map()));
  for (const effect of ACCESS_EFFECTS) {
    for (const e of cell[effect] ?? []) {
      if (filter && !filter(effect, e)) continue;
      let n = memo.get(e.rule);
      if (!n) {
        const when = (e.when ?? []).map((i) => policy.conditions[i]);
        const whenKeys = when.map(conditionKey).sort();
        const groups = e.groups.map((g) => policy.groups[g]);
        const approval = e.approval ?? null;
        const signature = `${ACCESS_EFFECTS.indexOf(effect)}|${approvalKey(approval)}|${whenKeys.join('&')}`;
        n = { effect, groups, when, whenKeys, approval, rule: e.rule, signature, content: `${signature}|${groups.join(',')}` };
        memo.set(e.rule, n);
      }
      out.push(n);
    }
  }
  return out;
}

/** Whether every condition of `a` is among those of `b` (both sorted): `a` applies whenever `b` does. */
export function conditionsWithin(a: readonly string[], b: readonly string[]): boolean {
  if (a.length > b.length) return false;
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j] < x) j++;
    if (j >= b.length || b[j] !== x) return false;
    j++;
  }
  return true;
}

/**
 * Entries with the same meaning as the given ones and nothing implied by another: an entry
 * whose conditions include all of another entry's (same effect, same approval) never changes a
 * decision that the other does not already make. Sorted, so equal meanings give equal lists.
 */
export function normalizeEntries(entries: readonly NamedEntry[]): NamedEntry[] {
  const keep: NamedEntry[] = [];
  const sig = (e: NamedEntry) => `${e.effect}|${approvalKey(e.approval)}`;
  if (entries.length <= 1) return [...entries];
  for (const e of entries) {
    const dominated = entries.some(
      (o) =>
        o !== e &&
        sig(o) === sig(e) &&
        conditionsWithin(o.whenKeys, e.whenKeys) &&
        (o.whenKeys.length < e.whenKeys.length || entries.indexOf(o) < entries.indexOf(e)),
    );
    if (!dominated) keep.push(e);
  }
  return keep.sort((a, b) => cmp(entrySignature(a), entrySignature(b)));
}

export function entrySignature(e: NamedEntry): string {
  return e.signature;
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The entries of a cell that apply to holders of `group`. */
export function entriesOfGroup(entries: readonly NamedEntry[], group: string): NamedEntry[] {
  return entries.filter((e) => e.groups.includes(group));
}

/** A comparable text for what a group's entries mean. */
export function meaningSignature(entries: readonly NamedEntry[]): string {
  return normalizeEntries(entries).map(entrySignature).join('\n');
}
