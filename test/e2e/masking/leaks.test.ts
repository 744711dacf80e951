// The leak corpus (corpus.ts) through the real gateway, against a real PostgreSQL, with real
// clients: psql, node-postgres (text and binary results), postgres.js (executions without a
// Describe), and on a subset psycopg 3 (binary results) and pgjdbc (binary after its fifth
// execution). Every byte the gateway sends a client passes through a byte tap; no raw secret
// (as text, and numeric secrets also as int4, int8 and numeric binary) may be among them.
// Each case must also end the way spec/masking.md says: answered masked, refused (42501) for
// the spec's reason, or the server's error with its text withheld.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { startByteTap, type ByteTap } from '../../support/byte-tap.ts';
import { WireSession, type Decoded } from '../../support/pg-session.ts';
import * as w from '../../support/pgwire-builder.ts';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { clientIdent, CORPUS, type CorpusClient, type Fixture, type LeakCase } from './corpus.ts';
import { CLIENT_PROGRAMS, describeOutcome, JDBC_JAR, jsonLines, leaks, PYTHON, RULES, runWithInput, SETUP, TARGET_SETTINGS, viaNodePostgres, viaPostgresJs, viaPsql, type ClientEnv, type Outcome } from './fixture.ts';

const WITHHELD = 'pamc: the error text is withheld because it could quote masked values';
const CLIENTS: CorpusClient[] = ['psql', 'pg', 'pg-binary', 'postgres.js'];

interface Env extends ClientEnv {
  kind: Fixture;
}

const test = suite<{ envs: Record<Fixture, Env> }>('masking: the leak corpus');

test.before(async (ctx) => {
  const kinds: Fixture[] = ['default', 'copy', 'strict'];
  // The first fixture starts the shared server; the others then start side by side.
  const first = await startGateway({ setup: SETUP, rules: RULES, targetSettings: TARGET_SETTINGS.default });
  const rest = await Promise.all(kinds.slice(1).map((k) => startGateway({ setup: SETUP, rules: RULES, targetSettings: TARGET_SETTINGS[k], server: first.pg })));
  const gws: GatewayFixture[] = [first, ...rest];
  ctx.envs = {} as Record<Fixture, Env>;
  for (const [i, kind] of kinds.entries()) {
    const gw = gws[i];
    const tap: ByteTap = await startByteTap({ host: gw.host, port: gw.port });
    ctx.envs[kind] = { kind, gw, tap, token: await gw.token(['masked']) };
  }
});

test.after(async ({ envs }) => {
  for (const e of Object.values(envs ?? {})) {
    await e.tap.close();
    await e.gw.close();
  }
});

/** One result per case and client, for the summary. */
const results: { c: LeakCase; client: string; outcome: Outcome; hits: string[]; problem: string | null }[] = [];

function problemWith(c: LeakCase, o: Outcome, client: string): string | null {
  if (c.expect === 'masked') {
    if (o.kind !== 'ok') return `expected a masked answer, got ${describeOutcome(o)}`;
    if (client === 'psql') for (const s of c.shows ?? []) if (!o.text.includes(s)) return `the output lacks ${JSON.stringify(s)}: ${o.text.slice(0, 400)}`;
    return null;
  }
  if (c.expect === 'refused') {
    if (o.kind !== 'refused') return `expected a refusal, got ${describeOutcome(o)}`;
    if (c.reason && !c.reason.test(o.message)) return `refused for another reason: ${o.message}`;
    return null;
  }
  if (o.kind !== 'error') return `expected the server's error (${String(c.code)}), got ${describeOutcome(o)}`;
  const codeOk = typeof c.code === 'string' ? o.code === c.code : c.code ? c.code.test(o.code) : true;
  if (!codeOk) return `expected SQLSTATE ${String(c.code)}, got ${o.code} ${o.message}`;
  if (!o.message.includes(WITHHELD)) return `the error text was not withheld: ${o.message}`;
  return null;
}

