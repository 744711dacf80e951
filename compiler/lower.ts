// Pass 4: lowering resolved rules to the decision tables of DESIGN.md §3 (spec/language.md §6).
// Deterministic: the same rules always give the same tables, in the same order.

import type {
  Cell,
  CompiledCondition,
  CompiledRule,
  CompiledTarget,
  Entry,
  LimitEntry,
  MaskEntry,
  SourceLocation,
} from '../spec/compiled-policy.ts';
import type { BuiltinData } from './builtins.ts';
import { inSystemSchema, isProtected, parentKey, protectedSettings } from './keys.ts';
import type { ResolvedRule } from './rules.ts';
import type { TargetInfo } from './targets.ts';
import { baselineOf, resourceKindOf, type ResourceKind } from './taxonomy.ts';

type Effect = 'deny' | 'approve' | 'allow';
const EFFECTS: Effect[] = ['deny', 'approve', 'allow'];

export interface Lowered {
  groups: string[];
  conditions: CompiledCondition[];
  rules: CompiledRule[];
  targets: Record<string, CompiledTarget>;
}

export interface LowerInput {
  builtins: BuiltinData;
  declaredGroups: Iterable<string>;
  targets: Map<string, TargetInfo>;
  rules: ResolvedRule[];
  locate: (file: string, start: number, end: number) => SourceLocation;
  ruleText: (rule: ResolvedRule) => string;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortedRecord<V>(map: Map<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key of [...map.keys()].sort(byString)) out[key] = map.get(key)!;
  return out;
}

export function lower(input: LowerInput): Lowered {
  const groups = ['*', ...[...new Set(input.declaredGroups)].sort(byString)];
  const bit = (group: string | null) => (group === null ? 0 : groups.indexOf(group));

  const conditions: CompiledCondition[] = [];
  const conditionIndex = new Map<string, number>();
  const conditionId = (c: CompiledCondition) => {
    const key = JSON.stringify(c);
    let i = conditionIndex.get(key);
    if (i === undefined) {
      i = conditions.length;
      conditions.push(c);
      conditionIndex.set(key, i);
    }
    return i;
  };

  const rules: CompiledRule[] = [];
  const perTarget = new Map<string, TargetTables>();
  for (const name of [...input.targets.keys()].sort(byString)) perTarget.set(name, new TargetTables());

  for (const r of input.rules) {
    const id = rules.length;
    const effect = r.kind === 'access' ? r.effect : r.kind;
    rules.push({
      id,
      effect,
      group: r.group,
      target: r.target,
      text: input.ruleText(r),
      source: input.locate(r.file, r.span.start, r.span.end),
    });
    const tables = perTarget.get(r.target)!;
    const groupsOf = [bit(r.group)];
    if (r.kind === 'access') {
      const when = r.when.map(conditionId);
      for (const [action, keys] of r.grants) {
        for (const key of keys) {
          const entry: Entry = { groups: groupsOf, rule: id };
          if (when.length > 0) entry.when = when;
          if (r.approval) entry.approval = r.approval;
          tables.own(action, key)[r.effect].push(entry);
        }
      }
      if (r.effect !== 'deny') tables.granting.add(bit(r.group));
    } else if (r.kind === 'mask') {
      for (const { relation, column } of r.columns) {
        tables.mask(relation, column).push({ groups: groupsOf, rule: id, strategy: r.strategy });
      }
    } else {
      tables.limits.push({ groups: groupsOf, rule: id, rows: r.rows });
    }
  }

  // The baseline (spec/language.md §5.6): transaction control, cursors and harmless settings for
  // every identity that may do anything at all on the target.
  for (const [name, tables] of perTarget) {
    const info = input.targets.get(name)!;
    if (tables.granting.size === 0) continue;
    const baseline = baselineOf(info.kind);
    const id = rules.length;
    rules.push({
      id,
      effect: 'allow',
      group: null,
      target: name,
      text: `baseline: ${[...baseline.actions, ...(baseline.settings ? [`set on ${baseline.settings}`] : [])].join(', ')}`,
      source: null,
    });
    const granting = [...tables.granting].sort((a, b) => a - b);
    for (const action of baseline.actions) tables.own(action, '*').allow.push({ groups: granting, rule: id });
    if (baseline.settings) {
      const set = input.builtins.sets.get(baseline.settings);
      for (const key of set?.members ?? []) tables.own('set', key).allow.push({ groups: granting, rule: id });
    }
  }

  const targets = new Map<string, CompiledTarget>();
  for (const [name, tables] of perTarget) {
    const info = input.targets.get(name)!;
    targets.set(name, {
      ...info.compiled,
      actions: tables.merged(input.builtins, (action) => resourceKindOf(info.kind, action)),
      masks: tables.sortedMasks(),
      limits: tables.limits,
    });
  }
  return { groups, conditions, rules, targets: sortedRecord(targets) };
}

