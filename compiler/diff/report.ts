// The diff as people and programs read it: fine-grained changes grouped into items (one per
// group, before, after and rules, with the actions and resources they concern), widenings first,
// rules located in the files of each side. Every renderer works from this.

import type { CompiledPolicy } from '../../spec/compiled-policy.ts';
import { loadBuiltins } from '../builtin-data.ts';
import type { BuiltinData } from '../builtins.ts';
import { actionNames, resourceKindOf } from '../taxonomy.ts';
import type { Examples } from './attribution.ts';
import { describeEntries, describeEntry, describeStrategy, formatDuration } from './describe.ts';
import type { Change, PolicyDiff } from './index.ts';
import { cmp } from './tables.ts';

export interface RuleRef {
  /** `path:line:column` as the reader finds the file; null for rules the compiler adds (the baseline) */
  location: string | null;
  text: string;
}

export interface Scope {
  actions: string[];
  /** keys as in the tables; empty for actions that take no resource */
  resources: string[];
  /** the same, with whole built-in sets named (`catalog`, `harmless_settings`) */
  shown: string[];
}

export interface ReportItem {
  kind: Change['kind'];
  /** null: the identity block */
  target: string | null;
  /** `*` for every identity; null for settings */
  group: string | null;
  /** access: what the item is about */
  scope: Scope[];
  /** masks: the relation and its columns */
  relation: string | null;
  columns: string[];
  /** settings: which one */
  setting: string | null;
  before: string;
  after: string;
  /** access: the entries in policy syntax */
  beforeEntries: string[];
  afterEntries: string[];
  widening: boolean;
  narrowing: boolean;
  rules: { base: RuleRef[]; head: RuleRef[] };
  /** an identity for which the change shows only together with other groups it holds */
  examples: Examples;
  /** every rule behind the item is the baseline (spec/language.md §5.6) */
  baseline: boolean;
}

export interface SideInfo {
  /** what the side was read from: a path or a git revision */
  label: string;
  /** a compiled source path (relative to the policy root) as the reader should see it */
  display(sourcePath: string): string;
}

export interface Report {
  base: { label: string; policy: string; digest: string };
  head: { label: string; policy: string; digest: string };
  summary: { changes: number; widening: number; narrowing: number; other: number };
  items: ReportItem[];
}

function ruleRef(policy: CompiledPolicy, side: SideInfo, id: number): RuleRef {
  const r = policy.rules[id];
  const location = r.source ? `${side.display(policy.sources[r.source.file].path)}:${r.source.line}:${r.source.column}` : null;
  return { location, text: r.text };
}

/** Resources with every complete built-in set of their kind replaced by its name, largest sets first. */
export function showResources(builtins: BuiltinData, keys: string[]): string[] {
  let rest = new Set(keys);
  const named: string[] = [];
  const sets = [...builtins.sets.entries()].filter(([, s]) => s.members.length > 1).sort((a, b) => b[1].members.length - a[1].members.length || cmp(a[0], b[0]));
  for (const [name, set] of sets) {
    if (set.members.every((m) => rest.has(m))) {
      named.push(name);
      rest = new Set([...rest].filter((k) => !set.members.includes(k)));
    }
  }
  return [...named, ...[...rest].sort(cmp)];
}

const category = (i: { widening: boolean; narrowing: boolean }) => (i.widening ? 0 : i.narrowing ? 1 : 2);
const KIND_ORDER: Record<Change['kind'], number> = { setting: 0, access: 1, mask: 2, limit: 3 };

