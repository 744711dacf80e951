// `limit rows N` (spec/masking.md §7) through the real gateway: the simple protocol outside a
// transaction block (the server's query is cancelled) and inside one (the rest is read and
// dropped), several statements in one query, the extended protocol (Execute rewritten to fetch
// at most N), portals fetched in pieces (node-postgres `rows`, postgres.js cursors, raw
// Executes), SQL cursors fetched in pieces, a write with RETURNING (never cancelled), masks
// and the limit together. The client gets exactly N rows, the notice and a completion, and
// the session goes on in the transaction state the server has.

import { connect } from 'node:net';
import pg from 'pg';
import postgres from 'postgres';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { WireSession, type Decoded } from '../../support/pg-session.ts';
import * as w from '../../support/pgwire-builder.ts';
import { run } from './fixture.ts';

const N = 10;
const NOTICE = new RegExp(`^pamc: result limited to ${N} rows by policy \\(rule policy\\.pam:\\d+:\\d+\\)$`);

const SETUP = `
CREATE TABLE big (g int PRIMARY KEY, secret text);
INSERT INTO big SELECT g, 'secret-' || g FROM generate_series(1, 100) g;
CREATE TABLE sink (g int);
`;

const RULES = `
group "limited" {
  on db {
    allow read on public.*, catalog
    allow insert on public.sink
    limit rows ${N}
  }
}
group "masked" {
  on db {
    allow read on public.*, catalog
    mask public.big.secret with redact
    limit rows ${N}
  }
}`;

const test = suite<{ gw: GatewayFixture }>('masking: row limits');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES });
});
test.after(async ({ gw }) => {
  await gw?.close();
});

async function session(gw: GatewayFixture, group = 'limited'): Promise<WireSession> {
  const socket = connect({ host: gw.host, port: gw.port });
  await new Promise((r) => socket.once('connect', r));
  const s = new WireSession(socket);
  s.send(w.startupMessage([['user', 'agent'], ['database', gw.database]]), w.passwordMessage(await gw.token([group])));
  await s.until('ReadyForQuery');
  return s;
}

/** A transcript without the rows' values: kinds, tags, notices, errors, statuses, row counts. */
function shape(ms: Decoded[]): string[] {
  const out: string[] = [];
  let rows = 0;
  const flush = () => {
    if (rows > 0) out.push(`${rows} rows`);
    rows = 0;
  };
  for (const m of ms) {
    if (m.kind === 'DataRow') {
      rows++;
      continue;
    }
    flush();
    if (m.kind === 'CommandComplete') out.push(`CommandComplete ${m.tag}`);
    else if (m.kind === 'ReadyForQuery') out.push(`ReadyForQuery ${m.status}`);
    else if (m.kind === 'NoticeResponse') out.push(NOTICE.test(m.fields.message) ? 'Notice limit' : `Notice ${m.fields.message}`);
    else if (m.kind === 'ErrorResponse') out.push(`Error ${m.fields.code} ${m.fields.message}`);
    else out.push(m.kind);
  }
  flush();
  return out;
}

const values = (ms: Decoded[]) => ms.filter((m) => m.kind === 'DataRow').map((m) => (m as { values: (Uint8Array | null)[] }).values.map((v) => (v === null ? null : Buffer.from(v).toString())));

test('simple protocol outside a transaction block: N rows, the notice, the query cancelled, the session goes on', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.query('SELECT g FROM generate_series(1, 5000000) g'));
  const first = await s.until('ReadyForQuery');
  assert.equal(shape(first), ['RowDescription', `${N} rows`, 'Notice limit', `CommandComplete SELECT ${N}`, 'ReadyForQuery I']);
  s.send(w.query('SELECT count(*) FROM big'));
  assert.equal(values(await s.until('ReadyForQuery')), [['100']]);
  // the cancellation never reaches the statements that follow, however fast they come
  for (let i = 0; i < 20; i++) {
    s.send(w.query('SELECT g FROM generate_series(1, 200000) g'), w.query('SELECT 1'));
    const a = await s.until('ReadyForQuery');
    const b = await s.until('ReadyForQuery');
    assert.equal(shape(a), ['RowDescription', `${N} rows`, 'Notice limit', `CommandComplete SELECT ${N}`, 'ReadyForQuery I'], `round ${i}`);
    assert.equal(shape(b), ['RowDescription', '1 rows', 'CommandComplete SELECT 1', 'ReadyForQuery I'], `round ${i}`);
  }
  s.close();
});

