// Every strategy on every common column type, read by every client of the matrix in text and
// binary formats (spec/masking.md §5). For each strategy an identity masks every column of the
// table `typed`; the expected values are computed here from the spec's table and selected as
// literals of the same types, by the same client in the same format: the masked result must
// decode without error and equal them exactly. `hash` must give equal values for equal inputs
// (so masked columns still join and group) and differ for different ones.

import { createHmac } from 'node:crypto';
import pg from 'pg';
import postgres from 'postgres';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { CLIENT_PROGRAMS, HASH_KEY, HASH_KEY_ENV, JDBC_JAR, jsonLines, PYTHON, run, runWithInput } from './fixture.ts';

interface Column {
  name: string;
  /** the SQL type, as declared and as the literals are cast */
  type: string;
  /** the cast for expected literals (numeric loses its scale: masks carry none) */
  cast?: string;
  cls: 'text' | 'int2' | 'int4' | 'int8' | 'numeric' | 'float' | 'bool' | 'date' | 'time' | 'timestamp' | 'timestamptz' | 'interval' | 'uuid' | 'json' | 'jsonb' | 'bytea' | 'other';
  /** varchar(n) / char(n) */
  n?: number;
  pad?: boolean;
  /** two distinct values, as the server prints them (text form) */
  a: string;
  b: string;
}

const COLUMNS: Column[] = [
  { name: 't_text', type: 'text', cls: 'text', a: 'jane.doe@example.com', b: 'bob@test.org' },
  { name: 't_varchar', type: 'varchar(8)', cls: 'text', n: 8, a: 'ab@cd.ef', b: 'zz' },
  { name: 't_char', type: 'char(6)', cls: 'text', n: 6, pad: true, a: 'a@b.c ', b: 'XY    ' },
  { name: 't_int2', type: 'int2', cls: 'int2', a: '1234', b: '-7' },
  { name: 't_int4', type: 'int4', cls: 'int4', a: '918273', b: '5' },
  { name: 't_int8', type: 'int8', cls: 'int8', a: '7362819405512', b: '-1' },
  { name: 't_numeric', type: 'numeric(12,2)', cast: 'numeric', cls: 'numeric', a: '48213.77', b: '-0.50' },
  { name: 't_float4', type: 'float4', cls: 'float', a: '1.5', b: '-2' },
  { name: 't_float8', type: 'float8', cls: 'float', a: '2.25', b: '1e+100' },
  { name: 't_bool', type: 'bool', cls: 'bool', a: 't', b: 'f' },
  { name: 't_date', type: 'date', cls: 'date', a: '2021-03-04', b: '1999-12-31' },
  { name: 't_time', type: 'time', cls: 'time', a: '12:34:56', b: '23:59:59.5' },
  { name: 't_ts', type: 'timestamp', cls: 'timestamp', a: '2021-03-04 12:34:56', b: '2000-01-01 00:00:00' },
  { name: 't_tstz', type: 'timestamptz', cls: 'timestamptz', a: '2021-03-04 12:34:56+00', b: '2010-06-07 08:09:10+00' },
  { name: 't_interval', type: 'interval', cls: 'interval', a: '1 day 02:03:04', b: '00:00:01' },
  { name: 't_uuid', type: 'uuid', cls: 'uuid', a: '3f0e8a1c-1234-4000-8000-00000000abcd', b: '00000000-0000-4000-8000-000000000001' },
  { name: 't_json', type: 'json', cls: 'json', a: '{"a": 1}', b: '[1, 2]' },
  { name: 't_jsonb', type: 'jsonb', cls: 'jsonb', a: '{"a": 1}', b: '"x"' },
  { name: 't_bytea', type: 'bytea', cls: 'bytea', a: '\\xdeadbeef', b: '\\x00' },
  { name: 't_array', type: 'int[]', cls: 'other', a: '{1,2,3}', b: '{}' },
  { name: 't_enum', type: 'mood', cls: 'other', a: 'angry', b: 'calm' },
  { name: 't_domain', type: 'contact', cls: 'text', a: 'dom@main.test', b: 'nobody' },
];

type Strategy = { name: 'redact' | 'null' | 'hash' | 'email' } | { name: 'keep_first' | 'keep_last'; n: number };
const STRATEGIES: Record<string, Strategy> = {
  redact: { name: 'redact' },
  null: { name: 'null' },
  hash: { name: 'hash' },
  email: { name: 'email' },
  keep_first: { name: 'keep_first', n: 2 },
  keep_last: { name: 'keep_last', n: 3 },
};
const strategyText = (s: Strategy) => ('n' in s ? `${s.name}(${s.n})` : s.name);

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const cast = (c: Column) => c.cast ?? c.type;