async function runCase(env: Env, c: LeakCase, client: CorpusClient): Promise<void> {
  const steps = c.steps.map((s) => s.replaceAll('$C', clientIdent(client)));
  env.tap.reset();
  const bg = c.background ? env.gw.direct(c.background).catch(() => '') : null;
  if (bg) await new Promise((r) => setTimeout(r, 300));
  let outcome: Outcome;
  switch (client) {
    case 'psql':
      outcome = await viaPsql(env, steps);
      break;
    case 'pg':
      outcome = await viaNodePostgres(env, steps);
      break;
    case 'pg-binary':
      outcome = await viaNodePostgres(env, steps, { binary: true });
      break;
    case 'postgres.js':
      outcome = await viaPostgresJs(env, steps);
      break;
  }
  await env.tap.settled();
  const hits = leaks(env.tap.serverBytes());
  if (bg) await bg;
  results.push({ c, client, outcome, hits: hits.map((h) => `${h.label} at ${h.offset}: …${h.context}…`), problem: problemWith(c, outcome, client) });
}

for (const client of CLIENTS) {
  test(`${client}: no masked value reaches the client, and each case ends as the spec says`, async ({ envs }) => {
    const mine = CORPUS.filter((c) => (c.clients ?? CLIENTS).includes(client));
    for (const c of mine) await runCase(envs[c.fixture ?? 'default'], c, client);
    const bad = results.filter((r) => r.client === client && (r.hits.length > 0 || r.problem));
    const lines = bad.map((r) => `${r.c.id}: ${r.hits.length > 0 ? `LEAK ${r.hits.join('; ')}` : ''}${r.problem ? ` ${r.problem}` : ''}`);
    assert.is(lines.length, 0, `\n${lines.join('\n')}`);
  });
}

interface DriverResult {
  id: string;
  error?: { code: string | null; message: string; type?: string };
}

/** The single-statement SELECTs of the corpus that the driver programs run. */
const driverCases = () => CORPUS.filter((c) => c.drivers && (c.fixture ?? 'default') === 'default' && c.steps.length === 1);

async function driverRun(env: Env, name: string, runIt: (queries: { id: string; sql: string }[]) => Promise<DriverResult[]>): Promise<string[]> {
  const cases = driverCases();
  env.tap.reset();
  const got = await runIt(cases.map((c) => ({ id: c.id, sql: c.steps[0] })));
  await env.tap.settled();
  const problems: string[] = [];
  if (got.length !== cases.length) problems.push(`${name}: ${got.length} results for ${cases.length} queries`);
  // one connection per query, in order: the tap tells them apart
  env.tap.connections.forEach((conn, i) => {
    const hits = leaks(Buffer.concat(conn.fromServer));
    if (hits.length > 0) problems.push(`${cases[i]?.id ?? `connection ${i}`}: LEAK ${hits.map((h) => `${h.label}: …${h.context}…`).join('; ')}`);
  });
  for (const r of got) {
    const c = cases.find((x) => x.id === r.id);
    if (r.error) problems.push(`${r.id}: ${name} failed (${r.error.type ?? ''} ${r.error.code ?? ''}): ${r.error.message}`);
    if (c) results.push({ c, client: name, outcome: r.error ? { kind: 'error', code: r.error.code ?? '?', message: r.error.message } : { kind: 'ok', text: JSON.stringify(r) }, hits: [], problem: null });
  }
  return problems;
}

test('psycopg 3: text, then binary results after it prepares the statement, on the driver subset', async ({ envs }) => {
  const env = envs.default;
  const problems = await driverRun(env, 'psycopg', async (queries) => {
    const dsn = `host=${env.tap.host} port=${env.tap.port} dbname=${env.gw.database} user=agent sslmode=disable password=${env.token}`;
    const out = await runWithInput(PYTHON, [`${CLIENT_PROGRAMS}psycopg3_queries.py`], JSON.stringify({ dsn, queries }));
    return jsonLines<DriverResult>(out);
  });
  assert.is(problems.length, 0, `\n${problems.join('\n')}`);
});

