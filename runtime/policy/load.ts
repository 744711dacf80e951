// Loading a compiled policy: validated against spec/compiled-policy.schema.json and checked for
// dangling references, then turned into the in-memory tables the decision function reads.
// A compiled policy that fails any check is refused whole (fail closed).

import { Ajv } from 'ajv';
import schema from '../../spec/compiled-policy.schema.json' with { type: 'json' };
import type {
  ApprovalRequirement,
  Cell,
  CompiledCondition,
  CompiledPolicy,
  CompiledRule,
  CompiledTarget,
  Entry,
  MaskStrategy,
} from '../../spec/compiled-policy.ts';
import { resourceKindOf } from './keys.ts';

export interface LoadedEntry {
  /** group bits as 32-bit words */
  mask: Uint32Array;
  rule: number;
  /** condition indices, or null */
  when: Int32Array | null;
  approval: ApprovalRequirement | null;
}

export interface LoadedCell {
  deny: LoadedEntry[];
  approve: LoadedEntry[];
  allow: LoadedEntry[];
}

export interface LoadedMaskEntry {
  mask: Uint32Array;
  rule: number;
  strategy: MaskStrategy;
}

export interface LoadedTarget {
  name: string;
  kind: CompiledTarget['kind'];
  compiled: CompiledTarget;
  /** action → resource key → cell */
  actions: Map<string, Map<string, LoadedCell>>;
  /** action → its resource kind */
  resourceKinds: Map<string, string>;
  /** relation key → column → entries */
  masks: Map<string, Map<string, LoadedMaskEntry[]>>;
  limits: { mask: Uint32Array; rule: number; rows: number }[];
}

export interface LoadedPolicy {
  compiled: CompiledPolicy;
  /** 32-bit words per group mask */
  words: number;
  groupIndex: Map<string, number>;
  conditions: CompiledCondition[];
  rules: CompiledRule[];
  targets: Map<string, LoadedTarget>;
}

export class PolicyLoadError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`the compiled policy is invalid: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`);
    this.problems = problems;
  }
}

// Compiled on first use: compiling the schema is a large share of a command's cold start.
let validator: ReturnType<Ajv['compile']> | null = null;
function validate(json: unknown): boolean {
  validator ??= new Ajv({ allErrors: true, strictTuples: false }).compile(schema);
  return validator(json) as boolean;
}

function toMask(groups: number[], words: number): Uint32Array {
  const m = new Uint32Array(words);
  for (const g of groups) m[g >>> 5] |= 1 << (g & 31);
  return m;
}

/** Validates and loads a compiled policy. Throws PolicyLoadError listing every problem found. */
export function loadPolicy(json: unknown): LoadedPolicy {
  if (!validate(json)) {
    const problems = (validator!.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new PolicyLoadError(problems);
  }
  const compiled = json as unknown as CompiledPolicy;
  const problems: string[] = [];
  const groupCount = compiled.groups.length;
  const words = Math.max(1, Math.ceil(groupCount / 32));
  const ruleCount = compiled.rules.length;
  const conditionCount = compiled.conditions.length;
  compiled.rules.forEach((r, i) => {
    if (r.id !== i) problems.push(`/rules/${i} has id ${r.id}`);
    if (r.source && r.source.file >= compiled.sources.length) problems.push(`/rules/${i} names source ${r.source.file}`);
    if (!Object.hasOwn(compiled.targets, r.target)) problems.push(`/rules/${i} names unknown target ${r.target}`);
  });
  const checkRefs = (where: string, groups: number[], rule: number, when?: number[]) => {
    for (const g of groups) if (g >= groupCount) problems.push(`${where} names group bit ${g}`);
    if (rule >= ruleCount) problems.push(`${where} names rule ${rule}`);
    for (const c of when ?? []) if (c >= conditionCount) problems.push(`${where} names condition ${c}`);
  };

  const targets = new Map<string, LoadedTarget>();
  for (const [name, t] of Object.entries(compiled.targets)) {
    const actions = new Map<string, Map<string, LoadedCell>>();
    const resourceKinds = new Map<string, string>();
    for (const [action, byKey] of Object.entries(t.actions)) {
      const kind = resourceKindOf(t.kind, action);
      if (!kind) {
        problems.push(`/targets/${name}/actions has unknown action ${action}`);
        continue;
      }
      resourceKinds.set(action, kind);
      const cells = new Map<string, LoadedCell>();
      for (const [key, cell] of Object.entries(byKey)) {
        const where = `/targets/${name}/actions/${action}/${key}`;
        const load = (entries: Entry[] | undefined): LoadedEntry[] =>
          (entries ?? []).map((e) => {
            checkRefs(where, e.groups, e.rule, e.when);
            return {
              mask: toMask(e.groups, words),
              rule: e.rule,
              when: e.when ? Int32Array.from(e.when) : null,
              approval: e.approval ?? null,
            };
          });
        const c: Cell = cell;
        cells.set(key, { deny: load(c.deny), approve: load(c.approve), allow: load(c.allow) });
      }
      actions.set(action, cells);
    }
    const masks = new Map<string, Map<string, LoadedMaskEntry[]>>();
    for (const [relation, byColumn] of Object.entries(t.masks)) {
      const cols = new Map<string, LoadedMaskEntry[]>();
      for (const [column, entries] of Object.entries(byColumn)) {
        cols.set(
          column,
          entries.map((e) => {
            checkRefs(`/targets/${name}/masks/${relation}/${column}`, e.groups, e.rule);
            return { mask: toMask(e.groups, words), rule: e.rule, strategy: e.strategy };
          }),
        );
      }
      masks.set(relation, cols);
    }
    const limits = t.limits.map((l) => {
      checkRefs(`/targets/${name}/limits`, l.groups, l.rule);
      return { mask: toMask(l.groups, words), rule: l.rule, rows: l.rows };
    });
    targets.set(name, { name, kind: t.kind, compiled: t, actions, resourceKinds, masks, limits });
  }
  if (problems.length > 0) throw new PolicyLoadError(problems);
  return {
    compiled,
    words,
    groupIndex: new Map(compiled.groups.map((g, i) => [g, i])),
    conditions: compiled.conditions,
    rules: compiled.rules,
    targets,
  };
}