test('the next statement, sent the moment the limited one is answered, is never the one cancelled', async ({ gw }) => {
  // `big` is answered at once, before the gateway's cancel request reaches the server; a client
  // like psql sends its next statement as soon as it reads ReadyForQuery. That statement waits
  // in the gateway until the server has the cancel, which then finds it idle and ignores it.
  const s = await session(gw);
  for (let i = 0; i < 8; i++) {
    s.send(w.query('SELECT g FROM big ORDER BY g'));
    const first = await s.until('ReadyForQuery');
    assert.equal(shape(first), ['RowDescription', `${N} rows`, 'Notice limit', `CommandComplete SELECT ${N}`, 'ReadyForQuery I'], `round ${i}`);
    s.send(w.query('SELECT count(*) FROM generate_series(1, 300000) g'));
    assert.equal(values(await s.until('ReadyForQuery')), [['300000']], `round ${i}`);
  }
  s.close();
});

test('simple protocol inside a transaction block: the rest is read and dropped, the transaction stays usable', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.query('BEGIN'));
  await s.until('ReadyForQuery');
  s.send(w.query('SELECT g FROM big ORDER BY g'));
  const r = await s.until('ReadyForQuery');
  assert.equal(shape(r), ['RowDescription', `${N} rows`, 'Notice limit', `CommandComplete SELECT ${N}`, 'ReadyForQuery T']);
  assert.equal(values(r).map((v) => v[0]), Array.from({ length: N }, (_, i) => String(i + 1)));
  s.send(w.query('SELECT count(*) FROM big'));
  assert.equal(shape(await s.until('ReadyForQuery')), ['RowDescription', '1 rows', 'CommandComplete SELECT 1', 'ReadyForQuery T']);
  s.send(w.query('COMMIT'));
  assert.equal(shape(await s.until('ReadyForQuery')), ['CommandComplete COMMIT', 'ReadyForQuery I']);
  s.close();
});

test('several statements in one query: each result is limited on its own', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.query("SELECT g FROM big; SELECT g FROM big WHERE g <= 5; SELECT 'x'; SELECT g FROM big WHERE g > 50"));
  assert.equal(shape(await s.until('ReadyForQuery')), [
    'RowDescription',
    `${N} rows`,
    'Notice limit',
    `CommandComplete SELECT ${N}`,
    'RowDescription',
    '5 rows',
    'CommandComplete SELECT 5',
    'RowDescription',
    '1 rows',
    'CommandComplete SELECT 1',
    'RowDescription',
    `${N} rows`,
    'Notice limit',
    `CommandComplete SELECT ${N}`,
    'ReadyForQuery I',
  ]);
  s.close();
});

test('extended protocol: the Execute fetches at most N; a portal fetched in pieces counts together', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.parse('', 'SELECT g FROM big ORDER BY g'), w.bind('', '', [], [], []), w.execute('', 0), w.sync());
  assert.equal(shape(await s.until('ReadyForQuery')), ['ParseComplete', 'BindComplete', `${N} rows`, 'Notice limit', `CommandComplete SELECT ${N}`, 'ReadyForQuery I']);
  s.send(w.query('BEGIN'));
  await s.until('ReadyForQuery');
  s.send(w.parse('st', 'SELECT g FROM big ORDER BY g'), w.bind('p', 'st', [], [], []), w.execute('p', 4), w.execute('p', 4), w.execute('p', 4), w.execute('p', 4), w.sync());
  const r = await s.until('ReadyForQuery');
  assert.equal(shape(r), ['ParseComplete', 'BindComplete', '4 rows', 'PortalSuspended', '4 rows', 'PortalSuspended', '2 rows', 'Notice limit', 'CommandComplete SELECT 2', 'Notice limit', 'CommandComplete SELECT 0', 'ReadyForQuery T']);
  assert.equal(values(r).map((v) => v[0]), Array.from({ length: N }, (_, i) => String(i + 1)));
  s.send(w.query('COMMIT'));
  assert.equal(shape(await s.until('ReadyForQuery')), ['CommandComplete COMMIT', 'ReadyForQuery I']);
  s.close();
});

