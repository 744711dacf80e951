// The encoders and decoders against a real PostgreSQL: simple and extended queries, binary
// results, COPY both ways, notices, notifications, errors, FunctionCall, protocol version
// negotiation, cancel; md5 and SCRAM (with SASLprep) checked against what the server stores.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { startPostgres, postgresAvailable, postgresUnavailableReason, type PostgresServer, type PgUser } from '../../support/postgres-server.ts';
import { connectUpstream, sendCancel, UpstreamError } from '../../../runtime/postgres/upstream-connect.ts';
import * as p from '../../../runtime/postgres/protocol/index.ts';
import { WireSession, decodeBackendMessage, type Decoded } from '../../support/pg-session.ts';

const available = postgresAvailable();
if (!available) console.log(`e2e protocol query tests skipped: ${postgresUnavailableReason()}`);

let pg: PostgresServer;

async function session(user: PgUser = pg.users.scram): Promise<{ s: WireSession; pid: number; secret: Buffer }> {
  const conn = await connectUpstream({ host: pg.host, port: pg.port, user: user.user, password: user.password || undefined, database: pg.database, ssl: 'disable' });
  return { s: new WireSession(conn.socket), pid: conn.backendKey!.pid, secret: conn.backendKey!.secret };
}

const kinds = (ms: Decoded[]) => ms.map((m) => m.kind);
const rows = (ms: Decoded[]) => ms.filter((m): m is p.DataRow => m.kind === 'DataRow').map((r) => r.values.map((v) => (v === null ? null : v.toString())));
const firstOf = <K extends Decoded['kind']>(ms: Decoded[], kind: K) => ms.find((m) => m.kind === kind) as Decoded & { kind: K };

test.before(async () => {
  if (available) pg = await startPostgres();
});

test('simple query: RowDescription with table OIDs, DataRows with NULL, CommandComplete, ReadyForQuery', async () => {
  if (!available) return;
  const { s } = await session();
  s.send(p.encodeQuery("CREATE TABLE IF NOT EXISTS wire_people (id int PRIMARY KEY, name text, email varchar(40)); TRUNCATE wire_people; INSERT INTO wire_people VALUES (1, 'Ann', 'ann@example.com'), (2, NULL, 'żółw@example.com')"));
  const setup = await s.until('ReadyForQuery');
  assert.equal(kinds(setup).filter((k) => k === 'CommandComplete').length, 3);
  assert.is(firstOf(setup, 'ReadyForQuery').status, 'I');
  assert.equal(p.parseCommandTag((setup.filter((m) => m.kind === 'CommandComplete').pop() as p.CommandComplete).tag), { command: 'INSERT', rows: 2, oid: 0 });

  s.send(p.encodeQuery('SELECT id, name, email AS e, lower(email) FROM wire_people ORDER BY id'));
  const ms = await s.until('ReadyForQuery');
  assert.equal(kinds(ms), ['RowDescription', 'DataRow', 'DataRow', 'CommandComplete', 'ReadyForQuery']);
  const rd = firstOf(ms, 'RowDescription');
  const oid = Number(await pg.psql("SELECT 'wire_people'::regclass::oid"));
  assert.equal(rd.fields.map((f) => [f.name, f.tableOid, f.columnNumber, f.typeOid, f.typeSize, f.typeModifier, f.format]), [
    ['id', oid, 1, 23, 4, -1, 0],
    ['name', oid, 2, 25, -1, -1, 0],
    ['e', oid, 3, 1043, -1, 44, 0], // varchar(40): typmod = 40 + 4
    ['lower', 0, 0, 25, -1, -1, 0], // an expression loses its origin
  ]);
  assert.equal(rows(ms), [['1', 'Ann', 'ann@example.com', 'ann@example.com'], ['2', null, 'żółw@example.com', 'żółw@example.com']]);
  assert.is(firstOf(ms, 'CommandComplete').tag, 'SELECT 2');

  s.send(p.encodeQuery(''));
  assert.equal(kinds(await s.until('ReadyForQuery')), ['EmptyQueryResponse', 'ReadyForQuery']);
  s.send(p.encodeQuery('BEGIN'));
  assert.is(firstOf(await s.until('ReadyForQuery'), 'ReadyForQuery').status, 'T');
  s.send(p.encodeQuery('SELECT 1/0'));
  const err = await s.until('ReadyForQuery');
  const e = firstOf(err, 'ErrorResponse').fields;
  assert.is(e.code, '22012');
  assert.is(e.severity, 'ERROR');
  assert.is(e.severityNonLocalized, 'ERROR');
  assert.is(e.message, 'division by zero');
  assert.ok(e.file !== undefined && e.line !== undefined && e.routine !== undefined);
  assert.is(firstOf(err, 'ReadyForQuery').status, 'E');
  s.send(p.encodeQuery('ROLLBACK'));
  assert.is(firstOf(await s.until('ReadyForQuery'), 'ReadyForQuery').status, 'I');
  s.close();
});

