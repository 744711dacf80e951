// Token verification against the attacks a gateway sees: expired and early tokens, wrong issuer
// or audience, `alg: none`, HS256 signed with the public key, unknown keys, garbage, oversize;
// and a JWKS URL that rotates its keys.

import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CompiledIdentity } from '../../../spec/compiled-policy.ts';
import { createTokenVerifier, MAX_TOKEN_LENGTH, TokenError, type TokenVerifier } from '../../../runtime/identity/verify-token.ts';

const ISSUER = 'https://idp.test/';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { privateKey, jwk };
}

const main = await keyPair('k1');
const other = await keyPair('k2');
const dir = mkdtempSync(join(tmpdir(), 'pamc-jwks-'));
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [main.jwk] }));

const identity = (extra: Partial<CompiledIdentity> = {}): CompiledIdentity => ({
  issuer: ISSUER,
  audiences: ['pamc'],
  jwks: { file: 'jwks.json' },
  algorithms: ['ES256', 'RS256'],
  groupsClaim: 'groups',
  agentClaim: 'agent',
  clockSkewSeconds: 30,
  ...extra,
});

const verifier = await createTokenVerifier(identity(), dir);

async function sign(
  claims: Record<string, unknown> = {},
  opts: { key?: Parameters<SignJWT['sign']>[0]; kid?: string; iss?: string; aud?: string; exp?: number | null; nbf?: number; sub?: string | null } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ groups: ['analysts'], agent: 'researcher', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? 'k1' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? 'pamc')
    .setIssuedAt();
  if (opts.sub !== null) jwt = jwt.setSubject(opts.sub ?? 'agent-7');
  if (opts.exp !== null) jwt = jwt.setExpirationTime(opts.exp ?? now + 600);
  if (opts.nbf !== undefined) jwt = jwt.setNotBefore(opts.nbf);
  return jwt.sign(opts.key ?? main.privateKey);
}

async function rejection(v: TokenVerifier, token: string): Promise<TokenError> {
  try {
    await v.verify(token);
  } catch (e) {
    assert.instance(e, TokenError);
    const err = e as TokenError;
    if (token.length >= 8) assert.not.ok(err.message.includes(token.slice(0, 20)), 'the public message never quotes the token');
    if (token.length >= 8) assert.not.ok(err.detail.includes(token), 'the log detail never quotes the token');
    return err;
  }
  assert.unreachable('the token was accepted');
  throw new Error('unreachable');
}

test('a valid token yields subject, groups, agent and claims', async () => {
  const id = await verifier.verify(await sign({ team: 'x' }));
  assert.is(id.subject, 'agent-7');
  assert.equal(id.groups, ['analysts']);
  assert.is(id.agent, 'researcher');
  assert.is(id.claims.team, 'x');
});

test('a groups claim that is a single string counts as one group; other types as none', async () => {
  assert.equal((await verifier.verify(await sign({ groups: 'solo' }))).groups, ['solo']);
  assert.equal((await verifier.verify(await sign({ groups: { admin: true } }))).groups, []);
  assert.equal((await verifier.verify(await sign({ groups: ['a', 7, null, 'b'] }))).groups, ['a', 'b']);
});

test('expired, beyond the skew, is refused; within the skew it passes', async () => {
  const now = Math.floor(Date.now() / 1000);
  assert.is((await rejection(verifier, await sign({}, { exp: now - 120 }))).reason, 'expired');
  await verifier.verify(await sign({}, { exp: now - 10 }));
});

test('not yet valid is refused', async () => {
  const now = Math.floor(Date.now() / 1000);
  assert.is((await rejection(verifier, await sign({}, { nbf: now + 600 }))).reason, 'not_yet_valid');
});

test('a token without exp is refused', async () => {
  assert.is((await rejection(verifier, await sign({}, { exp: null }))).reason, 'rejected');
});

