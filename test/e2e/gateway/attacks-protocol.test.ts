// Attacks on the wire protocol, with a raw socket: a whole session's bytes split at every
// byte and all coalesced must give the same answers; oversized and malformed messages end
// that one connection with FATAL 08P01 while the gateway serves everyone else; bytes smuggled
// after SSLRequest are refused; startup parameters that would set server settings are refused.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { WireSession } from '../../support/pg-session.ts';
import { SHOP_RULES, SHOP_SETUP } from './shop.ts';
import { drain, firstError, login, loginBytes, open, render, text, w } from './wire.ts';

const run = promisify(execFile);
const test = suite<{ gw: GatewayFixture }>('attacks: protocol');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

/** A session that uses most of the protocol: simple and extended queries, denials, errors, a transaction. */
function script(): Buffer {
  return Buffer.concat([
    w.query('SELECT id, status FROM orders WHERE id <= 2 ORDER BY id'),
    w.query('SELECT * FROM secrets'),
    w.parse('s1', 'SELECT status, amount FROM orders WHERE id = $1'),
    w.bind('', 's1', [0], [text('3')], [0]),
    w.describe('P', ''),
    w.execute('', 0),
    w.sync(),
    w.parse('', 'DELETE FROM secrets'),
    w.bind('', '', [], [], []),
    w.execute('', 0),
    w.sync(),
    w.query("BEGIN; UPDATE orders SET note = 'x' WHERE id = 1; SELECT note FROM orders WHERE id = 1"),
    w.query('SELECT * FROM secrets'),
    w.query('SELECT 1'),
    w.query('ROLLBACK'),
    w.query('SELECT 1/0'),
    w.bind('p', 's1', [0], [text('4')], [1]),
    w.execute('p', 0),
    w.close('S', 's1'),
    w.sync(),
    w.parse('', "SELECT 'tail'"),
    w.bind('', '', [], [], []),
    w.execute('', 0),
    w.flush(),
    w.sync(),
    w.terminate(),
  ]);
}

async function transcript(gw: GatewayFixture, bytes: Buffer, chunking: 'coalesced' | 'bytewise'): Promise<string[]> {
  const socket = await open(gw);
  const s = new WireSession(socket);
  if (chunking === 'coalesced') socket.write(bytes);
  else {
    for (let i = 0; i < bytes.length; i++) {
      socket.write(bytes.subarray(i, i + 1));
      // let the gateway read each byte on its own
      await new Promise((r) => setImmediate(r));
    }
  }
  return render(await drain(s)).filter((m) => !m.startsWith('ParameterStatus') && m !== 'BackendKeyData');
}

test('a session split at every byte and all coalesced: the same answers, the right ones', async ({ gw }) => {
  const bytes = Buffer.concat([loginBytes(gw, await gw.token(['clerks'])), script()]);
  const whole = await transcript(gw, bytes, 'coalesced');
  const split = await transcript(gw, bytes, 'bytewise');
  assert.equal(split, whole);
  const denied = 'ErrorResponse ERROR 42501 pamc: permission denied: no rule allows select on public.secrets';
  const binaryRow = whole.findIndex((m) => m.startsWith('DataRow new|\u0000'));
  assert.ok(binaryRow > 0, 'a DataRow with binary values');
  assert.equal(
    whole.map((m, i) => (i === binaryRow ? 'DataRow (binary)' : m)),
    [
      'AuthenticationCleartextPassword',
      'AuthenticationOk',
      'ReadyForQuery I',
      'RowDescription id,status',
      'DataRow 1|new',
      'DataRow 2|new',
      'CommandComplete SELECT 2',
      'ReadyForQuery I',
      denied,
      'ReadyForQuery I',
      'ParseComplete',
      'BindComplete',
      'RowDescription status,amount',
      'DataRow new|4.50',
      'CommandComplete SELECT 1',
      'ReadyForQuery I',
      'ErrorResponse ERROR 42501 pamc: permission denied: no rule allows delete on public.secrets',
      'ReadyForQuery I',
      'CommandComplete BEGIN',
      'CommandComplete UPDATE 1',
      'RowDescription note',
      'DataRow x',
      'CommandComplete SELECT 1',
      'ReadyForQuery T',
      denied,
      'ReadyForQuery E',
      'ErrorResponse ERROR 25P02 current transaction is aborted, commands ignored until end of transaction block',
      'ReadyForQuery E',
      'CommandComplete ROLLBACK',
      'ReadyForQuery I',
      'ErrorResponse ERROR 22012 division by zero',
      'ReadyForQuery I',
      'BindComplete',
      'DataRow (binary)',
      'CommandComplete SELECT 1',
      'CloseComplete',
      'ReadyForQuery I',
      'ParseComplete',
      'BindComplete',
      'DataRow tail',
      'CommandComplete SELECT 1',
      'ReadyForQuery I',
    ],
  );
  assert.is((await gw.direct('SELECT count(*) FROM secrets')).trim(), '1');
  assert.is((await gw.direct('SELECT note FROM orders WHERE id = 1')).trim(), '');
});