export function buildReport(diff: PolicyDiff, base: SideInfo, head: SideInfo, builtins: BuiltinData = loadBuiltins()): Report {
  const groups = new Map<string, { item: ReportItem; byAction: Map<string, Set<string>> }>();
  const items: ReportItem[] = [];
  const refs = (c: Change): ReportItem['rules'] =>
    c.kind === 'setting'
      ? { base: [], head: [] }
      : { base: c.rules.base.map((id) => ruleRef(diff.base, base, id)), head: c.rules.head.map((id) => ruleRef(diff.head, head, id)) };

  for (const c of diff.changes) {
    const blank: ReportItem = {
      kind: c.kind,
      target: c.target,
      group: c.kind === 'setting' ? null : c.group,
      scope: [],
      relation: null,
      columns: [],
      setting: null,
      before: '',
      after: '',
      beforeEntries: [],
      afterEntries: [],
      widening: c.widening,
      narrowing: c.narrowing,
      rules: refs(c),
      examples: c.kind === 'setting' ? {} : c.examples,
      baseline: false,
    };
    if (c.kind === 'setting') {
      const absent = c.setting === 'target' ? 'no such target' : 'not set';
      const value = (v: string | null) => (v === null ? absent : c.setting === 'clock_skew' ? formatDuration(Number.parseInt(v, 10)) : v);
      items.push({ ...blank, setting: c.setting, before: value(c.before), after: value(c.after) });
      continue;
    }
    if (c.kind === 'limit') {
      const rows = (n: number | null) => (n === null ? 'no limit' : `limit rows ${n}`);
      items.push({ ...blank, before: rows(c.before), after: rows(c.after) });
      continue;
    }
    const before = c.kind === 'access' ? describeEntries(c.before) : describeStrategy(c.before);
    const after = c.kind === 'access' ? describeEntries(c.after) : describeStrategy(c.after);
    const signature = [
      c.kind,
      c.target,
      c.group,
      c.kind === 'mask' ? c.relation : '',
      before,
      after,
      c.widening,
      c.narrowing,
      c.rules.base.join(','),
      c.rules.head.join(','),
      JSON.stringify(c.examples),
    ].join('\0');
    let g = groups.get(signature);
    if (!g) {
      const item: ReportItem = {
        ...blank,
        before,
        after,
        ...(c.kind === 'access' ? { beforeEntries: c.before.map(describeEntry), afterEntries: c.after.map(describeEntry) } : {}),
        relation: c.kind === 'mask' ? c.relation : null,
        baseline:
          c.rules.base.length + c.rules.head.length > 0 &&
          c.rules.base.every((id) => diff.base.rules[id].source === null) &&
          c.rules.head.every((id) => diff.head.rules[id].source === null),
      };
      g = { item, byAction: new Map() };
      groups.set(signature, g);
      items.push(item);
    }
    if (c.kind === 'mask') g.item.columns.push(c.column);
    else {
      const keys = g.byAction.get(c.action) ?? new Set<string>();
      keys.add(c.key);
      g.byAction.set(c.action, keys);
    }
  }

  // Actions that concern the same resources share a scope line.
  const kindOfTarget = (name: string) => (diff.head.targets[name] ?? diff.base.targets[name]).kind;
  for (const { item, byAction } of groups.values()) {
    if (item.kind !== 'access') continue;
    const tkind = kindOfTarget(item.target!);
    const order = actionNames(tkind);
    const scopes = new Map<string, Scope>();
    for (const action of [...byAction.keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b))) {
      const none = resourceKindOf(tkind, action) === 'none';
      const keys = none ? [] : [...byAction.get(action)!].sort(cmp);
      const k = keys.join('\0');
      const s = scopes.get(k);
      if (s) s.actions.push(action);
      else scopes.set(k, { actions: [action], resources: keys, shown: showResources(builtins, keys) });
    }
    item.scope = [...scopes.values()];
  }

  items.sort(
    (a, b) =>
      category(a) - category(b) ||
      (a.target === null ? -1 : b.target === null ? 1 : cmp(a.target, b.target)) ||
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      Number(a.baseline) - Number(b.baseline) ||
      (a.group === '*' ? -1 : b.group === '*' ? 1 : cmp(a.group ?? '', b.group ?? '')) ||
      cmp(firstThing(a), firstThing(b)),
  );
  const widening = items.filter((i) => i.widening).length;
  const narrowing = items.filter((i) => i.narrowing && !i.widening).length;
  return {
    base: { label: base.label, policy: diff.base.policy, digest: diff.base.digest },
    head: { label: head.label, policy: diff.head.policy, digest: diff.head.digest },
    summary: { changes: items.length, widening, narrowing, other: items.length - widening - narrowing },
    items,
  };
}

function firstThing(i: ReportItem): string {
  if (i.setting) return i.setting;
  if (i.relation) return `${i.relation}\0${i.columns[0] ?? ''}`;
  const s = i.scope[0];
  return s ? `${s.resources[0] ?? ''}\0${s.actions[0]}` : '';
}