test('a token without a subject, or with an empty one, is refused (it would be everyone)', async () => {
  assert.is((await rejection(verifier, await sign({}, { sub: null }))).reason, 'rejected');
  assert.is((await rejection(verifier, await sign({}, { sub: '' }))).reason, 'rejected');
  assert.is((await rejection(verifier, await sign({}, { sub: '  ' }))).reason, 'rejected');
  assert.is((await rejection(verifier, await sign({ sub: 42 }, { sub: null }))).reason, 'rejected');
});

test('wrong issuer or audience is refused', async () => {
  assert.is((await rejection(verifier, await sign({}, { iss: 'https://evil.test/' }))).reason, 'rejected');
  assert.is((await rejection(verifier, await sign({}, { aud: 'someone-else' }))).reason, 'rejected');
});

test('a token signed by a key outside the JWKS is refused', async () => {
  assert.is((await rejection(verifier, await sign({}, { key: other.privateKey, kid: 'k2' }))).reason, 'rejected');
  assert.is((await rejection(verifier, await sign({}, { key: other.privateKey, kid: 'k1' }))).reason, 'rejected');
});

test('alg none is refused', async () => {
  const now = Math.floor(Date.now() / 1000);
  const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: 'pamc', sub: 'x', exp: now + 600, groups: ['admin'] })}.`;
  const r = await rejection(verifier, token);
  assert.ok(r.reason === 'rejected' || r.reason === 'malformed');
});

test('HS256 signed with the public key is refused (algorithm confusion)', async () => {
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'HS256', kid: 'k1' });
  const body = b64({ iss: ISSUER, aud: 'pamc', sub: 'x', exp: now + 600, groups: ['admin'] });
  for (const secret of [JSON.stringify(main.jwk), main.jwk.x!]) {
    const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
    assert.is((await rejection(verifier, `${head}.${body}.${sig}`)).reason, 'rejected');
  }
});

test('garbage, empty and oversized passwords are refused as malformed', async () => {
  for (const t of ['', 'hunter2', 'a.b', 'a.b.c.d', '\u0000\u0001', 'eyJ.eyJ.', 'x'.repeat(MAX_TOKEN_LENGTH + 1)]) {
    assert.is((await rejection(verifier, t)).reason, 'malformed', JSON.stringify(t.slice(0, 20)));
  }
  const valid = await sign();
  const [h, p] = valid.split('.');
  assert.ok(['malformed', 'rejected'].includes((await rejection(verifier, `${h}.${p}.AAAA`)).reason));
  const tampered = `${h}.${b64({ iss: ISSUER, aud: 'pamc', sub: 'x', exp: 9999999999, groups: ['admin'] })}.${valid.split('.')[2]}`;
  assert.is((await rejection(verifier, tampered)).reason, 'rejected');
});

test('a verifier refuses an algorithm outside its allowlist even with a good signature', async () => {
  const rsOnly = await createTokenVerifier(identity({ algorithms: ['RS256'] }), dir);
  assert.is((await rejection(rsOnly, await sign())).reason, 'rejected');
});

test('a JWKS URL is fetched, and refetched when a token names a new key', async () => {
  let keys: JWK[] = [main.jwk];
  let fetches = 0;
  const server: Server = createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const v = await createTokenVerifier(identity({ jwks: { url: `http://127.0.0.1:${port}/jwks` } }), dir);
    await v.verify(await sign());
    assert.is(fetches, 1);
    await v.verify(await sign());
    assert.is(fetches, 1, 'cached');
    keys = [main.jwk, other.jwk];
    // The cooldown after a fetch delays a refetch; a rotated key is picked up after it.
    const rotated = await sign({}, { key: other.privateKey, kid: 'k2' });
    const r = await v.verify(rotated).then(
      () => 'accepted',
      (e: TokenError) => e.reason,
    );
    assert.ok(r === 'accepted' || r === 'rejected');
  } finally {
    server.close();
  }
});

test('an unreachable JWKS URL is reported as unavailable, not as a bad token', async () => {
  const v = await createTokenVerifier(identity({ jwks: { url: 'http://127.0.0.1:9/jwks' } }), dir);
  assert.is((await rejection(v, await sign())).reason, 'unavailable');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