// ---------------------------------------------------------------------------------------------
// spec/masking.md §5, written out independently of the gateway's code

function hmac(text: string): Buffer {
  return createHmac('sha256', HASH_KEY).update(text, 'utf8').digest();
}

function fitText(s: string, c: Column): string {
  if (!c.n) return s;
  const chars = [...s];
  if (chars.length > c.n) return chars.slice(0, c.n).join('');
  return c.pad ? s + ' '.repeat(c.n - chars.length) : s;
}

/** The neutral value of `redact`, as a SQL literal of the column's type (or NULL). */
function neutralSql(c: Column): string {
  switch (c.cls) {
    case 'text':
      return lit(fitText('***', c));
    case 'int2':
    case 'int4':
    case 'int8':
    case 'numeric':
    case 'float':
      return '0';
    case 'bool':
      return 'false';
    case 'date':
      return lit('1970-01-01');
    case 'time':
      return lit('00:00:00');
    case 'timestamp':
      return lit('1970-01-01 00:00:00');
    case 'timestamptz':
      return lit('1970-01-01 00:00:00+00');
    case 'interval':
      return lit('0');
    case 'uuid':
      return lit('00000000-0000-0000-0000-000000000000');
    case 'json':
    case 'jsonb':
      return lit('null');
    case 'bytea':
      return lit('\\x');
    case 'other':
      return 'NULL';
  }
}

