// A generated policy of a given number of rules, deterministic for a seed: many groups, four
// postgres targets, rules on exact relations, schema wildcards and `*`, claim, time-window and
// `unbounded` conditions, approvals, masks and row limits. Alongside the text it returns the
// rules as data (with their line numbers), which the naive evaluator (naive.ts) scans.
//
// Anchor rules on target db0 give the benchmark principal (groups team-000..team-002) known
// decisions on the relations of the schemas `app`, `reports` and `public` (pgbench), which
// no generated rule names.

import actionsData from '../../../spec/data/actions.json' with { type: 'json' };

export type Pattern = { kind: 'exact'; key: string } | { kind: 'schema'; schema: string } | { kind: 'any' };

export type GenCondition =
  | { kind: 'unbounded'; negated: boolean }
  | { kind: 'claim'; claim: string; op: '=' | '!=' | 'in' | 'not in'; values: string[] }
  /** minutes after midnight, UTC, every day */
  | { kind: 'during'; from: number; to: number };

export interface MaskStrategySpec {
  name: 'redact' | 'null' | 'hash' | 'email' | 'keep_first' | 'keep_last';
  n?: number;
}

export interface GenRule {
  /** 1-based line of the rule in the text */
  line: number;
  effect: 'allow' | 'deny' | 'approve' | 'mask' | 'limit';
  /** null: a rule for every identity */
  group: string | null;
  target: string;
  /** primitive actions, groups expanded */
  actions: string[];
  resources: Pattern[];
  when: GenCondition[];
  approver: string | null;
  mask: { relation: string; column: string; strategy: MaskStrategySpec } | null;
  rows: number | null;
  text: string;
}

export interface GeneratedPolicy {
  text: string;
  rules: GenRule[];
  groups: string[];
  targets: string[];
}

/** The benchmark principal's groups and claims. */
export const BENCH_GROUPS = ['team-000', 'team-001', 'team-002'];
export const BENCH_CLAIMS: Record<string, unknown> = { env: 'dev', team: 'payments' };
export const BENCH_TARGET = 'db0';
export const APPROVERS = 'approvers';

const postgres = actionsData.kinds.postgres as { groups: Record<string, string[]> };

/** Expands action words (`read`, `write`, `select`) into primitive actions. */
export function expandActions(words: string[]): string[] {
  const out = new Set<string>();
  for (const w of words) for (const a of postgres.groups[w] ?? [w]) out.add(a);
  return [...out];
}

/** mulberry32: a small deterministic generator, good enough to shape test data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const hhmm = (m: number) => `${pad(Math.floor(m / 60), 2)}:${pad(m % 60, 2)}`;

function renderPattern(p: Pattern): string {
  return p.kind === 'exact' ? p.key : p.kind === 'schema' ? `${p.schema}.*` : '*';
}

function renderCondition(c: GenCondition): string {
  switch (c.kind) {
    case 'unbounded':
      return c.negated ? 'not unbounded' : 'unbounded';
    case 'during':
      return `during ${hhmm(c.from)}-${hhmm(c.to)}`;
    case 'claim':
      return c.op === '=' || c.op === '!='
        ? `claim "${c.claim}" ${c.op} "${c.values[0]}"`
        : `claim "${c.claim}" ${c.op} [${c.values.map((v) => `"${v}"`).join(', ')}]`;
  }
}

interface Draft {
  effect: GenRule['effect'];
  words: string[];
  resources: Pattern[];
  when: GenCondition[];
  approver: string | null;
  mask: GenRule['mask'];
  rows: number | null;
}

function renderDraft(d: Draft): string {
  switch (d.effect) {
    case 'mask': {
      const s = d.mask!.strategy;
      return `mask ${d.mask!.relation}.${d.mask!.column} with ${s.name}${s.n !== undefined ? `(${s.n})` : ''}`;
    }
    case 'limit':
      return `limit rows ${d.rows}`;
    default: {
      let t = `${d.effect} ${d.words.join(', ')} on ${d.resources.map(renderPattern).join(', ')}`;
      if (d.when.length > 0) t += ` when ${d.when.map(renderCondition).join(' and ')}`;
      if (d.approver !== null) t += ` by "${d.approver}" within 15m`;
      return t;
    }
  }
}

const access = (effect: Draft['effect'], words: string[], resources: Pattern[], when: GenCondition[] = [], approver: string | null = null): Draft => ({
  effect,
  words,
  resources,
  when,
  approver,
  mask: null,
  rows: null,
});
const exact = (key: string): Pattern => ({ kind: 'exact', key });
const maskOf = (relation: string, column: string, strategy: MaskStrategySpec): Draft => ({
  effect: 'mask',
  words: [],
  resources: [],
  when: [],
  approver: null,
  mask: { relation, column, strategy },
  rows: null,
});

/** Rules with known outcomes for the benchmark principal, by group (null: every identity). */
function anchors(): { group: string | null; draft: Draft }[] {
  return [
    { group: 'team-000', draft: access('allow', ['read'], [exact('app.orders'), exact('app.customers'), exact('app.order_items')]) },
    { group: 'team-000', draft: access('allow', ['insert', 'update'], [exact('app.orders'), exact('app.order_items')]) },
    { group: 'team-000', draft: maskOf('app.customers', 'email', { name: 'email' }) },
    { group: 'team-000', draft: maskOf('app.customers', 'ssn', { name: 'redact' }) },
    { group: 'team-000', draft: { ...access('limit', [], []), rows: 1000 } },
    { group: 'team-001', draft: access('allow', ['read'], [{ kind: 'schema', schema: 'reports' }]) },
    { group: 'team-001', draft: access('approve', ['update', 'delete'], [{ kind: 'schema', schema: 'app' }], [{ kind: 'unbounded', negated: false }], APPROVERS) },
    { group: 'team-001', draft: maskOf('app.customers', 'phone', { name: 'keep_last', n: 4 }) },
    {
      group: 'team-002',
      draft: access('allow', ['read', 'update', 'insert'], ['accounts', 'tellers', 'branches', 'history'].map((t) => exact(`public.pgbench_${t}`))),
    },
    { group: null, draft: access('deny', ['read'], [exact('app.secrets')]) },
    { group: null, draft: access('deny', ['delete'], [exact('app.orders')], [{ kind: 'claim', claim: 'env', op: '=', values: ['prod'] }]) },
  ];
}

