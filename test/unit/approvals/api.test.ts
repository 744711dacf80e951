// The approvals API over real HTTP, and webhooks to a real local receiver: authentication by
// the approver's own token, authorisation by group, self-approval, replays, unknown ids;
// signed JSON, Slack payloads, retries, a failing webhook that never blocks.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { handleApprovalsApi } from '../../../runtime/approvals/api.ts';
import { Approvals } from '../../../runtime/approvals/service.ts';
import type { NewRequest } from '../../../runtime/approvals/store.ts';
import { signature } from '../../../runtime/approvals/webhooks.ts';
import { startAdmin } from '../../../runtime/gateway/admin.ts';
import { memoryLogger } from '../../../runtime/gateway/log.ts';
import { createTokenVerifier } from '../../../runtime/identity/verify-token.ts';

const ISSUER = 'https://idp.approvals.test/';
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const dir = mkdtempSync(join(tmpdir(), 'pamc-approvals-'));
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] }));
const verifier = await createTokenVerifier(
  { issuer: ISSUER, audiences: ['pamc'], jwks: { file: 'jwks.json' }, algorithms: ['ES256'], groupsClaim: 'groups', agentClaim: null, clockSkewSeconds: 30 },
  dir,
);
const token = (sub: string, groups: string[]) =>
  new SignJWT({ groups }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer(ISSUER).setAudience('pamc').setSubject(sub).setIssuedAt().setExpirationTime('5m').sign(privateKey);

const log = memoryLogger();
const approvals = new Approvals({ log, grantsDir: null, webhooks: [], apiUrl: null });
const admin = await startAdmin('127.0.0.1:0', { metrics: { registry: { render: () => '' } }, policyView: { version: 1, loaded: { compiled: { policy: 'p', digest: 'd' } } }, listening: () => [], sessionCount: () => 0 }, (req, res) =>
  handleApprovalsApi(req, res, { approvals: () => approvals, verifier: () => verifier, log }),
);
const base = `http://127.0.0.1:${admin.port}`;

const newRequest = (extra: Partial<NewRequest> = {}): NewRequest => ({
  mode: 'hold',
  target: 'db',
  session: 's',
  requester: { subject: 'agent-1', groups: ['ops'], agent: 'crew' },
  sql: 'DELETE FROM orders',
  params: ['42'],
  facts: [{ action: 'delete', resource: 'public.orders', unbounded: true }],
  fingerprint: 'fp',
  requirements: [{ group: 'dba', quorum: 1, withinSeconds: 60, mode: 'hold', uses: 1, rule: { id: 1, text: 'approve delete by "dba"', location: 'p.pam:3:5' } }],
  ...extra,
});

async function call(method: string, path: string, auth?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('no token, a garbage token, a foreign token: 401', async () => {
  assert.is((await call('GET', '/approvals')).status, 401);
  assert.is((await call('GET', '/approvals', 'garbage')).status, 401);
  const other = await generateKeyPair('ES256');
  const forged = await new SignJWT({ groups: ['dba'] }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer(ISSUER).setAudience('pamc').setSubject('x').setExpirationTime('5m').sign(other.privateKey);
  assert.is((await call('GET', '/approvals', forged)).status, 401);
});

test('an approver sees and decides the requests of their groups; others see nothing', async () => {
  const r = approvals.open(newRequest());
  const alice = await token('alice', ['dba']);
  const mallory = await token('mallory', ['ops']);
  const list = await call('GET', '/approvals', alice);
  assert.ok((list.body.requests as { id: string }[]).some((x) => x.id === r.id));
  assert.equal((await call('GET', '/approvals', mallory)).body.requests, []);
  assert.is((await call('GET', `/approvals/${r.id}`, mallory)).status, 404, 'invisible to other groups');
  const shown = await call('GET', `/approvals/${r.id}`, alice);
  assert.is(shown.body.sql, 'DELETE FROM orders');
  assert.equal(shown.body.params, ['42']);
  assert.is((await call('POST', `/approvals/${r.id}/approve`, mallory, {})).status, 404);
  const done = await call('POST', `/approvals/${r.id}/approve`, alice, { reason: 'looks fine' });
  assert.is(done.status, 200);
  assert.is(done.body.status, 'approved');
  assert.is(r.status, 'approved');
  const replay = await call('POST', `/approvals/${r.id}/approve`, alice, {});
  assert.is(replay.status, 409, 'a replayed approval is refused');
});

test('the requester cannot approve themself through the API', async () => {
  const r = approvals.open(newRequest({ requester: { subject: 'alice', groups: ['dba'], agent: null } }));
  const alice = await token('alice', ['dba']);
  assert.is((await call('POST', `/approvals/${r.id}/approve`, alice, {})).status, 403);
  assert.is(r.status, 'pending');
});

test('reject needs a reason; unknown ids and bad bodies are refused cleanly', async () => {
  const r = approvals.open(newRequest());
  const bob = await token('bob', ['dba']);
  assert.is((await call('POST', `/approvals/${r.id}/reject`, bob, {})).status, 400);
  assert.is((await call('POST', `/approvals/${r.id}/reject`, bob, 'not json')).status, 400);
  assert.is((await call('POST', `/approvals/${r.id}/reject`, bob, { reason: 'no' })).body.status, 'rejected');
  assert.is((await call('POST', '/approvals/apr_nope/approve', bob, {})).status, 404);
  assert.is((await call('GET', `/approvals/${r.id}/approve`, bob)).status, 405);
});

async function receiver(fail: number) {
  const got: { headers: IncomingMessage['headers']; body: string }[] = [];
  let failures = fail;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (failures-- > 0) {
        res.writeHead(500).end();
        return;
      }
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => server.close() };
}

test('webhooks: signed JSON on every event, Slack text, retried after failures', async () => {
  const json = await receiver(2);
  const slack = await receiver(0);
  const a = new Approvals({
    log,
    grantsDir: null,
    webhooks: [
      { url: json.url, secret: 'hook-secret', format: 'json' },
      { url: slack.url, secret: null, format: 'slack' },
    ],
    apiUrl: 'https://pamc.example.com',
  });
  const r = a.open(newRequest());
  a.store.decide(r.id, { subject: 'alice', groups: ['dba'] }, 'approve', null);
  const deadline = Date.now() + 10_000;
  while ((json.got.length < 2 || slack.got.length < 2) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  assert.is(json.got.length, 2, 'requested and approved, after two failed attempts');
  for (const g of json.got) {
    const ts = Number(g.headers['x-pamc-timestamp']);
    assert.is(g.headers['x-pamc-signature'], signature('hook-secret', ts, g.body), 'the signature verifies');
    assert.is.not(g.headers['x-pamc-signature'], signature('other', ts, g.body));
  }
  assert.equal(json.got.map((g) => JSON.parse(g.body).event), ['requested', 'approved']);
  assert.is(JSON.parse(json.got[0].body).url, `https://pamc.example.com/approvals/${r.id}`);
  assert.match(JSON.parse(slack.got[0].body).text, /Approval needed on \*db\*/);
  json.close();
  slack.close();
});

test('a dead webhook never blocks: opening and deciding return at once', async () => {
  const a = new Approvals({ log, grantsDir: null, webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 's', format: 'json' }], apiUrl: null });
  const t0 = performance.now();
  const r = a.open(newRequest());
  a.store.decide(r.id, { subject: 'alice', groups: ['dba'] }, 'approve', null);
  assert.ok(performance.now() - t0 < 50, 'no waiting on the webhook');
  await a.close();
});

test.after(async () => {
  await admin.close();
  await approvals.close();
  rmSync(dir, { recursive: true, force: true });
});

test.run();