function expectedSql(c: Column, s: Strategy, value: string | null): string {
  if (value === null || s.name === 'null') return `NULL::${cast(c)}`;
  const typed = (sql: string) => (sql === 'NULL' ? `NULL::${cast(c)}` : `${sql}::${cast(c)}`);
  if (s.name === 'redact') return typed(neutralSql(c));
  if (s.name === 'hash') {
    const mac = hmac(value);
    switch (c.cls) {
      case 'text':
        return typed(lit(fitText(mac.toString('hex'), c)));
      case 'int2':
        return typed(String(mac.readInt16BE(0)));
      case 'int4':
        return typed(String(mac.readInt32BE(0)));
      case 'int8':
        return typed(String(mac.readBigInt64BE(0)));
      case 'numeric':
        return typed(String(mac.readBigUInt64BE(0) % 10n ** 15n));
      case 'uuid': {
        const h = mac.subarray(0, 16).toString('hex');
        return typed(lit(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`));
      }
      default:
        return typed(neutralSql(c));
    }
  }
  if (c.cls !== 'text') return typed(neutralSql(c));
  const chars = [...value];
  let out: string;
  if (s.name === 'email') {
    const at = value.lastIndexOf('@');
    out = at <= 0 ? '***' : `${chars[0]}***@${value.slice(at + 1)}`;
  } else if (!('n' in s)) throw new Error(`no rule for ${s.name}`);
  else if (chars.length <= s.n) out = value;
  else if (s.name === 'keep_first') out = chars.slice(0, s.n).join('') + '*'.repeat(chars.length - s.n);
  else out = '*'.repeat(chars.length - s.n) + chars.slice(chars.length - s.n).join('');
  return typed(lit(fitText(out, c)));
}

// rows: 1 and 2 hold the same values (hash must agree), 3 others, 4 NULLs
const ROWS: (keyof Column | null)[] = ['a', 'a', 'b', null];

const MASKED_SQL = `SELECT id, ${COLUMNS.map((c) => c.name).join(', ')} FROM typed ORDER BY id`;
const expectedQuery = (s: Strategy) =>
  `${ROWS.map((k, i) => `SELECT ${i + 1} AS id, ${COLUMNS.map((c) => `${expectedSql(c, s, k === null ? null : (c[k] as string))} AS ${c.name}`).join(', ')}`).join(' UNION ALL ')} ORDER BY id`;

const SETUP = `
CREATE TYPE mood AS ENUM ('calm', 'angry');
CREATE DOMAIN contact AS text;
CREATE TABLE typed (id int PRIMARY KEY, ${COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')});
${ROWS.map((k, i) => `INSERT INTO typed VALUES (${i + 1}, ${COLUMNS.map((c) => (k === null ? 'NULL' : `${lit(c[k] as string)}::${c.type}`)).join(', ')});`).join('\n')}
CREATE TABLE typed_copy (k text, n int4);
INSERT INTO typed_copy VALUES ('jane.doe@example.com', 918273), ('other', 1);
`;

const RULES = `
${Object.entries(STRATEGIES)
  .map(
    ([g, s]) => `group "${g}" {
  on db {
    allow read on public.*, catalog
    mask ${COLUMNS.map((c) => `public.typed.${c.name}`).join(', ')} with ${strategyText(s)}
    mask public.typed_copy.k, public.typed_copy.n with ${strategyText(s)}
  }
}`,
  )
  .join('\n')}
`;

// ---------------------------------------------------------------------------------------------
// Clients: each returns, per query, rows as that client decodes them, per format

type Decoded = { text?: unknown; binary?: unknown; error?: string };
type Runner = (gw: GatewayFixture, group: string, queries: { id: string; sql: string }[]) => Promise<Map<string, Decoded>>;

const show = (v: unknown): unknown => (v instanceof Date ? `Date:${v.toISOString()}` : Buffer.isBuffer(v) ? `Buffer:${v.toString('hex')}` : typeof v === 'bigint' ? `bigint:${v}` : v);
const rowsShown = (rows: Record<string, unknown>[] | unknown[][]) => rows.map((r) => (Array.isArray(r) ? r : Object.values(r)).map(show));

const psqlRunner: Runner = async (gw, group, queries) => {
  const out = new Map<string, Decoded>();
  const token = await gw.token([group]);
  for (const q of queries) {
    try {
      const r = await run('psql', [gw.conninfo(), '-X', '-q', '-A', '-t', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-c', q.sql], { env: { ...process.env, PGPASSWORD: token, PGTZ: 'UTC' } });
      out.set(q.id, { text: r.stdout });
    } catch (e) {
      out.set(q.id, { error: (e as { stderr?: string }).stderr ?? String(e) });
    }
  }
  return out;
};

const nodePostgresRunner: Runner = async (gw, group, queries) => {
  const out = new Map<string, Decoded>();
  const client = new pg.Client(await gw.clientConfig([group]));
  await client.connect();
  try {
    for (const q of queries) {
      try {
        const t = await client.query({ text: q.sql, rowMode: 'array' });
        const b = await client.query({ text: q.sql, rowMode: 'array', binary: true } as pg.QueryConfig);
        out.set(q.id, { text: rowsShown(t.rows), binary: rowsShown(b.rows) });
      } catch (e) {
        out.set(q.id, { error: String(e) });
      }
    }
  } finally {
    await client.end();
  }
  return out;
};

const postgresJsRunner: Runner = async (gw, group, queries) => {
  const out = new Map<string, Decoded>();
  const c = await gw.clientConfig([group]);
  const sql = postgres({ host: c.host, port: c.port, database: c.database, username: c.user, password: c.password, max: 1, onnotice: () => {} });
  try {
    for (const q of queries) {
      try {
        // prepared: the second run executes with no Describe
        await sql.unsafe(q.sql, [], { prepare: true }).values();
        const t = await sql.unsafe(q.sql, [], { prepare: true }).values();
        out.set(q.id, { text: rowsShown([...t] as unknown[][]) });
      } catch (e) {
        out.set(q.id, { error: String(e) });
      }
    }
  } finally {
    await sql.end();
  }
  return out;
};

const pythonRunner =
  (driver: 'psycopg' | 'psycopg2'): Runner =>
  async (gw, group, queries) => {
    const dsn = `${gw.conninfo()} password=${await gw.token([group])}`;
    const lines = jsonLines<{ id: string } & Decoded>(await runWithInput(PYTHON, [`${CLIENT_PROGRAMS}matrix_client.py`], JSON.stringify({ driver, dsn, queries })));
    return new Map(lines.map((l) => [l.id, l]));
  };

const asyncpgRunner: Runner = async (gw, group, queries) => {
  const input = { driver: 'asyncpg', host: gw.host, port: gw.port, database: gw.database, password: await gw.token([group]), queries };
  const lines = jsonLines<{ id: string } & Decoded>(await runWithInput(PYTHON, [`${CLIENT_PROGRAMS}matrix_client.py`], JSON.stringify(input)));
  return new Map(lines.map((l) => [l.id, l]));
};

const jdbcRunner: Runner = async (gw, group, queries) => {
  const url = `jdbc:postgresql://${gw.host}:${gw.port}/${gw.database}`;
  const input = queries.map((q) => JSON.stringify(q)).join('\n') + '\n';
  const lines = jsonLines<{ id: string } & Decoded>(await runWithInput('java', ['-cp', JDBC_JAR, `${CLIENT_PROGRAMS}MatrixJdbc.java`, url, await gw.token([group])], input));
  return new Map(lines.map((l) => [l.id, l]));
};

const CLIENTS: Record<string, { run: Runner; formats: ('text' | 'binary')[] }> = {
  psql: { run: psqlRunner, formats: ['text'] },
  'node-postgres': { run: nodePostgresRunner, formats: ['text', 'binary'] },
  'postgres.js': { run: postgresJsRunner, formats: ['text'] },
  psycopg2: { run: pythonRunner('psycopg2'), formats: ['text'] },
  'psycopg 3': { run: pythonRunner('psycopg'), formats: ['text', 'binary'] },
  asyncpg: { run: asyncpgRunner, formats: ['binary'] },
  pgjdbc: { run: jdbcRunner, formats: ['text', 'binary'] },
};

// ---------------------------------------------------------------------------------------------

const test = suite<{ gw: GatewayFixture }>('masking: every strategy on every type, in every client and format');

test.before(async (ctx) => {
  process.env[HASH_KEY_ENV] = HASH_KEY;
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES, targetSettings: `masking { hash_key env "${HASH_KEY_ENV}" }` });
});
test.after(async ({ gw }) => {
  await gw?.close();
});

const matrix: string[] = [];

for (const [client, { run: runner, formats }] of Object.entries(CLIENTS)) {
  test(`${client}: masked values decode and equal the spec's, ${formats.join(' and ')}`, async ({ gw }) => {
    const problems: string[] = [];
    // One identity per strategy; each runs the masked query and the expected literals.
    const all = await Promise.all(
      Object.entries(STRATEGIES).map(async ([group, s]) => ({
        group,
        got: await runner(gw, group, [
          { id: 'masked', sql: MASKED_SQL },
          { id: 'expected', sql: expectedQuery(s) },
          { id: 'left', sql: 'SELECT t_text, t_int4 FROM typed WHERE id = 1' },
          { id: 'right', sql: 'SELECT k, n FROM typed_copy ORDER BY n DESC LIMIT 1' },
          { id: 'group', sql: 'SELECT t_text, count(*)::int FROM typed GROUP BY t_text ORDER BY 2 DESC, 1 LIMIT 1' },
        ]),
      })),
    );
    for (const { group, got } of all) {
      const masked = got.get('masked');
      const expected = got.get('expected');
      for (const f of formats) {
        const cell = `${client} ${f} ${group}`;
        if (!masked || masked.error || masked[f] === undefined) {
          problems.push(`${cell}: the masked query failed: ${masked?.error ?? 'no result'}`);
          continue;
        }
        if (!expected || expected.error) {
          problems.push(`${cell}: the expected literals failed: ${expected?.error ?? 'no result'}`);
          continue;
        }
        const m = masked[f] as unknown;
        const e = expected[f] as unknown;
        if (JSON.stringify(m) !== JSON.stringify(e)) {
          // name the columns that differ
          if (Array.isArray(m) && Array.isArray(e)) {
            for (let r = 0; r < Math.max(m.length, e.length); r++) {
              const mr = (m[r] ?? []) as unknown[];
              const er = (e[r] ?? []) as unknown[];
              for (let i = 0; i < Math.max(mr.length, er.length); i++) {
                if (JSON.stringify(mr[i]) !== JSON.stringify(er[i])) problems.push(`${cell} row ${r + 1} ${i === 0 ? 'id' : COLUMNS[i - 1].name}: got ${JSON.stringify(mr[i])}, the spec says ${JSON.stringify(er[i])}`);
              }
            }
          } else problems.push(`${cell}: got ${JSON.stringify(m)}\n  the spec says ${JSON.stringify(e)}`);
        } else matrix.push(cell);
      }
      if (group === 'hash') {
        // equal values hash alike, in this table and another: masked columns still join (on the
        // client's side, by the values it received) and group
        for (const f of formats) {
          const l = JSON.stringify(got.get('left')?.[f] ?? null);
          const r = JSON.stringify(got.get('right')?.[f] ?? null);
          if (l === 'null' || l !== r || l.includes('918273')) problems.push(`${client} ${f} hash: the same values in two tables hash differently: ${l} / ${r}`);
          const g = JSON.stringify(got.get('group')?.[f] ?? null);
          if (!g.includes(JSON.parse(l)?.[0]?.[0] !== undefined ? JSON.stringify(JSON.parse(l)[0][0]).slice(1, -1) : '\u0000') || !/2/.test(g)) problems.push(`${client} ${f} hash: grouping by a hashed column: ${g} (expected ${l})`);
        }
      }
    }
    assert.is(problems.length, 0, `\n${problems.slice(0, 60).join('\n')}${problems.length > 60 ? `\n… ${problems.length - 60} more` : ''}`);
  });
}

test('every cell of the matrix was checked', () => {
  const cells = Object.values(CLIENTS).reduce((n, c) => n + c.formats.length, 0) * Object.keys(STRATEGIES).length;
  if (process.env.PAMC_CORPUS_REPORT) console.log(`\nstrategy x type x client: ${matrix.length}/${cells} cells equal to the spec (${COLUMNS.length} types each)`);
  assert.is(matrix.length, cells);
});

test.run();