test('COPY through the extended protocol with a Sync right behind it (as libpq sends): one ReadyForQuery per answered Sync', async ({ gw }) => {
  const s = await login(gw, ['clerks']);
  s.send(w.parse('', 'COPY orders (id, status) FROM STDIN'), w.bind('', '', [], [], []), w.execute('', 0), w.sync());
  assert.equal(render(await s.until('CopyInResponse')), ['ParseComplete', 'BindComplete', 'CopyInResponse']);
  s.send(w.copyData(text('900\tcopied\n')), w.copyDone(), w.sync(), w.query('SELECT count(*) FROM orders WHERE id = 900'));
  assert.equal(render(await s.until('ReadyForQuery')), ['CommandComplete COPY 1', 'ReadyForQuery I']);
  assert.equal(render(await s.until('ReadyForQuery')), ['RowDescription count', 'DataRow 1', 'CommandComplete SELECT 1', 'ReadyForQuery I']);
  s.send(w.parse('', "COPY (SELECT id FROM orders WHERE id = 900) TO STDOUT"), w.bind('', '', [], [], []), w.execute('', 0), w.sync());
  const out = render(await s.until('ReadyForQuery'));
  assert.equal(out, ['ParseComplete', 'BindComplete', 'CopyOutResponse', 'CopyData', 'CopyDone', 'CommandComplete COPY 1', 'ReadyForQuery I']);
  s.close();
});

async function fatalOf(gw: GatewayFixture, bytes: Buffer[], loggedIn = true): Promise<{ severity: string; code: string; message: string } | null> {
  const s = loggedIn ? await login(gw, ['clerks']) : new WireSession(await open(gw));
  for (const b of bytes) s.send(b);
  return firstError(await drain(s));
}

