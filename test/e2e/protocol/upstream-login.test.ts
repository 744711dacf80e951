// connectUpstream against a real PostgreSQL: every login method, failures, TLS modes; and
// against deliberately hostile fake servers for what a real server never does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { startPostgres, postgresAvailable, postgresUnavailableReason, opensslAvailable, type PostgresServer } from '../../support/postgres-server.ts';
import { freePort } from '../../support/ports.ts';
import { connectUpstream, sendCancel, UpstreamError, type UpstreamOptions } from '../../../runtime/postgres/upstream-connect.ts';
import * as p from '../../../runtime/postgres/protocol/index.ts';
import { WireSession } from '../../support/pg-session.ts';

const available = postgresAvailable();
if (!available) console.log(`e2e protocol login tests skipped: ${postgresUnavailableReason()}`);

let pg: PostgresServer;
const opts = (over: Partial<UpstreamOptions> & { user: string }): UpstreamOptions => ({
  host: pg.host,
  port: pg.port,
  database: pg.database,
  ssl: 'disable',
  ...over,
});

async function rejects(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (e) {
    assert.instance(e, UpstreamError);
    return e as UpstreamError;
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}

test.before(async () => {
  if (available) pg = await startPostgres();
});

for (const method of ['scram', 'md5', 'cleartext', 'trust'] as const) {
  test(`logs in with ${method} and runs a query`, async () => {
    if (!available) return;
    const u = pg.users[method];
    const conn = await connectUpstream(opts({ user: u.user, password: u.password === '' ? undefined : u.password, parameters: { application_name: 'pamc-e2e' } }));
    assert.is(conn.authMethod, { scram: 'scram-sha-256', md5: 'md5', cleartext: 'password', trust: 'trust' }[method]);
    assert.is(conn.transactionStatus, 'I');
    assert.is(conn.tls, false);
    assert.ok(conn.backendKey !== null && conn.backendKey.pid > 0 && conn.backendKey.secret.length === 4);
    assert.ok(conn.parameters.get('server_version')?.startsWith(String(pg.version)));
    assert.is(conn.parameters.get('application_name'), 'pamc-e2e');
    assert.is(conn.parameters.get('client_encoding'), 'UTF8');
    assert.ok(conn.socket.isPaused());
    const s = new WireSession(conn.socket);
    s.send(p.encodeQuery('SELECT current_user, pg_backend_pid()'));
    const msgs = await s.until('ReadyForQuery');
    const row = msgs.find((m) => m.kind === 'DataRow') as unknown as p.DataRow;
    assert.is(row.values[0]!.toString(), u.user);
    assert.is(Number(row.values[1]!.toString()), conn.backendKey!.pid);
    s.close();
  });
}

test('logs in over the Unix socket', async () => {
  if (!available) return;
  const conn = await connectUpstream({ socketPath: pg.socketDir, port: pg.port, user: pg.superuser.user, password: pg.superuser.password, database: pg.database, ssl: 'require' });
  assert.is(conn.tls, false, 'no TLS on Unix sockets, as libpq');
  assert.is(conn.authMethod, 'scram-sha-256');
  conn.socket.destroy();
});

test('a wrong password fails cleanly and the error does not contain it', async () => {
  if (!available) return;
  for (const method of ['scram', 'md5', 'cleartext'] as const) {
    const wrong = `Wr0ng-${method}-p4ssw0rd`;
    const e = await rejects(connectUpstream(opts({ user: pg.users[method].user, password: wrong })));
    assert.is(e.code, 'auth-failed', e.message);
    assert.is(e.sqlstate, '28P01');
    assert.ok(e.message.includes('password authentication failed'), e.message);
    assert.not.ok(e.message.includes(wrong));
    assert.not.ok(JSON.stringify(e.serverError).includes(wrong));
    assert.not.ok(String(e.stack).includes(wrong));
  }
});

test('a password that appears in a server message is scrubbed', async () => {
  if (!available) return;
  // the user name is echoed by the server; a password equal to it must not show
  const e = await rejects(connectUpstream(opts({ user: 'pamc_no_such_user', password: 'pamc_no_such_user' })));
  assert.is(e.code, 'auth-failed');
  assert.not.ok(e.message.includes('pamc_no_such_user'), e.message);
  assert.ok(e.message.includes('[redacted]'));
});

test('an unknown database is a server error with its SQLSTATE', async () => {
  if (!available) return;
  const e = await rejects(connectUpstream(opts({ user: pg.users.scram.user, password: pg.users.scram.password, database: 'no_such_db' })));
  assert.is(e.code, 'server-error');
  assert.is(e.sqlstate, '3D000');
});

test('a missing password when the server asks for one', async () => {
  if (!available) return;
  const e = await rejects(connectUpstream(opts({ user: pg.users.scram.user })));
  assert.is(e.code, 'password-required');
});

test('allowedAuthMethods refuses a server asking for another method', async () => {
  if (!available) return;
  const e = await rejects(connectUpstream(opts({ user: pg.users.cleartext.user, password: pg.users.cleartext.password, allowedAuthMethods: ['scram-sha-256'] })));
  assert.is(e.code, 'auth-method-refused');
  const e2 = await rejects(connectUpstream(opts({ user: pg.users.trust.user, allowedAuthMethods: ['scram-sha-256', 'md5'] })));
  assert.is(e2.code, 'auth-method-refused');
  const ok = await connectUpstream(opts({ user: pg.users.scram.user, password: pg.users.scram.password, allowedAuthMethods: ['scram-sha-256'] }));
  ok.socket.destroy();
});

test('an unreachable port fails fast', async () => {
  if (!available) return;
  const port = await freePort();
  const t0 = Date.now();
  const e = await rejects(connectUpstream({ host: '127.0.0.1', port, user: 'x', password: 'secret-xyz', ssl: 'prefer' }));
  assert.is(e.code, 'connect-failed');
  assert.ok(e.message.includes('ECONNREFUSED'), e.message);
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
});

test('invalid options are typed errors', async () => {
  assert.is((await rejects(connectUpstream({ host: '127.0.0.1', port: 70000, user: 'u' }))).code, 'connect-failed');
  assert.is((await rejects(connectUpstream({ host: '127.0.0.1', port: 5432, user: '' }))).code, 'protocol-error');
  assert.is((await rejects(connectUpstream({ host: '127.0.0.1', user: 'u', ssl: 'sometimes' as 'prefer' }))).code, 'tls-failed');
  await sendCancel('127.0.0.1', 70000, 1, 2).then(
    () => assert.unreachable('expected a rejection'),
    (e: UpstreamError) => assert.is(e.code, 'connect-failed'),
  );
});

test('TLS require against a server with ssl off fails cleanly; prefer falls back', async () => {
  if (!available) return;
  const u = pg.users.scram;
  const e = await rejects(connectUpstream(opts({ user: u.user, password: u.password, ssl: 'require' })));
  assert.is(e.code, 'tls-unavailable');
  for (const mode of ['verify-ca', 'verify-full'] as const) {
    assert.is((await rejects(connectUpstream(opts({ user: u.user, password: u.password, ssl: mode })))).code, 'tls-unavailable');
  }
  const conn = await connectUpstream(opts({ user: u.user, password: u.password, ssl: 'prefer' }));
  assert.is(conn.tls, false);
  conn.socket.destroy();
});

const sslTests = opensslAvailable();
if (!sslTests) console.log('TLS cluster tests skipped: openssl is not installed');

test('TLS modes against a cluster with ssl on (self-signed CA from openssl)', async () => {
  if (!available || !sslTests) return;
  const s = await startPostgres({ ssl: true });
  const u = s.users.scram;
  const base = { host: s.host, port: s.port, user: u.user, password: u.password, database: s.database };
  for (const mode of ['prefer', 'require'] as const) {
    const c = await connectUpstream({ ...base, ssl: mode });
    assert.is(c.tls, true, mode);
    const w = new WireSession(c.socket);
    w.send(p.encodeQuery('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()'));
    const row = (await w.until('ReadyForQuery')).find((m) => m.kind === 'DataRow') as unknown as p.DataRow;
    assert.is(row.values[0]!.toString(), 't');
    w.close();
  }
  for (const mode of ['verify-ca', 'verify-full'] as const) {
    const c = await connectUpstream({ ...base, ssl: { mode, caFile: s.ssl!.caFile } });
    assert.is(c.tls, true, mode);
    c.socket.destroy();
  }
  const byName = await connectUpstream({ ...base, host: 'localhost', ssl: { mode: 'verify-full', ca: s.ssl!.ca } });
  assert.is(byName.tls, true);
  byName.socket.destroy();
  // wrong name, unknown CA, missing CA file: all tls-failed
  const wrongName = await rejects(connectUpstream({ ...base, ssl: { mode: 'verify-full', ca: s.ssl!.ca, servername: 'db.example.com' } }));
  assert.is(wrongName.code, 'tls-failed');
  assert.ok(wrongName.message.includes('ERR_TLS_CERT_ALTNAME_INVALID'), wrongName.message);
  const unknownCa = await rejects(connectUpstream({ ...base, ssl: 'verify-ca' }));
  assert.is(unknownCa.code, 'tls-failed');
  for (const mode of ['prefer', 'verify-ca'] as const) {
    // a missing CA file is a configuration error, never a reason to fall back to plain text
    const noFile = await rejects(connectUpstream({ ...base, ssl: { mode, caFile: '/nonexistent/ca.crt' } }));
    assert.is(noFile.code, 'tls-failed', mode);
  }
  // a wrong password over TLS is still a clean auth failure
  const wrong = await rejects(connectUpstream({ ...base, password: 'not-the-password-42', ssl: 'require' }));
  assert.is(wrong.code, 'auth-failed');
  assert.not.ok(wrong.message.includes('not-the-password-42'));
});

// --- hostile fake servers: what a real server never does ---

async function fakeServer(onStartup: (sock: Socket, startup: p.StartupMessage) => void): Promise<{ port: number; server: Server }> {
  const server = createServer((sock) => {
    const r = new p.FrontendReader();
    sock.on('error', () => {});
    sock.on('data', (chunk) => {
      r.push(chunk);
      for (let m = r.next(); m !== null && m.kind !== 'ProtocolError'; m = r.next()) {
        if (m.type === 0) {
          const s = p.decodeStartupPacket(m.body);
          if (s.kind === 'SSLRequest') sock.write(Buffer.from('N'));
          else if (s.kind === 'StartupMessage') onStartup(sock, s);
        } else sock.emit('pg-message', m);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

const welcome = () => Buffer.concat([p.encodeAuthenticationOk(), p.encodeBackendKeyData(1, 2), p.encodeReadyForQuery('I')]);

test('hostile server: a wrong SCRAM server signature is refused', async () => {
  const { port, server } = await fakeServer((sock) => {
    sock.write(p.encodeAuthentication({ kind: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256'] }));
    sock.on('pg-message', (m: p.Frame) => {
      const body = m.body.toString('latin1');
      if (body.startsWith('SCRAM-SHA-256')) {
        const nonce = /r=([^,]+)/.exec(body)![1]!;
        sock.write(p.encodeAuthentication({ kind: 'AuthenticationSASLContinue', data: Buffer.from(`r=${nonce}srv,s=QSXCR+Q6sek8bf92,i=4096`) }));
      } else {
        sock.write(Buffer.concat([p.encodeAuthentication({ kind: 'AuthenticationSASLFinal', data: Buffer.from(`v=${Buffer.alloc(32, 7).toString('base64')}`) }), welcome()]));
      }
    });
  });
  const e = await rejects(connectUpstream({ host: '127.0.0.1', port, user: 'u', password: 'the-real-password', ssl: 'disable' }));
  assert.is(e.code, 'server-not-verified');
  assert.not.ok(e.message.includes('the-real-password'));
  server.close();
});

test('hostile server: AuthenticationOk before SCRAM finished is refused', async () => {
  const { port, server } = await fakeServer((sock) => {
    sock.write(p.encodeAuthentication({ kind: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256'] }));
    sock.on('pg-message', () => sock.write(welcome()));
  });
  const e = await rejects(connectUpstream({ host: '127.0.0.1', port, user: 'u', password: 'pw', ssl: 'disable' }));
  assert.is(e.code, 'server-not-verified');
  server.close();
});

test('hostile server: only SCRAM-SHA-256-PLUS, or GSS, is refused', async () => {
  for (const ask of [
    p.encodeAuthentication({ kind: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS'] }),
    p.encodeAuthentication({ kind: 'AuthenticationGSS' }),
  ]) {
    const { port, server } = await fakeServer((sock) => sock.write(ask));
    const e = await rejects(connectUpstream({ host: '127.0.0.1', port, user: 'u', password: 'pw', ssl: 'disable' }));
    assert.is(e.code, 'auth-method-refused');
    server.close();
  }
});

test('hostile server: garbage and premature messages are protocol errors', async () => {
  const cases: Buffer[] = [
    Buffer.from([0x52, 0, 0, 0, 2]), // length < 4
    Buffer.concat([p.encodeParameterStatus('a', 'b'), welcome()]), // ParameterStatus before AuthenticationOk
    p.encodeReadyForQuery('I'), // ready without authentication
    Buffer.from([0x51, 0, 0, 0, 4]), // a frontend message type
  ];
  for (const bytes of cases) {
    const { port, server } = await fakeServer((sock) => sock.write(bytes));
    const e = await rejects(connectUpstream({ host: '127.0.0.1', port, user: 'u', password: 'pw', ssl: 'disable' }));
    assert.is(e.code, 'protocol-error', e.message);
    server.close();
  }
});

test('hostile server: bytes after the SSL answer "S" are refused (CVE-2021-23222)', async () => {
  const server = createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => sock.write(Buffer.concat([Buffer.from('S'), p.encodeAuthenticationOk()])));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const e = await rejects(connectUpstream({ host: '127.0.0.1', port, user: 'u', password: 'pw', ssl: 'require' }));
  assert.is(e.code, 'protocol-error');
  server.close();
});

test('a server that never answers times out within the budget', async () => {
  const server = createServer((sock) => sock.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const t0 = Date.now();
  const e = await rejects(connectUpstream({ host: '127.0.0.1', port, user: 'u', password: 'pw', ssl: 'prefer', connectTimeoutMs: 300 }));
  assert.is(e.code, 'timeout');
  assert.ok(Date.now() - t0 < 2000);
  server.close();
});

test('bytes after ReadyForQuery are handed back through the socket, in order', async () => {
  const extra = Buffer.concat([p.buildNotice('00000', 'after ready'), p.encodeParameterStatus('x', 'y').subarray(0, 3)]);
  const { port, server } = await fakeServer((sock) => {
    sock.write(Buffer.concat([welcome(), extra]));
    setTimeout(() => sock.write(p.encodeParameterStatus('x', 'y').subarray(3)), 50);
  });
  const conn = await connectUpstream({ host: '127.0.0.1', port, user: 'u', ssl: 'disable' });
  assert.is(conn.authMethod, 'trust');
  assert.is(conn.bufferedBytes, extra.length);
  assert.ok(conn.socket.isPaused());
  const s = new WireSession(conn.socket);
  const n = await s.next();
  assert.is(n.kind, 'NoticeResponse');
  assert.is((n as unknown as p.NoticeResponse).fields.message, 'after ready');
  const ps = await s.next();
  assert.equal({ ...ps }, { kind: 'ParameterStatus', name: 'x', value: 'y' });
  conn.socket.destroy();
  server.close();
});

test.run();