test('extended protocol: Parse/Bind/Describe/Execute/Sync, text and binary, named statements, portals', async () => {
  if (!available) return;
  const { s } = await session();
  s.send(
    p.encodeParse('', 'SELECT $1::int + 1 AS n, $2::text AS t, $3::text AS nothing', [23, 25]),
    p.encodeBind({ params: ['41', 'héllo', null] }),
    p.encodeDescribe('P'),
    p.encodeExecute(),
    p.encodeSync(),
  );
  const ms = await s.until('ReadyForQuery');
  assert.equal(kinds(ms), ['ParseComplete', 'BindComplete', 'RowDescription', 'DataRow', 'CommandComplete', 'ReadyForQuery']);
  assert.equal(rows(ms), [['42', 'héllo', null]]);

  // named statement, Describe S, binary parameters and results
  const w = new p.Writer();
  p.writeParse(w, 'stmt1', 'SELECT $1::int8 * 2 AS doubled, $2::bytea AS b', []);
  p.writeDescribe(w, 'S', 'stmt1');
  p.writeSync(w);
  s.send(w.toBuffer());
  const d = await s.until('ReadyForQuery');
  assert.equal(kinds(d), ['ParseComplete', 'ParameterDescription', 'RowDescription', 'ReadyForQuery']);
  assert.equal(firstOf(d, 'ParameterDescription').types, [20, 17]);
  const eight = Buffer.alloc(8);
  eight.writeBigInt64BE(21n);
  s.send(p.encodeBind({ statement: 'stmt1', paramFormats: [1], params: [eight, Buffer.from([0, 1, 255])], resultFormats: [1] }), p.encodeExecute(), p.encodeSync());
  const bin = await s.until('ReadyForQuery');
  const row = firstOf(bin, 'DataRow');
  assert.is(row.values[0]!.readBigInt64BE(0), 42n);
  assert.is(row.values[1]!.toString('hex'), '0001ff');

  // a portal read in pieces: PortalSuspended, then the rest
  s.send(
    p.encodeQuery('BEGIN'),
  );
  await s.until('ReadyForQuery');
  s.send(
    p.encodeParse('', 'SELECT g FROM generate_series(1, 5) g'),
    p.encodeBind({ portal: 'cur' }),
    p.encodeExecute('cur', 2),
    p.encodeExecute('cur', 2),
    p.encodeExecute('cur', 0),
    p.encodeClose('P', 'cur'),
    p.encodeSync(),
  );
  const portal = await s.until('ReadyForQuery');
  assert.equal(kinds(portal), [
    'ParseComplete', 'BindComplete', 'DataRow', 'DataRow', 'PortalSuspended', 'DataRow', 'DataRow', 'PortalSuspended', 'DataRow',
    'CommandComplete', 'CloseComplete', 'ReadyForQuery',
  ]);
  assert.is(firstOf(portal, 'ReadyForQuery').status, 'T');
  s.send(p.encodeQuery('COMMIT'), p.encodeClose('S', 'stmt1'), p.encodeSync());
  const closing = await s.until('ReadyForQuery');
  assert.is(firstOf(closing, 'ReadyForQuery').status, 'I');
  await s.until('ReadyForQuery');

  // an error in the extended protocol: everything up to Sync is skipped, one ReadyForQuery
  s.send(p.encodeParse('', 'SELEC 1'), p.encodeBind({}), p.encodeExecute(), p.encodeSync(), p.encodeParse('', 'SELECT 1'), p.encodeDescribe('S'), p.encodeFlush());
  const bad = await s.until('ReadyForQuery');
  assert.equal(kinds(bad), ['ErrorResponse', 'ReadyForQuery']);
  assert.is(firstOf(bad, 'ErrorResponse').fields.code, '42601');
  assert.is(firstOf(bad, 'ErrorResponse').fields.position, '1');
  const flushed = [await s.next(), await s.next(), await s.next()];
  assert.equal(kinds(flushed), ['ParseComplete', 'ParameterDescription', 'RowDescription']);
  s.send(p.encodeSync());
  await s.until('ReadyForQuery');
  s.close();
});