const STRATEGIES: MaskStrategySpec[] = [{ name: 'redact' }, { name: 'null' }, { name: 'hash' }, { name: 'email' }, { name: 'keep_last', n: 4 }, { name: 'keep_first', n: 2 }];
const COLUMNS = ['email', 'phone', 'ssn', 'name', 'card_number', 'iban', 'address'];
const ACTION_SETS = [['read'], ['read'], ['read'], ['insert', 'update'], ['read', 'insert'], ['delete'], ['update'], ['write'], ['select', 'insert', 'update', 'delete']];

export function generatePolicy(ruleCount: number, seed = 1): GeneratedPolicy {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const chance = (p: number) => rnd() < p;

  const targets = ['db0', 'db1', 'db2', 'db3'];
  const groupCount = Math.max(8, Math.round(ruleCount / 20));
  const groups = Array.from({ length: groupCount }, (_, i) => `team-${pad(i, 3)}`);
  const schemaCount = Math.max(12, Math.round(ruleCount / 80));
  const schemas = Array.from({ length: schemaCount }, (_, i) => `s${pad(i, 3)}`);
  const table = () => `${pick(schemas)}.t${pad(Math.floor(rnd() * 60), 3)}`;
  const tables = (max: number) => {
    const n = 1 + Math.floor(rnd() * max);
    return [...new Set(Array.from({ length: n }, table))].map(exact);
  };
  const schemaWild = (): Pattern => ({ kind: 'schema', schema: pick(schemas) });
  const allowCondition = (): GenCondition[] => {
    const r = rnd();
    if (r < 0.08) return [{ kind: 'claim', claim: 'env', op: '=', values: ['prod'] }];
    if (r < 0.14) return [{ kind: 'claim', claim: 'team', op: 'in', values: ['payments', 'risk'] }];
    if (r < 0.22) return [{ kind: 'during', from: 6 * 60, to: 22 * 60 }];
    return [];
  };

  // Each group works on one or two targets; every target has rules for every identity too.
  const blocks = new Map<string, { group: string | null; target: string; drafts: Draft[] }>();
  const block = (group: string | null, target: string) => {
    const key = `${group ?? '*'}\u0000${target}`;
    let b = blocks.get(key);
    if (!b) blocks.set(key, (b = { group, target, drafts: [] }));
    return b;
  };
  const groupTargets = groups.map((g, i) => (i < 3 ? ['db0'] : chance(0.3) ? [pick(targets), pick(targets)] : [pick(targets)]));
  const anchored = anchors();
  for (const a of anchored) block(a.group, BENCH_TARGET);

  const randomDraft = (group: string | null): Draft => {
    if (group === null) {
      const r = rnd();
      if (r < 0.6) return access('deny', pick([['delete'], ['truncate'], ['write'], ['read']]), chance(0.5) ? tables(2) : [schemaWild()]);
      if (r < 0.8) return access('allow', ['read'], tables(2));
      return maskOf(table(), pick(COLUMNS), pick(STRATEGIES));
    }
    const r = rnd();
    if (r < 0.4) return access('allow', pick(ACTION_SETS), tables(3), allowCondition());
    if (r < 0.52) return access('allow', ['read'], [schemaWild()], allowCondition());
    if (r < 0.54) return access('allow', ['read'], [{ kind: 'any' }], chance(0.3) ? [{ kind: 'during', from: 8 * 60, to: 20 * 60 }] : []);
    if (r < 0.59) return access('allow', ['call'], [exact(`${pick(schemas)}.fn${pad(Math.floor(rnd() * 20), 2)}`)]);
    if (r < 0.67) {
      const when: GenCondition[] = chance(0.3) ? [{ kind: 'claim', claim: 'team', op: 'not in', values: ['payments'] }] : [];
      return access('deny', pick([['delete'], ['update', 'delete'], ['read'], ['truncate']]), chance(0.6) ? tables(2) : [schemaWild()], when);
    }
    if (r < 0.74) {
      return chance(0.6)
        ? access('approve', ['update', 'delete'], [schemaWild()], [{ kind: 'unbounded', negated: false }], APPROVERS)
        : access('approve', ['delete'], tables(2), [], APPROVERS);
    }
    if (r < 0.97) return maskOf(table(), pick(COLUMNS), pick(STRATEGIES));
    return { ...access('limit', [], []), rows: 100 * (1 + Math.floor(rnd() * 1000)) };
  };

  const randomCount = ruleCount - anchored.length;
  for (let i = 0; i < randomCount; i++) {
    if (chance(0.06)) {
      block(null, pick(targets)).drafts.push(randomDraft(null));
    } else {
      const gi = Math.floor(rnd() * groupCount);
      block(groups[gi], pick(groupTargets[gi])).drafts.push(randomDraft(groups[gi]));
    }
  }
  // Anchors land at random places inside their blocks.
  for (const a of anchored) {
    const b = block(a.group, BENCH_TARGET);
    b.drafts.splice(Math.floor(rnd() * (b.drafts.length + 1)), 0, a.draft);
  }

  const lines: string[] = [
    `policy "bench-${ruleCount}"`,
    '',
    'identity {',
    '  issuer "https://idp.example.com/"',
    '  audience "pamc"',
    '  jwks file "jwks.json"',
    '  groups claim "groups"',
    '}',
    '',
  ];
  for (const t of targets) lines.push(`target ${t}: postgres {`, '  embedded', '  masking { hash_key env "PAMC_HASH_KEY" }', '}', '');
  const rules: GenRule[] = [];
  const emit = (group: string | null, target: string, drafts: Draft[], indent: string) => {
    for (const d of drafts) {
      const text = renderDraft(d);
      lines.push(indent + text);
      rules.push({
        line: lines.length,
        effect: d.effect,
        group,
        target,
        actions: expandActions(d.words),
        resources: d.resources,
        when: d.when,
        approver: d.approver,
        mask: d.mask,
        rows: d.rows,
        text,
      });
    }
  };
  const ordered = [...blocks.values()].sort((a, b) =>
    (a.group ?? '~') < (b.group ?? '~') ? -1 : (a.group ?? '~') > (b.group ?? '~') ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0,
  );
  let open: string | null | undefined;
  for (const b of ordered) {
    if (b.group !== open && open !== undefined && open !== null) lines.push('}', '');
    if (b.group === null) {
      lines.push(`on ${b.target} {`);
      emit(null, b.target, b.drafts, '  ');
      lines.push('}', '');
    } else {
      if (b.group !== open) lines.push(`group "${b.group}" {`);
      lines.push(`  on ${b.target} {`);
      emit(b.group, b.target, b.drafts, '    ');
      lines.push('  }');
    }
    open = b.group;
  }
  if (open !== undefined && open !== null) lines.push('}', '');
  lines.push(`group "${APPROVERS}" {}`, '');
  return { text: lines.join('\n'), rules, groups: [...groups, APPROVERS], targets };
}
