// A seeded generator of small policies and of random edits to them, for the diff's property
// tests (and, scaled up, for measuring the diff on large policies).

import { HEADER } from '../../support/compile.ts';

export type Rng = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function some<T>(r: Rng, xs: readonly T[], min: number, max: number): T[] {
  const n = min + Math.floor(r() * (max - min + 1));
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const x = pick(r, xs);
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

export const GROUPS = ['g1', 'g2', 'g3'];
export const APPROVERS = ['ap1', 'ap2'];
export const ACTIONS = ['select', 'copy_out', 'insert', 'update', 'delete', 'drop', 'call'];
export const RELATIONS = ['public.*', 'public.a', 'public.b', 's.*', 's.c', '*'];
export const FUNCTIONS = ['public.f', 'public.*', '*', 'pg_catalog.pg_sleep'];
export const CONDITIONS = [
  'unbounded',
  'not unbounded',
  'limited',
  'claim "env" = "a"',
  'claim "env" != "b"',
  'claim "env" in ["a", "b"]',
  'claim "team" = "x"',
  'during 09:00-17:00',
  'during mon-fri',
  'during 22:00-06:00 tz "Europe/Berlin"',
];
export const MASK_COLUMNS = ['public.a.x', 'public.a.y', 'public.a.*', 'public.b.x'];
export const STRATEGIES = ['redact', 'null', 'hash', 'email', 'keep_first(2)', 'keep_last(2)', 'keep_last(4)'];

export interface AccessSpec {
  kind: 'access';
  effect: 'allow' | 'deny' | 'approve';
  actions: string[];
  resources: string[];
  when: string[];
  approval: { by: string; quorum: number; within: string } | null;
}
export interface MaskSpec {
  kind: 'mask';
  columns: string[];
  strategy: string;
}
export interface LimitSpec {
  kind: 'limit';
  rows: number;
}
export type RuleSpec = AccessSpec | MaskSpec | LimitSpec;

/** Rules by group; `*` holds the target-wide rules. */
export type PolicySpec = Map<string, RuleSpec[]>;

function accessRule(r: Rng): AccessSpec {
  const effect = pick(r, ['allow', 'allow', 'deny', 'approve'] as const);
  const fn = r() < 0.15;
  const actions = fn ? ['call'] : some(r, ACTIONS.filter((a) => a !== 'call'), 1, 2);
  const resources = some(r, fn ? FUNCTIONS : RELATIONS, 1, 2);
  const when = r() < 0.5 ? some(r, CONDITIONS, 1, 2) : [];
  const approval = effect === 'approve' ? { by: pick(r, APPROVERS), quorum: pick(r, [1, 1, 2]), within: pick(r, ['15m', '30m', '1h']) } : null;
  return { kind: 'access', effect, actions, resources, when, approval };
}

function randomRule(r: Rng): RuleSpec {
  const x = r();
  if (x < 0.75) return accessRule(r);
  if (x < 0.92) return { kind: 'mask', columns: some(r, MASK_COLUMNS, 1, 2), strategy: pick(r, STRATEGIES) };
  return { kind: 'limit', rows: pick(r, [10, 100, 1000]) };
}

export function randomPolicy(r: Rng, rules = 6): PolicySpec {
  const spec: PolicySpec = new Map([...['*', ...GROUPS].map((g) => [g, [] as RuleSpec[]] as const)]);
  for (let i = 0; i < rules; i++) spec.get(pick(r, ['*', ...GROUPS]))!.push(randomRule(r));
  return spec;
}

function clone(spec: PolicySpec): PolicySpec {
  return new Map([...spec].map(([g, rules]) => [g, rules.map((x) => JSON.parse(JSON.stringify(x)) as RuleSpec)]));
}

/** One random edit of the kinds a reviewer meets: add, remove, or change a rule's effect, conditions, resources, approval, mask or limit. */
export function randomEdit(r: Rng, spec: PolicySpec): PolicySpec {
  const out = clone(spec);
  const all = [...out].flatMap(([g, rules]) => rules.map((rule, i) => ({ g, rule, i })));
  const choice = all.length === 0 ? 0 : Math.floor(r() * 8);
  if (choice === 0 || all.length === 0) {
    out.get(pick(r, ['*', ...GROUPS]))!.push(randomRule(r));
    return out;
  }
  const { g, rule, i } = pick(r, all);
  if (choice === 1) {
    out.get(g)!.splice(i, 1);
    return out;
  }
  if (rule.kind === 'mask') {
    if (r() < 0.5) rule.strategy = pick(r, STRATEGIES);
    else rule.columns = some(r, MASK_COLUMNS, 1, 2);
    return out;
  }
  if (rule.kind === 'limit') {
    rule.rows = pick(r, [10, 100, 1000, 5000]);
    return out;
  }
  switch (choice) {
    case 2: {
      const effect = pick(r, ['allow', 'deny', 'approve'] as const);
      rule.effect = effect;
      rule.approval = effect === 'approve' ? (rule.approval ?? { by: pick(r, APPROVERS), quorum: 1, within: '15m' }) : null;
      break;
    }
    case 3:
      rule.when = r() < 0.5 && rule.when.length > 0 ? rule.when.slice(1) : [...new Set([...rule.when, pick(r, CONDITIONS)])];
      break;
    case 4:
      rule.resources = some(r, rule.actions.includes('call') ? FUNCTIONS : RELATIONS, 1, 2);
      break;
    case 5:
      if (rule.approval) rule.approval = { by: pick(r, APPROVERS), quorum: pick(r, [1, 2, 3]), within: pick(r, ['15m', '30m', '1h']) };
      else rule.when = [];
      break;
    case 6:
      if (!rule.actions.includes('call')) rule.actions = some(r, ACTIONS.filter((a) => a !== 'call'), 1, 2);
      break;
    default:
      // move the rule to another group
      out.get(g)!.splice(i, 1);
      out.get(pick(r, ['*', ...GROUPS]))!.push(rule);
  }
  return out;
}

export function ruleText(rule: RuleSpec): string {
  switch (rule.kind) {
    case 'access': {
      const when = rule.when.length > 0 ? ` when ${rule.when.join(' and ')}` : '';
      const by = rule.approval ? ` by "${rule.approval.by}"${rule.approval.quorum > 1 ? ` quorum ${rule.approval.quorum}` : ''} within ${rule.approval.within}` : '';
      return `${rule.effect} ${rule.actions.join(', ')} on ${rule.resources.join(', ')}${when}${by}`;
    }
    case 'mask':
      return `mask ${rule.columns.join(', ')} with ${rule.strategy}`;
    case 'limit':
      return `limit rows ${rule.rows}`;
  }
}

/** The policy text; `shuffle` reorders rules and blocks (which must not change the meaning). */
export function policyText(spec: PolicySpec, shuffle?: Rng): string {
  return policyLayout(spec, shuffle).text;
}

/** The policy text and, for each line holding a rule (1-based), the rule's group and index. */
export function policyLayout(spec: PolicySpec, shuffle?: Rng): { text: string; rules: Map<number, { group: string; index: number }> } {
  const order = <T>(xs: T[]): T[] => {
    if (!shuffle) return xs;
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(shuffle() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  };
  const lines = [...HEADER.replace(/\n$/, '').split('\n'), 'target shop: postgres {', '  embedded', '  masking { hash_key env "PAMC_HASH_KEY" }', '}', ''];
  const rules = new Map<number, { group: string; index: number }>();
  for (const a of APPROVERS) lines.push(`group "${a}" {}`);
  for (const [g, list] of order([...spec])) {
    const indexed = order(list.map((rule, index) => ({ rule, index })));
    const indent = g === '*' ? '  ' : '    ';
    if (g === '*') lines.push('on shop {');
    else lines.push(`group "${g}" {`, '  on shop {');
    for (const { rule, index } of indexed) {
      lines.push(`${indent}${ruleText(rule)}`);
      rules.set(lines.length, { group: g, index });
    }
    if (g === '*') lines.push('}');
    else lines.push('  }', '}');
  }
  return { text: lines.join('\n') + '\n', rules };
}