test('pipelined transactions on one portal name: each Execute counts only its own portal (the last Sync ended the earlier one)', async ({ gw }) => {
  const s = await session(gw);
  const small = () => [w.bind('', '', [], [], []), w.execute('', 0), w.sync()];
  s.send(w.parse('', 'SELECT g FROM big WHERE g <= 3 ORDER BY g'), ...small(), ...small(), w.parse('z', 'SELECT 1/0'), w.bind('', 'z', [], [], []), w.execute('', 0), w.sync(), w.parse('', 'SELECT g FROM big WHERE g <= 4 ORDER BY g'), ...small(), w.parse('', 'SELECT g FROM big ORDER BY g'), ...small());
  const got: string[] = [];
  for (let i = 0; i < 5; i++) got.push(...shape(await s.until('ReadyForQuery')));
  assert.equal(got, [
    'ParseComplete', 'BindComplete', '3 rows', 'CommandComplete SELECT 3', 'ReadyForQuery I',
    'BindComplete', '3 rows', 'CommandComplete SELECT 3', 'ReadyForQuery I',
    'ParseComplete', 'Error 22012 division by zero', 'ReadyForQuery I',
    'ParseComplete', 'BindComplete', '4 rows', 'CommandComplete SELECT 4', 'ReadyForQuery I',
    'ParseComplete', 'BindComplete', `${N} rows`, 'Notice limit', `CommandComplete SELECT ${N}`, 'ReadyForQuery I',
  ]);
  s.close();
});

test('a cursor WITH HOLD read by protocol Execute and by FETCH, across transactions: N rows in all', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.query('BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT g FROM big ORDER BY g; COMMIT'));
  await s.until('ReadyForQuery');
  const got: string[] = [];
  for (let i = 0; i < 3; i++) {
    s.send(w.execute('c', 4), w.sync());
    got.push(...shape(await s.until('ReadyForQuery')));
  }
  s.send(w.query('FETCH 5 FROM c'));
  got.push(...shape(await s.until('ReadyForQuery')));
  assert.equal(got, ['4 rows', 'PortalSuspended', 'ReadyForQuery I', '4 rows', 'PortalSuspended', 'ReadyForQuery I', '2 rows', 'Notice limit', 'CommandComplete SELECT 2', 'ReadyForQuery I', 'RowDescription', 'Notice limit', 'CommandComplete FETCH 0', 'ReadyForQuery I']);
  s.close();
});

test('a protocol portal read by Execute and then by SQL FETCH counts as one result: N rows in all', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.query('BEGIN'));
  await s.until('ReadyForQuery');
  s.send(w.parse('', 'SELECT g FROM big ORDER BY g'), w.bind('pf', '', [], [], []), w.execute('pf', 6), w.sync());
  assert.equal(shape(await s.until('ReadyForQuery')), ['ParseComplete', 'BindComplete', '6 rows', 'PortalSuspended', 'ReadyForQuery T']);
  s.send(w.query('FETCH 3 FROM pf'));
  assert.equal(shape(await s.until('ReadyForQuery')), ['RowDescription', '3 rows', 'CommandComplete FETCH 3', 'ReadyForQuery T']);
  s.send(w.query('FETCH 2 FROM pf'));
  assert.equal(shape(await s.until('ReadyForQuery')), ['RowDescription', '1 rows', 'Notice limit', 'CommandComplete FETCH 1', 'ReadyForQuery T']);
  s.send(w.execute('pf', 0), w.sync());
  assert.equal(shape(await s.until('ReadyForQuery')), ['Notice limit', 'CommandComplete SELECT 0', 'ReadyForQuery T']);
  s.send(w.query('COMMIT'));
  await s.until('ReadyForQuery');
  s.close();
});

test('a DO block is refused for an identity with a row limit: it could send every row as a notice', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.query("DO $$ DECLARE r record; BEGIN FOR r IN SELECT g FROM big LOOP RAISE NOTICE 'row %', r.g; END LOOP; END $$"));
  const out = shape(await s.until('ReadyForQuery'));
  assert.equal(out.filter((l) => l.startsWith('Notice row')), [], 'no row came as a notice');
  assert.equal(out.length, 2, out.join(' | '));
  assert.match(out[0], /^Error 42501 pamc: permission denied: DO blocks are refused for an identity with a row limit \(10 rows\)/);
  s.send(w.query('SELECT 1 AS one'));
  assert.equal(shape(await s.until('ReadyForQuery')), ['RowDescription', '1 rows', 'CommandComplete SELECT 1', 'ReadyForQuery I']);
  s.close();
});

