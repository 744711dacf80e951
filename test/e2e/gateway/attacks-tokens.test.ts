// Tokens an attacker might present as the password. Each is refused at the door with a clean
// FATAL (28P01: the token is not accepted; 28000: a valid identity granted nothing), a short
// message, and no trace of the token in any message to the client or any line of the log.

import { createHmac } from 'node:crypto';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AUDIENCE, ISSUER, publicJwk, signToken, startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { expectError, SHOP_RULES, SHOP_SETUP } from './shop.ts';
import { drain, firstError, open, w } from './wire.ts';
import { WireSession } from '../../support/pg-session.ts';

const test = suite<{ gw: GatewayFixture }>('attacks: tokens');

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SHOP_SETUP, rules: SHOP_RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', groups: ['analysts'], iat: now(), exp: now() + 600, ...extra });

const cases: [string, () => Promise<string>, string, RegExp][] = [
  ['expired', () => signToken(claims({ exp: now() - 3600, iat: now() - 7200 })), '28P01', /the token has expired/],
  ['not yet valid', () => signToken(claims({ nbf: now() + 3600 })), '28P01', /the token is not valid yet/],
  ['wrong issuer', () => signToken(claims({ iss: 'https://evil.example/' })), '28P01', /the token was not accepted/],
  ['wrong audience', () => signToken(claims({ aud: 'someone-else' })), '28P01', /the token was not accepted/],
  ['alg: none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, '28P01', /not (a valid token|accepted)/],
  [
    'HS256 signed with the public key',
    async () => {
      const jwk = await publicJwk();
      const head = `${b64({ alg: 'HS256', kid: jwk.kid })}.${b64(claims())}`;
      return `${head}.${createHmac('sha256', JSON.stringify(jwk)).update(head).digest('base64url')}`;
    },
    '28P01',
    /not (a valid token|accepted)/,
  ],
  ['unknown key id', () => signToken(claims(), { kid: 'rotated-away' }), '28P01', /not accepted/],
  ['a forged signature', async () => (await signToken(claims())).replace(/\.[^.]+$/, `.${b64('x'.repeat(64))}`), '28P01', /not accepted/],
  ['garbage', async () => 'hunter2-not-a-token', '28P01', /not a valid token/],
  ['three dots of garbage', async () => 'aaaa.bbbb.cccc', '28P01', /not a valid token/],
  ['a huge password', async () => 'A'.repeat(60_000), '28P01', /not a valid token/],
  ['valid, but the groups are granted nothing', () => signToken(claims({ groups: ['nobody'] })), '28000', /grants this identity nothing/],
];

for (const [name, make, code, message] of cases) {
  test(`${name}: FATAL ${code}, the token in no message and no log line`, async ({ gw }) => {
    const token = await make();
    const linesBefore = gw.log.lines.length;
    const c = new pg.Client({ ...(await gw.clientConfig(['analysts'])), password: token });
    c.on('error', () => {});
    const e = await expectError(c.connect());
    assert.is(e.code, code);
    assert.is(e.severity, 'FATAL');
    assert.match(e.message, message);
    const secretParts = token.split('.').filter((p) => p.length >= 8);
    const logged = JSON.stringify(gw.log.lines.slice(linesBefore));
    for (const part of [token, ...secretParts]) {
      assert.not.ok(e.message.includes(part), 'the token is in the error');
      assert.not.ok(logged.includes(part), 'the token is in the log');
    }
    assert.ok(logged.includes(code === '28000' ? 'authorization-failed' : 'authentication-failed'));
  });
}

test('a password message that is not a token frame: FATAL, and the gateway goes on', async ({ gw }) => {
  const s = new WireSession(await open(gw));
  s.send(w.startupMessage([['user', 'agent'], ['database', gw.database]]), w.message('p', [1, 2, 3]));
  const e = firstError(await drain(s));
  assert.is(e?.severity, 'FATAL');
  const c = new pg.Client(await gw.clientConfig(['analysts']));
  await c.connect();
  assert.equal((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  await c.end();
});

test.run();