test('asyncpg: named statements it prepares and caches, binary results of every type, on the driver subset', async ({ envs }) => {
  const env = envs.default;
  const problems = await driverRun(env, 'asyncpg', async (queries) => {
    const out = await runWithInput(PYTHON, [`${CLIENT_PROGRAMS}asyncpg_queries.py`], JSON.stringify({ host: env.tap.host, port: env.tap.port, database: env.gw.database, password: env.token, queries }));
    return jsonLines<DriverResult>(out);
  });
  assert.is(problems.length, 0, `\n${problems.join('\n')}`);
});

test('pgjdbc: seven runs of each prepared statement (binary and no Describe after the fifth), on the driver subset', async ({ envs }) => {
  const env = envs.default;
  const problems = await driverRun(env, 'pgjdbc', async (queries) => {
    const url = `jdbc:postgresql://${env.tap.host}:${env.tap.port}/${env.gw.database}`;
    const out = await runWithInput('java', ['-cp', JDBC_JAR, `${CLIENT_PROGRAMS}JdbcQueries.java`, url, env.token], queries.map((q) => JSON.stringify(q)).join('\n') + '\n');
    return jsonLines<DriverResult>(out);
  });
  assert.is(problems.length, 0, `\n${problems.join('\n')}`);
});

// ---------------------------------------------------------------------------------------------
// Protocol paths, byte by byte: pipelines that reuse names, executions without a Describe,
// binary formats chosen at Bind, portals run in pieces, several results in one query.

async function wire(env: Env, run: (s: WireSession) => Promise<void>): Promise<{ messages: Decoded[]; hits: string[] }> {
  env.tap.reset();
  const socket = connect({ host: env.tap.host, port: env.tap.port });
  await new Promise((r) => socket.once('connect', r));
  const s = new WireSession(socket);
  s.send(w.startupMessage([['user', 'agent'], ['database', env.gw.database]]), w.passwordMessage(env.token));
  await s.until('ReadyForQuery');
  const messages: Decoded[] = [];
  const orig = s.until.bind(s);
  s.until = async (kind: string, timeoutMs?: number) => {
    const got = await orig(kind, timeoutMs);
    messages.push(...got);
    return got;
  };
  await run(s);
  s.close();
  await env.tap.settled();
  return { messages, hits: leaks(env.tap.serverBytes()).map((h) => `${h.label}: …${h.context}…`) };
}

const rowsOf = (ms: Decoded[]) => ms.filter((m) => m.kind === 'DataRow').map((m) => (m as { values: (Uint8Array | null)[] }).values.map((v) => (v === null ? null : Buffer.from(v))));
/** The rows as text (NULL as null). */
const textRows = (ms: Decoded[]) => rowsOf(ms).map((r) => r.map((v) => v?.toString() ?? null));
/** Masked columns read through expressions (no column origin in the RowDescription to fall back on). */
const DERIVED_SECRETS = "SELECT id, upper(ssn), email || '' FROM customers ORDER BY id";
/** The same shape reading nothing masked: what an agent parses to have the secret one masked as it. */
const HARMLESS = 'SELECT id, name, name FROM customers ORDER BY id';
const P = (sql: string, name = '') => w.parse(name, sql);
const B = (portal = '', statement = '', formats: number[] = []) => w.bind(portal, statement, [], [], formats);