/** The gateway still serves: a session opened before and a new one both work. */
async function stillServing(gw: GatewayFixture, before: pg.Client): Promise<void> {
  assert.equal((await before.query('SELECT count(*)::int AS n FROM orders WHERE id <= 100')).rows, [{ n: 100 }]);
  const c = new pg.Client(await gw.clientConfig(['clerks']));
  await c.connect();
  assert.equal((await c.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
  await c.end();
}

const header = (type: string, length: number) => Buffer.from([type.charCodeAt(0), length >>> 24, (length >>> 16) & 255, (length >>> 8) & 255, length & 255]);

test('oversized messages: FATAL 08P01 for that connection only', async ({ gw }) => {
  const other = new pg.Client(await gw.clientConfig(['clerks']));
  other.on('error', () => {});
  await other.connect();
  const cases: [string, Buffer[], boolean][] = [
    ['a Query of 64 MiB + 1', [header('Q', 64 * 1024 * 1024 + 1)], true],
    ['a Bind of 1 GiB', [header('B', 1 << 30)], true],
    ['a Sync of 20,000 bytes', [header('S', 20_000)], true],
    ['a startup packet of 20,000 bytes', [Buffer.from([0, 0, 0x4e, 0x20, 0, 3, 0, 0])], false],
    ['a password message of 70,000 bytes', [w.startupMessage([['user', 'agent'], ['database', gw.database]]), header('p', 70_000)], false],
  ];
  for (const [name, bytes, loggedIn] of cases) {
    const e = await fatalOf(gw, bytes, loggedIn);
    assert.is(e?.severity, 'FATAL', name);
    assert.is(e?.code, '08P01', name);
    assert.match(e?.message ?? '', /exceeds the limit/, name);
  }
  await stillServing(gw, other);
  await other.end();
});

test('malformed messages: FATAL 08P01 for that connection only', async ({ gw }) => {
  const other = new pg.Client(await gw.clientConfig(['clerks']));
  other.on('error', () => {});
  await other.connect();
  const cases: [string, Buffer[]][] = [
    ['an unknown message type', [w.message('z', [1, 2, 3])]],
    ['a length below 4', [header('Q', 2)]],
    ['a Query without its terminator', [w.message('Q', text('SELECT 1'))]],
    ['a Bind announcing parameters it does not carry', [w.parse('x', 'SELECT $1::int'), w.message('B', [0], text('x'), [0], [0, 0], [0, 5])]],
    ['a Parse with a truncated parameter type list', [w.message('P', [0], text('SELECT 1'), [0], [0, 3], [0, 0])]],
    ['an Execute with a short body', [w.message('E', [0], [0])]],
    ['a Describe of an unknown kind', [w.message('D', [0x58], [0])]],
    ['a password message after the startup', [w.passwordMessage('again')]],
    ['invalid UTF-8 in a Query', [w.message('Q', [0x53, 0x45, 0x4c, 0xc3, 0x28, 0])]],
    ['a FunctionCall with a short body', [w.message('F', [0, 0])]],
    ['a FunctionCall announcing arguments it does not carry', [w.message('F', [0, 0, 3, 0xfd], [0, 0], [0, 2], [0, 0, 0, 1], [0x31])]],
  ];
  for (const [name, bytes] of cases) {
    const e = await fatalOf(gw, bytes);
    assert.is(e?.severity, 'FATAL', name);
    assert.is(e?.code, '08P01', name);
  }
  await stillServing(gw, other);
  await other.end();
});

test('a session that prepares without end is refused past 32 MiB (54000) and goes on; what it deallocates it may use again', async ({ gw }) => {
  const s = await login(gw, ['analysts']);
  const big = (i: number) => `SELECT ${i} AS n, '${'x'.repeat(500_000)}' AS pad`; // under the 1 MiB text limit; 1 MB each as the gateway counts UTF-16
  const codes: (string | null)[] = [];
  for (let i = 0; i < 35; i++) {
    s.send(w.parse(`big${i}`, big(i)), w.sync());
    const got = await s.until('ReadyForQuery', 30_000);
    const e = got.find((m) => m.kind === 'ErrorResponse') as { fields: { code: string; message: string } } | undefined;
    codes.push(e?.fields.code ?? null);
    if (e) assert.match(e.fields.message, 'would hold more prepared statements and portals than the gateway allows (32 MiB', JSON.stringify(e.fields));
  }
  assert.equal(codes, [...Array(33).fill(null), '54000', '54000']);
  // SQL PREPARE too
  s.send(w.query(`PREPARE more AS ${big(99)}`));
  const prep = firstError(await s.until('ReadyForQuery', 30_000));
  assert.match(prep?.message ?? '', 'would hold more prepared statements');
  // the session goes on: reads work, and what is deallocated makes room
  s.send(w.close('S', 'big0'), w.close('S', 'big1'), w.sync());
  await s.until('ReadyForQuery');
  s.send(w.parse('big33', big(33)), w.bind('', 'big33', [], [], []), w.execute('', 0), w.sync());
  assert.equal(render(await s.until('ReadyForQuery', 30_000)).filter((l) => !l.startsWith('DataRow')), ['ParseComplete', 'BindComplete', 'CommandComplete SELECT 1', 'ReadyForQuery I']);
  s.close();
});

test('parameter types a Parse declares count against the bound too: a small Parse declaring 32,767 of them is refused in time', async ({ gw }) => {
  // a 128 KiB Parse whose types the gateway keeps (an approval covers them): 256 KiB held each
  const s = await login(gw, ['analysts']);
  const sql = 'SELECT $1::text AS n';
  const types = Array(32_767).fill(25);
  const held = 1024 + 2 * sql.length + 8 * types.length;
  const fits = Math.floor((32 * 1024 * 1024) / held);
  let accepted = 0;
  let refusal: { code: string; message: string } | undefined;
  for (let i = 0; i < fits + 2 && !refusal; i++) {
    s.send(w.parse(`typed${i}`, sql, types), w.sync());
    refusal = (await s.until('ReadyForQuery', 30_000)).find((m) => m.kind === 'ErrorResponse')?.fields as typeof refusal;
    if (!refusal) accepted++;
  }
  assert.is(accepted, fits, 'every statement up to the bound, and not one more');
  assert.is(refusal?.code, '54000');
  assert.match(refusal!.message, 'would hold more prepared statements and portals than the gateway allows (32 MiB');
  s.close();
});

test('bytes sent after SSLRequest before the answer are refused (CVE-2021-23214)', async ({ gw }) => {
  const socket = await open(gw);
  const received: Buffer[] = [];
  socket.on('data', (d) => received.push(d));
  const closed = new Promise((r) => socket.on('close', r));
  socket.write(Buffer.concat([w.sslRequest(), w.startupMessage([['user', 'agent'], ['database', gw.database]])]));
  await closed;
  const all = Buffer.concat(received);
  assert.is(String.fromCharCode(all[0]), 'E', 'an error, not an answer to the request');
  assert.match(all.toString('latin1'), /08P01/);
  assert.match(all.toString('latin1'), /unencrypted data after an encryption request/);
});

test('SSLRequest without TLS configured → N; GSSENCRequest → N; the startup goes on', async ({ gw }) => {
  for (const request of [w.sslRequest(), w.gssEncRequest()]) {
    const socket = await open(gw);
    const first = new Promise<Buffer>((r) => socket.once('data', r));
    socket.write(request);
    assert.is((await first).toString('latin1'), 'N');
    const s = new WireSession(socket);
    s.send(loginBytes(gw, await gw.token(['clerks'])), w.query('SELECT 42'));
    const msgs = render(await s.until('DataRow'));
    assert.ok(msgs.includes('DataRow 42'));
    s.close();
  }
});

test('startup parameters that set server settings are refused', async ({ gw }) => {
  const token = await gw.token(['clerks']);
  const psql = (conninfo: string, env: Record<string, string> = {}) =>
    run('psql', [conninfo, '-X', '-At', '-c', 'SHOW search_path'], { env: { ...process.env, PGPASSWORD: token, ...env } }).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
  assert.match(await psql(gw.conninfo("options='-c search_path=evil'")), /FATAL:\s+pamc: the startup parameter "options" is refused/);
  assert.match(await psql(gw.conninfo('options=-csession_replication_role=replica')), /FATAL:\s+pamc: the startup parameter "options" is refused/);
  assert.match(await psql(gw.conninfo(), { PGCLIENTENCODING: 'SJIS' }), /FATAL:\s+pamc: client encoding "SJIS" is not supported/);
  assert.match(await psql(gw.conninfo('replication=database')), /FATAL:\s+pamc: replication connections are refused/);
  assert.match(await psql(gw.conninfo().replace(/dbname=\S+/, 'dbname=postgres')), /FATAL:\s+pamc: database "postgres" is not served here/);
  const raw = async (params: [string, string][]) => fatalOf(gw, [loginBytes(gw, token, params)], false);
  assert.match((await raw([['session_authorization', 'postgres']]))?.message ?? '', /startup parameter "session_authorization" is refused/);
  assert.match((await raw([['role', 'postgres']]))?.message ?? '', /startup parameter "role" is refused/);
  assert.match((await raw([['search_path', 'evil']]))?.message ?? '', /pins search_path/);
  assert.match((await raw([['standard_conforming_strings', 'off']]))?.message ?? '', /standard_conforming_strings must stay on/);
  assert.match((await raw([['_pq_.evil', 'x'], ['x_made_up', 'y']]))?.message ?? '', /is refused/);
  assert.match((await raw([['user', 'again']]))?.message ?? '', /.+/);
  // harmless ones pass and reach the server
  const s = await login(gw, ['clerks'], [['application_name', 'agent-7'], ['DateStyle', 'ISO, DMY']]);
  s.send(w.query("SELECT current_setting('application_name'), current_setting('DateStyle'), current_setting('search_path')"));
  assert.ok(render(await s.until('ReadyForQuery')).includes('DataRow agent-7|ISO, DMY|public'));
  s.close();
});

test.run();