test('COPY out and in', async () => {
  if (!available) return;
  const { s } = await session();
  s.send(p.encodeQuery('COPY (SELECT g, md5(g::text) FROM generate_series(1, 3) g) TO STDOUT'));
  const out = await s.until('ReadyForQuery');
  assert.equal(kinds(out), ['CopyOutResponse', 'CopyData', 'CopyData', 'CopyData', 'CopyDone', 'CommandComplete', 'ReadyForQuery']);
  assert.equal(firstOf(out, 'CopyOutResponse'), { kind: 'CopyOutResponse', format: 0, columnFormats: [0, 0] });
  assert.is((out[1] as p.CopyData).data.toString(), '1\tc4ca4238a0b923820dcc509a6f75849b\n');
  assert.is(firstOf(out, 'CommandComplete').tag, 'COPY 3');

  s.send(p.encodeQuery('CREATE TEMP TABLE wire_copy (a int, b text); COPY wire_copy FROM STDIN'));
  const start = await s.until('CopyInResponse');
  assert.equal(firstOf(start, 'CopyInResponse').columnFormats, [0, 0]);
  s.send(p.encodeCopyData(Buffer.from('1\tone\n2\t')), p.encodeCopyData(Buffer.from('two\n')), p.encodeCopyDone());
  const done = await s.until('ReadyForQuery');
  assert.is(firstOf(done, 'CommandComplete').tag, 'COPY 2');
  s.send(p.encodeQuery('COPY wire_copy FROM STDIN'));
  await s.until('CopyInResponse');
  s.send(p.encodeCopyData(Buffer.from('3\tthree\n')), p.encodeCopyFail('client gave up'));
  const failed = await s.until('ReadyForQuery');
  assert.is(firstOf(failed, 'ErrorResponse').fields.code, '57014');
  assert.ok(firstOf(failed, 'ErrorResponse').fields.message.includes('client gave up'));
  s.send(p.encodeQuery('SELECT count(*) FROM wire_copy'));
  assert.equal(rows(await s.until('ReadyForQuery')), [['2']]);
  // binary COPY
  s.send(p.encodeQuery('COPY wire_copy TO STDOUT (FORMAT binary)'));
  const bin = await s.until('ReadyForQuery');
  assert.equal(firstOf(bin, 'CopyOutResponse'), { kind: 'CopyOutResponse', format: 1, columnFormats: [1, 1] });
  assert.is((bin[1] as p.CopyData).data.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
  s.close();
});

test('notices, notifications, ParameterStatus while running', async () => {
  if (!available) return;
  const { s, pid } = await session();
  s.send(p.encodeQuery("DO $$ BEGIN RAISE NOTICE 'careful: %', 42 USING HINT = 'a hint', DETAIL = 'some detail'; END $$"));
  const n = await s.until('ReadyForQuery');
  const notice = firstOf(n, 'NoticeResponse').fields;
  assert.equal([notice.severity, notice.code, notice.message, notice.detail, notice.hint], ['NOTICE', '00000', 'careful: 42', 'some detail', 'a hint']);
  assert.ok(notice.where?.includes('PL/pgSQL'));
  s.send(p.encodeQuery("LISTEN wire_jobs; NOTIFY wire_jobs, 'done é'; SET application_name = 'renamed'"));
  const l = await s.until('ReadyForQuery');
  assert.equal({ ...firstOf(l, 'NotificationResponse') }, { kind: 'NotificationResponse', pid, channel: 'wire_jobs', payload: 'done é' });
  assert.equal({ ...firstOf(l, 'ParameterStatus') }, { kind: 'ParameterStatus', name: 'application_name', value: 'renamed' });
  s.close();
});

test('FunctionCall and FunctionCallResponse', async () => {
  if (!available) return;
  const { s } = await session();
  const oid = Number(await pg.psql("SELECT 'int4pl(int4,int4)'::regprocedure::oid"));
  const a = Buffer.alloc(4);
  a.writeInt32BE(40);
  const b = Buffer.alloc(4);
  b.writeInt32BE(2);
  s.send(p.encodeFunctionCall({ functionOid: oid, argFormats: [1], args: [a, b], resultFormat: 1 }));
  const r = await s.until('ReadyForQuery');
  assert.equal(kinds(r), ['FunctionCallResponse', 'ReadyForQuery']);
  assert.is(firstOf(r, 'FunctionCallResponse').value!.readInt32BE(0), 42);
  s.send(p.encodeFunctionCall({ functionOid: oid, args: [Buffer.from('1'), null] }));
  const nul = await s.until('ReadyForQuery');
  assert.is(firstOf(nul, 'FunctionCallResponse').value, null, 'int4pl is strict: NULL in, NULL out');
  s.close();
});

test('sendCancel cancels a running pg_sleep (57014)', async () => {
  if (!available) return;
  const { s, pid, secret } = await session();
  const t0 = Date.now();
  s.send(p.encodeQuery('SELECT pg_sleep(10)'));
  await new Promise((r) => setTimeout(r, 200));
  await sendCancel(pg.host, pg.port, pid, secret);
  const ms = await s.until('ReadyForQuery');
  const e = firstOf(ms, 'ErrorResponse').fields;
  assert.is(e.code, '57014');
  assert.is(e.message, 'canceling statement due to user request');
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  // a wrong key cancels nothing
  s.send(p.encodeQuery('SELECT pg_sleep(0.5)'));
  await sendCancel(pg.host, pg.port, pid, secret.readInt32BE(0) ^ 1);
  assert.not.ok(kinds(await s.until('ReadyForQuery')).includes('ErrorResponse'));
  // over the Unix socket too
  s.send(p.encodeQuery('SELECT pg_sleep(10)'));
  await new Promise((r) => setTimeout(r, 200));
  await sendCancel('', pg.port, pid, secret, { socketPath: pg.socketDir });
  assert.is(firstOf(await s.until('ReadyForQuery'), 'ErrorResponse').fields.code, '57014');
  s.close();
});

test('a startup asking for protocol 3.2 with options gets NegotiateProtocolVersion from the real server', async () => {
  if (!available) return;
  const sock = connect({ host: pg.host, port: pg.port });
  await new Promise((r) => sock.once('connect', r));
  const reader = new p.BackendReader();
  const got: Decoded[] = [];
  let serverBytes = Buffer.alloc(0);
  const first = new Promise<void>((resolve) => {
    sock.on('data', (c) => {
      serverBytes = Buffer.concat([serverBytes, c]);
      reader.push(c);
      for (let m = reader.next(); m !== null && m.kind !== 'ProtocolError'; m = reader.next()) {
        got.push(decodeBackendMessage(m.type, m.body) as Decoded);
        if (m.type === p.BackendMessageType.Authentication) resolve();
      }
    });
  });
  sock.write(p.encodeStartupMessage({ user: pg.users.trust.user, database: pg.database }, { minor: 2, protocolOptions: [['_pq_.pamc_test', 'on']] }));
  await first;
  sock.destroy();
  // the real server puts the whole version (3.0 = 196608) where the docs say "newest minor version"
  assert.equal({ ...got[0] }, { kind: 'NegotiateProtocolVersion', newestMinor: 0, version: 196608, unrecognizedOptions: ['_pq_.pamc_test'] });
  // and our encoder produces exactly what the server sent
  const v = p.encodeNegotiateProtocolVersion(0, ['_pq_.pamc_test']);
  assert.is(p.decodeNegotiateProtocolVersion(v.subarray(5)).kind, 'NegotiateProtocolVersion');
  assert.is(serverBytes.subarray(0, v.length).toString('hex'), v.toString('hex'));
  assert.is(got[1]?.kind, 'AuthenticationOk');
});

test('md5: the stored hash is md5(password + user); SCRAM verifiers are what the client derives', async () => {
  if (!available) return;
  const stored = await pg.psql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${pg.users.md5.user}'`);
  assert.is(stored, p.md5PasswordHash(pg.users.md5.user, pg.users.md5.password));
  const scram = await pg.psql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${pg.users.scram.user}'`);
  assert.match(scram, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
});

test('SASLprep: passwords with Unicode log in exactly as the server prepared them', async () => {
  if (!available) return;
  const passwords: [string, string][] = [
    ['nbsp', 'pass\u00a0word é'], // non-ASCII space → space
    ['softhyphen', 'pa\u00adss é'], // mapped to nothing
    ['zwsp', 'pa\u200bss é'], // in both C.1.2 and B.1: PostgreSQL maps it to a space
    ['nfkc', '\u2168 \u00aa ﬁ'], // compatibility characters
    ['compose', 'cafe\u0301'], // decomposed é
    ['prohibited', 'pass\ue000é'], // private use: raw bytes
    ['bidi', '\u0627\u0031'], // bidi violation: raw bytes
    ['ascii_ctrl', 'pass\u0007word'], // pure ASCII: untouched
    ['emoji', 'p🐢ss é'],
    ['only_mapped', '\u00ad'], // maps to the empty string
  ];
  const sql: string[] = [];
  for (const [name, pw] of passwords) {
    sql.push(`DROP ROLE IF EXISTS pamc_prep_${name};`, `CREATE ROLE pamc_prep_${name} LOGIN PASSWORD '${pw.replace(/'/g, "''")}';`);
  }
  await pg.psql(sql.join('\n'));
  for (const [name, pw] of passwords) {
    try {
      const c = await connectUpstream({ host: pg.host, port: pg.port, user: `pamc_prep_${name}`, password: pw, database: pg.database, ssl: 'disable' });
      c.socket.destroy();
    } catch (e) {
      assert.unreachable(`login with the ${name} password failed: ${(e as UpstreamError).message}`);
    }
    // and a near miss must fail
    const e = await connectUpstream({ host: pg.host, port: pg.port, user: `pamc_prep_${name}`, password: `${pw}x`, database: pg.database, ssl: 'disable' }).then(
      () => null,
      (err: UpstreamError) => err,
    );
    assert.is(e?.code, 'auth-failed', name);
  }
});

test('a real session\'s bytes, replayed split at every byte boundary, give the same messages', async () => {
  if (!available) return;
  const { s } = await session();
  s.send(p.encodeQuery("SELECT g, repeat('x', g * 10), NULL FROM generate_series(1, 20) g; SELECT 1/0"));
  await s.until('ReadyForQuery');
  s.send(p.encodeParse('', 'SELECT $1::text'), p.encodeBind({ params: ['a'] }), p.encodeDescribe('P'), p.encodeExecute(), p.encodeSync());
  await s.until('ReadyForQuery');
  const stream = Buffer.concat(s.chunks);
  s.close();
  const collect = (chunks: Buffer[]) => {
    const r = new p.BackendReader();
    const out: string[] = [];
    for (const c of chunks) {
      r.push(c);
      for (let m = r.next(); m !== null; m = r.next()) {
        if (m.kind === 'ProtocolError') throw new Error(m.message);
        out.push(m.raw.toString('hex'));
      }
    }
    assert.is(r.end(), null);
    return out;
  };
  const want = collect([stream]);
  assert.ok(want.length > 25);
  assert.is(want.join(''), stream.toString('hex'));
  for (let i = 1; i < stream.length; i++) {
    const got = collect([stream.subarray(0, i), stream.subarray(i)]);
    if (got.join('|') !== want.join('|')) assert.unreachable(`split at ${i} differs`);
  }
});

test.run();
