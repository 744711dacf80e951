// TLS on the client side of the gateway, with a throwaway certificate: SSLRequest → 'S' and a
// handshake (psql, node-postgres), direct TLS with ALPN `postgresql` (PostgreSQL 17's
// sslnegotiation=direct; psql 15 cannot, so a hand-built startup over Node's tls.connect), and
// `tls require` refusing plaintext from a non-loopback address while loopback may go plain.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isLoopback } from '../../../runtime/postgres/gateway/frontend.ts';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { WireSession } from '../../support/pg-session.ts';
import { expectError, run, SHOP_RULES, SHOP_SETUP } from './shop.ts';
import { loginBytes, render, w } from './wire.ts';

/** The machine's first non-loopback IPv4 address, if it has one. */
function otherAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

const test = suite<{ gw: GatewayFixture; dir: string }>('TLS');

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'pamc-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=pamc-test', '-keyout', join(ctx.dir, 'key.pem'), '-out', join(ctx.dir, 'cert.pem')], { stdio: 'ignore' });
  ctx.gw = await startGateway({
    setup: SHOP_SETUP,
    rules: SHOP_RULES,
    targetSettings: `tls require cert "${join(ctx.dir, 'cert.pem')}" key file "${join(ctx.dir, 'key.pem')}"`,
    listenHost: otherAddress() ? '0.0.0.0' : '127.0.0.1',
  });
});
test.after(async (ctx) => {
  await ctx.gw.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

test('psql with sslmode=require: SSLRequest, TLS, the session works', async ({ gw }) => {
  const r = await run('psql', [gw.conninfo().replace('sslmode=disable', 'sslmode=require'), '-X', '-At', '-c', 'SELECT count(*) FROM orders', '-c', '\\conninfo'], {
    env: { ...process.env, PGPASSWORD: await gw.token(['clerks']) },
  });
  assert.match(r.stdout, /^100$/m);
  assert.match(r.stdout, /SSL connection \(protocol: TLSv1\.[23]/);
  assert.ok(gw.log.lines.some((l) => l.event === 'connect' && l.tls === true));
});

test('node-postgres over TLS', async ({ gw }) => {
  const c = new pg.Client({ ...(await gw.clientConfig(['clerks'])), ssl: { rejectUnauthorized: false } });
  await c.connect();
  assert.equal((await c.query('SELECT $1::int + 1 AS n', [41])).rows, [{ n: 42 }]);
  await c.end();
});

test('direct TLS with ALPN "postgresql": no SSLRequest, the startup inside TLS', async ({ gw }) => {
  const socket = tlsConnect({ host: gw.host === '0.0.0.0' ? '127.0.0.1' : gw.host, port: gw.port, ALPNProtocols: ['postgresql'], rejectUnauthorized: false });
  await new Promise((r, j) => socket.once('secureConnect', r).once('error', j));
  assert.is(socket.alpnProtocol, 'postgresql');
  const s = new WireSession(socket as unknown as import('node:net').Socket);
  s.send(loginBytes(gw, await gw.token(['clerks'])), w.query('SELECT 7'));
  await s.until('ReadyForQuery');
  assert.ok(render(await s.until('ReadyForQuery')).includes('DataRow 7'));
  s.close();
});

test('direct TLS without ALPN is refused', async ({ gw }) => {
  const socket = tlsConnect({ host: '127.0.0.1', port: gw.port, rejectUnauthorized: false });
  const outcome = await new Promise<string>((resolve) => {
    socket.once('secureConnect', () => {
      socket.write(loginBytes(gw, 'x'));
      socket.once('data', () => resolve('answered'));
      socket.once('close', () => resolve('closed'));
    });
    socket.once('error', () => resolve('closed'));
  });
  assert.is(outcome, 'closed');
});

test('plaintext from loopback is allowed under `tls require`', async ({ gw }) => {
  const c = new pg.Client({ ...(await gw.clientConfig(['clerks'])), host: '127.0.0.1' });
  await c.connect();
  assert.equal((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  await c.end();
});

test('plaintext from another host is refused under `tls require`; TLS from there works', async ({ gw }) => {
  assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('::ffff:127.0.0.9'));
  assert.not.ok(isLoopback('192.0.2.2') || isLoopback('::ffff:10.0.0.1') || isLoopback(undefined) || isLoopback('1270.0.0.1'));
  const address = otherAddress();
  if (!address) {
    console.log('    (no non-loopback address on this machine: only the decision function was checked)');
    return;
  }
  const plain = new pg.Client({ ...(await gw.clientConfig(['clerks'])), host: address });
  plain.on('error', () => {});
  const e = await expectError(plain.connect());
  assert.is(e.code, '28000');
  assert.match(e.message, /TLS is required for connections from other hosts/);
  const secure = new pg.Client({ ...(await gw.clientConfig(['clerks'])), host: address, ssl: { rejectUnauthorized: false } });
  await secure.connect();
  assert.equal((await secure.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
  await secure.end();
});

test.run();