test('wire: the unnamed statement parsed again in one pipeline, executed with and without Describe', async ({ envs }) => {
  const { messages, hits } = await wire(envs.default, async (s) => {
    s.send(P('SELECT name FROM customers ORDER BY id'), B(), w.describe('P', ''), w.execute('', 0), P('SELECT upper(ssn), salary + 1 FROM customers ORDER BY id'), B(), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    // again, each Parse behind the other's Bind, no Describe at all
    s.send(P('SELECT id FROM customers ORDER BY id'), B(), w.execute('', 0), P("SELECT email || '', phone FROM customers ORDER BY id"), B(), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  const rows = textRows(messages);
  assert.equal(rows.slice(3, 5), [
    ['***', '0'],
    ['***', '0'],
  ]);
  assert.equal(rows.slice(9, 11), [
    ['***', '***********0142'],
    ['***', '************0958'],
  ]);
});

test('wire: a Parse that fails (42P05 for a name in use) or is skipped after an error leaves the earlier statement, and the Bind behind the Sync runs it masked', async ({ envs }) => {
  const { messages, hits } = await wire(envs.default, async (s) => {
    s.send(P(DERIVED_SECRETS, 's1'), w.sync());
    await s.until('ReadyForQuery');
    // with and without a Describe of the portal
    for (const describe of [[], [w.describe('P', '')]]) {
      s.send(P(HARMLESS, 's1'), w.sync(), B('', 's1'), ...describe, w.execute('', 0), w.sync());
      await s.until('ReadyForQuery');
      await s.until('ReadyForQuery');
    }
    // the unnamed statement: a Parse behind an error in its pipeline is skipped, not run
    s.send(P(DERIVED_SECRETS), B(), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    s.send(P('SELECT 1/0', 'z'), B('', 'z'), w.execute('', 0), P(HARMLESS), w.sync(), B(), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  const errors = messages.filter((m) => m.kind === 'ErrorResponse').map((m) => (m as { fields: { code: string } }).fields.code);
  assert.equal(errors, ['42P05', '42P05', '22012']);
  const rows = textRows(messages);
  assert.is(rows.length, 12);
  for (let i = 0; i < 12; i += 3) assert.equal(rows.slice(i, i + 2), [['1', '***', '***'], ['2', '***', '***']]);
});

test('wire: a DECLARE run behind a refused Parse of its name declares the earlier cursor, and FETCH from it is masked', async ({ envs }) => {
  const { messages, hits } = await wire(envs.default, async (s) => {
    s.send(P(`DECLARE c1 CURSOR WITH HOLD FOR ${DERIVED_SECRETS}`, 'd1'), w.sync());
    await s.until('ReadyForQuery');
    s.send(P(`DECLARE c1 CURSOR WITH HOLD FOR ${HARMLESS}`, 'd1'), w.sync(), B('', 'd1'), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    await s.until('ReadyForQuery');
    s.send(w.query('FETCH 2 FROM c1'));
    await s.until('ReadyForQuery');
    s.send(w.query('CLOSE c1'));
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  assert.equal(textRows(messages), [['1', '***', '***'], ['2', '***', '***']]);
});

test('wire: a statement or cursor created again by SQL in a query that a Bind or Execute is pipelined behind runs masked as what the server then holds', async ({ envs }) => {
  const { messages, hits } = await wire(envs.default, async (s) => {
    s.send(P(HARMLESS, 's2'), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query(`DEALLOCATE s2; PREPARE s2 AS ${DERIVED_SECRETS}`), B('', 's2'), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    await s.until('ReadyForQuery');
    s.send(w.query(`DECLARE c2 CURSOR WITH HOLD FOR ${HARMLESS}`));
    await s.until('ReadyForQuery');
    s.send(w.query(`CLOSE c2; DECLARE c2 CURSOR WITH HOLD FOR ${DERIVED_SECRETS}`), w.execute('c2', 2), w.sync());
    await s.until('ReadyForQuery');
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  assert.equal(messages.filter((m) => m.kind === 'ErrorResponse'), []);
  const rows = textRows(messages);
  assert.equal(rows, [['1', '***', '***'], ['2', '***', '***'], ['3', null, null], ['1', '***', '***'], ['2', '***', '***']]);
});

test('wire: a protocol portal read by Execute, then by SQL FETCH after MOVE, is masked both ways', async ({ envs }) => {
  const { messages, hits } = await wire(envs.default, async (s) => {
    s.send(w.query('BEGIN'));
    await s.until('ReadyForQuery');
    s.send(P(DERIVED_SECRETS, 'pm'), B('pm', 'pm'), w.execute('pm', 1), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query('FETCH 1 FROM pm'));
    await s.until('ReadyForQuery');
    s.send(w.query('MOVE 0 IN pm; FETCH FORWARD 2 FROM pm'));
    await s.until('ReadyForQuery');
    s.send(w.query('COMMIT'));
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  assert.equal(messages.filter((m) => m.kind === 'ErrorResponse'), []);
  assert.equal(textRows(messages), [['1', '***', '***'], ['2', '***', '***'], ['3', null, null]]);
});

test('wire: two statements bound in turn to one portal name, binary results chosen at Bind after a statement Describe', async ({ envs }) => {
  const { messages, hits } = await wire(envs.default, async (s) => {
    s.send(P('SELECT id, name FROM customers WHERE id = 1', 's1'), P('SELECT salary, balance, ssn, upper(ssn) FROM customers WHERE id = 1', 's2'), w.describe('S', 's2'), w.sync());
    await s.until('ReadyForQuery');
    s.send(B('', 's1'), w.execute('', 0), B('', 's2', [1]), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  const rows = rowsOf(messages);
  assert.equal(rows[0].map((v) => v?.toString()), ['1', 'Ann']);
  // binary: int4 0, int8 from the HMAC (8 bytes, not the value), text '***' in both columns
  assert.equal(rows[1][0], Buffer.alloc(4));
  assert.is(rows[1][1]?.length, 8);
  assert.equal(rows[1].slice(2).map((v) => v?.toString()), ['***', '***']);
});

test('wire: a portal fetched in pieces (PortalSuspended), several results in one simple query', async ({ envs }) => {
  const { messages, hits } = await wire(envs.default, async (s) => {
    s.send(w.query('BEGIN'));
    await s.until('ReadyForQuery');
    s.send(P("SELECT ssn || '', email FROM customers ORDER BY id", 'piece'), B('p', 'piece'), w.execute('p', 1), w.execute('p', 1), w.execute('p', 5), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query('COMMIT; SELECT ssn FROM customers; SELECT upper(email), id FROM customers; SELECT 1 AS one'));
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  assert.is(messages.filter((m) => m.kind === 'PortalSuspended').length, 2);
  assert.equal(textRows(messages), [
    ['***', 'q***@corp-example.net'],
    ['***', 'z***@mailbox-example.org'],
    [null, null],
    ['***'],
    ['***'],
    [null],
    ['***', '1'],
    ['***', '2'],
    [null, '3'],
    ['1'],
  ]);
});

test('wire: an error at Execute is withheld and the pipeline skips to Sync', async ({ envs }) => {
  const { messages, hits } = await wire(envs.default, async (s) => {
    s.send(P('SELECT ssn::int FROM customers'), B(), w.execute('', 0), P('SELECT 1'), B(), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query('SELECT 2 AS two'));
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  const err = messages.find((m) => m.kind === 'ErrorResponse') as { fields: { code: string; message: string; detail?: string } };
  assert.equal([err.fields.code, err.fields.message, err.fields.detail], ['22P02', 'pamc: the error text is withheld because it could quote masked values', undefined]);
  assert.equal(rowsOf(messages).map((r) => r.map((v) => v?.toString())), [['2']]);
});

test('summary: the corpus has at least 60 statements, and every outcome is reported', () => {
  assert.ok(CORPUS.length >= 60, `only ${CORPUS.length} cases`);
  const byCategory = new Map<string, { refused: number; masked: number; error: number }>();
  for (const c of CORPUS) {
    const row = byCategory.get(c.category) ?? { refused: 0, masked: 0, error: 0 };
    row[c.expect]++;
    byCategory.set(c.category, row);
  }
  const total = { refused: 0, masked: 0, error: 0 };
  const lines = [...byCategory].map(([k, v]) => {
    total.refused += v.refused;
    total.masked += v.masked;
    total.error += v.error;
    return `  ${k.padEnd(18)} masked ${v.masked}  refused ${v.refused}  error withheld ${v.error}`;
  });
  if (process.env.PAMC_CORPUS_REPORT) {
    console.log(`\nleak corpus: ${CORPUS.length} cases, ${results.length} client runs\n${lines.join('\n')}\n  total: masked ${total.masked}, refused ${total.refused}, error withheld ${total.error}`);
  }
  assert.ok(results.every((r) => r.hits.length === 0));
});

test('wire: names the server cuts to their first 63 bytes are one name, whether they come by protocol or by SQL', async ({ envs }) => {
  const long = (tail: string, stem = 'n') => `${stem.repeat(63)}${tail}`;
  const { messages, hits } = await wire(envs.default, async (s) => {
    // statements: closed by a protocol alias, then parsed again under another
    s.send(P(HARMLESS, long('X')), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.close('S', long('Y')), P(DERIVED_SECRETS, long('Z')), w.sync());
    await s.until('ReadyForQuery');
    s.send(B('', long('X')), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    // a protocol name dropped and made again by SQL (the parser cuts the identifier to 63 bytes)
    s.send(P(HARMLESS, long('Q', 'm')), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query(`DEALLOCATE ${long('anything', 'm')}; PREPARE ${long('else', 'm')} AS ${DERIVED_SECRETS}`));
    await s.until('ReadyForQuery');
    s.send(B('', long('Q', 'm')), w.execute('', 0), w.sync());
    await s.until('ReadyForQuery');
    // portals, in a transaction: bound, closed by an alias, bound again to the secrets
    s.send(w.query('BEGIN'));
    await s.until('ReadyForQuery');
    s.send(P(HARMLESS, 'h'), P(DERIVED_SECRETS, 'd'), B(long('1', 'p'), 'h'), w.close('P', long('2', 'p')), B(long('3', 'p'), 'd'), w.execute(long('1', 'p'), 0), w.sync());
    await s.until('ReadyForQuery');
    s.send(w.query(`CLOSE ${long('4', 'p')}; DECLARE ${long('5', 'p')} CURSOR FOR ${DERIVED_SECRETS}`));
    await s.until('ReadyForQuery');
    s.send(w.query(`FETCH 2 FROM ${long('6', 'p')}`));
    await s.until('ReadyForQuery');
    s.send(w.query('COMMIT'));
    await s.until('ReadyForQuery');
  });
  assert.equal(hits, []);
  assert.equal(messages.filter((m) => m.kind === 'ErrorResponse'), []);
  const rows = textRows(messages);
  assert.is(rows.length, 11);
  for (const r of rows) if (r[0] !== '3') assert.equal(r.slice(1), ['***', '***'], JSON.stringify(rows));
});

test('wire: errors of statements that change data quote whole rows: withheld, also at the commit that checks deferred constraints', async ({ envs }) => {
  // a deferred check that quotes the row it rejects, as a constraint or a trigger may
  await envs.default.gw.direct(`CREATE FUNCTION quote_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'rejected %', NEW; END $$;
    CREATE CONSTRAINT TRIGGER quote_at_commit AFTER UPDATE ON customers DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.note = 'quote') EXECUTE FUNCTION quote_row()`);
  try {
    const { messages, hits } = await wire(envs.default, async (s) => {
      const q = async (sql: string) => {
        s.send(w.query(sql));
        await s.until('ReadyForQuery');
      };
      // NOT NULL: "Failing row contains (1, null, <email>, <ssn>, …)"
      await q('UPDATE customers SET name = NULL WHERE id = 1');
      s.send(P('UPDATE customers SET name = $1 WHERE id = $2'), w.bind('', '', [], [null, [...Buffer.from('2')]], []), w.execute('', 0), w.sync());
      await s.until('ReadyForQuery');
      // DDL that computes on masked values, or builds a unique index over them (storing them elsewhere is refused: the next test)
      await q('CREATE INDEX ON customers ((ssn::int))');
      await q('CREATE UNIQUE INDEX ON customers ((left(ssn, 0)))');
      await q('ALTER TABLE customers ADD CONSTRAINT ssn_numeric CHECK (ssn::int > 0)');
      // deferred: at COMMIT, at the implicit commit after the last statement of a query, at Sync
      await q('BEGIN');
      await q("UPDATE customers SET note = 'quote' WHERE id = 1");
      await q('COMMIT');
      await q("UPDATE customers SET note = 'quote' WHERE id = 2; SELECT 1 AS one");
      s.send(P("UPDATE customers SET note = 'quote' WHERE id = 1"), B(), w.execute('', 0), w.sync());
      await s.until('ReadyForQuery');
      // once the transaction is over, errors of reads of unmasked data are the server's again,
      // and a transaction that only reads does not withhold them
      await q('SELECT 1/0');
      await q('BEGIN');
      await q('SELECT 1/0');
      await q('ROLLBACK');
    });
    assert.equal(hits, []);
    const errors = messages.filter((m) => m.kind === 'ErrorResponse').map((m) => (m as { fields: { code: string; message: string; detail?: string } }).fields);
    assert.equal(
      errors.map((f) => [f.code, f.message, f.detail]),
      [
        ...['23502', '23502', '22P02', '23505', '22P02', 'P0001', 'P0001', 'P0001'].map((code) => [code, WITHHELD, undefined]),
        ['22012', 'division by zero', undefined],
        ['22012', 'division by zero', undefined],
      ],
    );
  } finally {
    await envs.default.gw.direct('DROP TRIGGER quote_at_commit ON customers; DROP FUNCTION quote_row()');
  }
});

/** Waits until the gateway's catalog snapshot is current (after DDL, statements are untraceable until it is). */
async function catalogLoaded(s: WireSession): Promise<void> {
  for (let i = 0; i < 100; i++) {
    s.send(w.query('SELECT ssn FROM customers WHERE id = 1'));
    const rows = textRows(await s.until('ReadyForQuery'));
    if (rows[0]?.[0] === '***') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the catalog snapshot did not load');
}

test('wire: DDL that would store masked values in columns without masks is refused; rows a rule returns for an INSERT are masked', async ({ envs }) => {
  const env = envs.default;
  // a rule the owner made: the INSERT answers with the rule's SELECT
  await env.gw.direct('CREATE RULE insert_answers AS ON INSERT TO scratch DO INSTEAD SELECT ssn, 1::bigint AS n FROM customers');
  try {
    const { messages, hits } = await wire(env, async (s) => {
      await catalogLoaded(s);
      for (const q of [
        'ALTER TABLE customers ADD COLUMN ssn_copy text GENERATED ALWAYS AS (ssn) STORED',
        "ALTER TABLE customers ADD COLUMN tail text GENERATED ALWAYS AS (right(email, 12) || '') STORED",
        'ALTER TABLE customers ALTER COLUMN note TYPE text USING ssn',
        'CREATE RULE copies AS ON UPDATE TO customers DO ALSO INSERT INTO scratch (t) SELECT ssn FROM customers',
        "INSERT INTO scratch VALUES ('x', 1)",
      ]) {
        s.send(w.query(q));
        await s.until('ReadyForQuery');
      }
    });
    assert.equal(hits, []);
    const errors = messages.filter((m) => m.kind === 'ErrorResponse').map((m) => (m as { fields: { code: string; message: string } }).fields);
    assert.equal(
      errors.map((f) => f.message),
      [
        'pamc: permission denied: the statement copies masked column public.customers.ssn into other data',
        'pamc: permission denied: the statement copies masked column public.customers.email into other data',
        'pamc: permission denied: the statement copies masked column public.customers.ssn into other data',
        'pamc: permission denied: the statement writes values the gateway cannot trace (a rule runs its actions inside other statements)',
      ],
    );
    assert.equal(textRows(messages).slice(-3), [[null, null], [null, null], [null, null]]);
  } finally {
    await env.gw.direct('DROP RULE insert_answers ON scratch');
  }
});

test.run();