interface OwnCell {
  deny: Entry[];
  approve: Entry[];
  allow: Entry[];
}

class TargetTables {
  private readonly cells = new Map<string, Map<string, OwnCell>>();
  private readonly masks = new Map<string, Map<string, MaskEntry[]>>();
  readonly limits: LimitEntry[] = [];
  /** group bits holding any allow or approve on the target */
  readonly granting = new Set<number>();

  own(action: string, key: string): OwnCell {
    let byKey = this.cells.get(action);
    if (!byKey) this.cells.set(action, (byKey = new Map()));
    let cell = byKey.get(key);
    if (!cell) byKey.set(key, (cell = { deny: [], approve: [], allow: [] }));
    return cell;
  }

  mask(relation: string, column: string): MaskEntry[] {
    let byColumn = this.masks.get(relation);
    if (!byColumn) this.masks.set(relation, (byColumn = new Map()));
    let list = byColumn.get(column);
    if (!list) byColumn.set(column, (list = []));
    return list;
  }

  sortedMasks(): Record<string, Record<string, MaskEntry[]>> {
    const out = new Map<string, Record<string, MaskEntry[]>>();
    for (const [relation, byColumn] of this.masks) out.set(relation, sortedRecord(byColumn));
    return sortedRecord(out);
  }

  /**
   * Each key's cell holds its own entries and those of the wildcards above it, so the runtime
   * stops at the first key it finds: exact, then the parent wildcard, then `*`. Wildcards
   * contribute only their denials to protected keys and, for `*`, to system schemas; cells are
   * materialised for those keys so that the runtime's first hit is always the right one.
   */
  merged(builtins: BuiltinData, kindOf: (action: string) => ResourceKind): Record<string, Record<string, Cell>> {
    const out = new Map<string, Record<string, Cell>>();
    for (const [action, byKey] of this.cells) {
      const kind = kindOf(action);
      const keys = new Set(byKey.keys());
      // Keys that must have a cell even when it is empty, so the runtime stops there instead of
      // falling through to a wildcard that must not reach them.
      const materialized = new Set<string>();
      const star = byKey.get('*');
      const wildcardParents = [...keys].filter((k) => k !== '*' && k.endsWith('*'));
      if (star || wildcardParents.length > 0) {
        if (kind === 'relation' || kind === 'object') {
          for (const secret of builtins.secretRelations) {
            if (star || wildcardParents.includes(parentKey(kind, secret) ?? '')) materialized.add(secret);
          }
        }
        if (kind === 'setting' && star) {
          for (const s of protectedSettings(builtins, action)) materialized.add(s);
        }
      }
      if (star && (kind === 'relation' || kind === 'function' || kind === 'object')) {
        for (const schema of builtins.systemSchemas) materialized.add(`${schema}.*`);
      }
      for (const k of materialized) keys.add(k);
      const cells = new Map<string, Cell>();
      for (const key of keys) {
        const own = byKey.get(key);
        const contributions: { cell: OwnCell; denyOnly: boolean }[] = [];
        if (own) contributions.push({ cell: own, denyOnly: false });
        const isProt = isProtected(builtins, kind, key, action);
        if (key !== '*') {
          const parent = parentKey(kind, key);
          const parentCell = parent ? byKey.get(parent) : undefined;
          if (parentCell) contributions.push({ cell: parentCell, denyOnly: isProt });
          if (star) contributions.push({ cell: star, denyOnly: isProt || inSystemSchema(builtins, kind, key) });
        }
        const cell = combine(contributions);
        if (cell) cells.set(key, cell);
        else if (materialized.has(key)) cells.set(key, {});
      }
      if (cells.size > 0) out.set(action, sortedRecord(cells));
    }
    return sortedRecord(out);
  }
}

function combine(contributions: { cell: OwnCell; denyOnly: boolean }[]): Cell | null {
  const cell: Cell = {};
  for (const effect of EFFECTS) {
    const entries: Entry[] = [];
    const rules = new Set<number>();
    for (const { cell: own, denyOnly } of contributions) {
      if (denyOnly && effect !== 'deny') continue;
      for (const e of own[effect]) {
        if (rules.has(e.rule)) continue;
        rules.add(e.rule);
        entries.push(e);
      }
    }
    if (entries.length > 0) cell[effect] = entries.sort((a, b) => a.rule - b.rule);
  }
  return Object.keys(cell).length > 0 ? cell : null;
}