test('SQL cursors: FETCHes of one cursor count together, MOVE reads nothing', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.query('BEGIN; DECLARE c SCROLL CURSOR FOR SELECT g FROM big ORDER BY g'));
  await s.until('ReadyForQuery');
  const got: string[][] = [];
  for (const q of ['FETCH 4 FROM c', 'FETCH 4 FROM c', 'MOVE 10 IN c', 'FETCH 4 FROM c', 'FETCH 4 FROM c']) {
    s.send(w.query(q));
    got.push(shape(await s.until('ReadyForQuery')));
  }
  assert.equal(got, [
    ['RowDescription', '4 rows', 'CommandComplete FETCH 4', 'ReadyForQuery T'],
    ['RowDescription', '4 rows', 'CommandComplete FETCH 4', 'ReadyForQuery T'],
    ['CommandComplete MOVE 10', 'ReadyForQuery T'],
    ['RowDescription', '2 rows', 'Notice limit', 'CommandComplete FETCH 2', 'ReadyForQuery T'],
    ['RowDescription', 'Notice limit', 'CommandComplete FETCH 0', 'ReadyForQuery T'],
  ]);
  // a new cursor starts again
  s.send(w.query('CLOSE c; DECLARE c CURSOR FOR SELECT g FROM big; FETCH 3 FROM c; COMMIT'));
  assert.equal(shape(await s.until('ReadyForQuery')), ['CommandComplete CLOSE CURSOR', 'CommandComplete DECLARE CURSOR', 'RowDescription', '3 rows', 'CommandComplete FETCH 3', 'CommandComplete COMMIT', 'ReadyForQuery I']);
  s.close();
});

test('a write with RETURNING is never cancelled: every row is written, N come back', async ({ gw }) => {
  const s = await session(gw);
  s.send(w.query('INSERT INTO sink SELECT g FROM generate_series(1, 5000) g RETURNING g'));
  assert.equal(shape(await s.until('ReadyForQuery')), ['RowDescription', `${N} rows`, 'Notice limit', `CommandComplete INSERT 0 ${N}`, 'ReadyForQuery I']);
  s.close();
  assert.is((await gw.direct('SELECT count(*) FROM sink')).trim(), '5000');
});

test('node-postgres: extended protocol, and a portal read in pieces of 3 (rows)', async ({ gw }) => {
  const client = new pg.Client(await gw.clientConfig(['limited']));
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(n.message ?? ''));
  await client.connect();
  const a = await client.query('SELECT g FROM big WHERE g > $1 ORDER BY g', [0]);
  assert.is(a.rows.length, N);
  const b = await client.query({ text: 'SELECT g FROM big ORDER BY g', rows: 3 } as pg.QueryConfig);
  assert.is(b.rows.length, N);
  assert.equal(
    b.rows.map((r) => r.g),
    Array.from({ length: N }, (_, i) => i + 1),
  );
  await client.query('BEGIN');
  const c = await client.query({ text: 'SELECT g FROM big ORDER BY g', rows: 4 } as pg.QueryConfig);
  assert.is(c.rows.length, N);
  assert.is((await client.query('SELECT 1 AS one')).rows[0].one, 1);
  await client.query('COMMIT');
  assert.is(notices.filter((n) => NOTICE.test(n)).length, 3);
  await client.end();
});

test('postgres.js: a cursor in batches of 4, masks and the limit together', async ({ gw }) => {
  const c = await gw.clientConfig(['masked']);
  const notices: string[] = [];
  const sql = postgres({ host: c.host, port: c.port, database: c.database, username: c.user, password: c.password, max: 1, onnotice: (n) => notices.push(n.message) });
  const rows: { g: number; secret: string }[] = [];
  await sql.begin(async (tx) => {
    for await (const batch of tx`SELECT g, secret FROM big ORDER BY g`.cursor(4)) rows.push(...(batch as unknown as { g: number; secret: string }[]));
  });
  assert.equal(
    rows.map((r) => r.g),
    Array.from({ length: N }, (_, i) => i + 1),
  );
  assert.ok(rows.every((r) => r.secret === '***'));
  const all = await sql`SELECT g, secret FROM big`;
  assert.is(all.length, N);
  assert.ok(notices.some((n) => NOTICE.test(n)));
  await sql.end();
});

test('psql: the rows, the notice on stderr, and the next statement in the same session', async ({ gw }) => {
  const r = await run('psql', [gw.conninfo(), '-X', '-q', '-A', '-t', '-c', 'SELECT g FROM big ORDER BY g', '-c', 'SELECT count(*) FROM big'], { env: { ...process.env, PGPASSWORD: await gw.token(['limited']) } });
  assert.equal(r.stdout.trim().split('\n'), [...Array.from({ length: N }, (_, i) => String(i + 1)), '100']);
  assert.match(r.stderr, /NOTICE:\s+pamc: result limited to 10 rows by policy/);
});

test.run();
