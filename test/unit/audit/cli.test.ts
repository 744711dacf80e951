// `pamc audit` as an operator runs it: keygen, verify (exit 0/1, the first bad record named),
// show (the replay), export (jsonl as written, OCSF events), and the policy's audit block driving
// a recorder through openAudit.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSigningKey, loadVerificationKeys } from '../../../runtime/audit/keys.ts';
import { openAudit } from '../../../runtime/audit/open.ts';
import { compileTexts, HEADER } from '../../support/compile.ts';
import { lines, recorder, removeDir, segments, session, tempDir, writeLines } from './helpers.ts';

const root = resolve(import.meta.dirname, '../../..');
const work = tempDir('pamc-audit-cli-');

function pamc(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/pamc.js'), ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('keygen writes a private key that signs and a public key that verifies; never overwrites', async () => {
  const r = pamc('audit', 'keygen', 'audit.jwk', '--public', 'audit-public.jwk');
  assert.is(r.code, 0, r.stderr);
  const priv = readFileSync(join(work, 'audit.jwk'), 'utf8');
  const signing = await loadSigningKey(priv);
  assert.is(signing.alg, 'EdDSA');
  const [trusted] = await loadVerificationKeys(readFileSync(join(work, 'audit-public.jwk'), 'utf8'));
  assert.is(trusted.kid, signing.kid);
  assert.is(JSON.parse(r.stdout).kid, signing.kid);
  assert.not.ok('d' in JSON.parse(r.stdout), 'the public key has no private part');
  const again = pamc('audit', 'keygen', 'audit.jwk');
  assert.is(again.code, 2);
  assert.match(again.stderr, 'never overwritten');
});

test('verify: OK and exit 0 on a closed log; FAILED, the first bad record and exit 1 after an edit', async () => {
  const signing = await loadSigningKey(readFileSync(join(work, 'audit.jwk'), 'utf8'));
  const dir = join(work, 'log');
  const r = await recorder(dir, signing);
  session(r, 2);
  await r.close();
  let out = pamc('audit', 'verify', 'log', '--key', 'audit-public.jwk');
  assert.is(out.code, 0, out.stdout + out.stderr);
  assert.match(out.stdout, /1 segment, \d+ records \(seq 0–\d+\), 1 checkpoint \(1 signature verified\)/);
  assert.match(out.stdout, 'closed by a final checkpoint');
  assert.match(out.stdout, /\nOK\n$/);
  // without a key: the chain only, and a note saying so
  out = pamc('audit', 'verify', 'log');
  assert.is(out.code, 0);
  assert.match(out.stdout, 'signatures were not checked');
  // an edit
  const seg = segments(dir)[0];
  const ls = lines(dir, seg);
  ls[4] = ls[4].replace('"returned":1', '"returned":0');
  writeLines(dir, seg, ls);
  out = pamc('audit', 'verify', 'log', '--key', 'audit-public.jwk');
  assert.is(out.code, 1);
  assert.match(out.stdout, `FAIL [altered] record seq 4 (line 5 of ${seg}) was altered`);
  assert.match(out.stdout, `first bad record: ${seg} line 5, seq 4`);
  assert.match(out.stdout, /\nFAILED\n$/);
  const json = JSON.parse(pamc('audit', 'verify', 'log', '--json').stdout);
  assert.is(json.ok, false);
  assert.equal([json.problems[0].code, json.problems[0].line, json.problems[0].seq], ['altered', 5, 4]);
  // usage errors
  assert.is(pamc('audit', 'verify').code, 2);
  assert.is(pamc('audit', 'verify', 'log', '--key', 'missing.jwk').code, 2);
  removeDir(dir);
});

test('show: the replay of a session, filtered by session, identity and time', async () => {
  const signing = await loadSigningKey(readFileSync(join(work, 'audit.jwk'), 'utf8'));
  const dir = join(work, 'show');
  const r = await recorder(dir, signing);
  const s1 = session(r, 1);
  const s2 = r.connect({ identity: { subject: 'bob', groups: [], agent: null }, client: { address: '10.0.0.9' }, target: { name: 'shop', kind: 'postgres' }, tls: null });
  r.statement(s2, { text: 'SELECT 1', facts: [], decision: 'allow', rules: [], outcome: 'ok', rows: { returned: 1 } });
  await r.close();
  let out = pamc('audit', 'show', 'show');
  assert.is(out.code, 0, out.stderr);
  assert.match(out.stdout, `session ${s1} · alice@example.com (agent researcher) [crewai-analysts] → shop (postgres, database shop, as pamc_gateway)`);
  assert.match(out.stdout, 'from 10.0.0.7:51515 · tls TLSv1.3 TLS_AES_256_GCM_SHA384 · application crewai');
  assert.match(out.stdout, /allow\s+SELECT id, email FROM customers WHERE id = \$1/);
  assert.match(out.stdout, "params: $1='0', $2=<3 bytes>, $3=NULL");
  assert.match(out.stdout, '→ ok: 1 row returned (SELECT 1) · rules 4, 9 · masked public.customers.email · limit 10000');
  assert.match(out.stdout, /deny\s+DROP TABLE customers/);
  assert.match(out.stdout, '→ denied · rule 2 · 42501 denied by rule 2');
  assert.match(out.stdout, '→ ok: 12 rows affected (DELETE 12) · approval req-1 · rule 7 · waited 40 s · took 40 s');
  assert.match(out.stdout, /req-1 requested[^\n]*\n[^\n]*req-1 approved · by bob@example.com/);
  assert.match(out.stdout, 'req-1 requested · by alice@example.com · group dba-oncall · quorum 0/1');
  assert.match(out.stdout, /disconnect\s+client · after/);
  assert.match(out.stdout, 'policy shop-policy (aaaaaaaaaaaa) start v1');
  assert.match(out.stdout, `session ${s2} · bob`);
  assert.match(out.stdout, 'no disconnect recorded');
  out = pamc('audit', 'show', 'show', '--identity', 'bob');
  assert.not.match(out.stdout, 'alice');
  assert.match(out.stdout, 'SELECT 1');
  out = pamc('audit', 'show', 'show', '--session', s1);
  assert.not.match(out.stdout, `session ${s2}`);
  assert.match(out.stdout, `session ${s1}`);
  out = pamc('audit', 'show', 'show', '--since', '2099-01-01');
  assert.is(out.stdout, '');
  out = pamc('audit', 'show', 'show', '--identity', 'nobody');
  assert.match(out.stderr, 'no matching session');
  assert.is(pamc('audit', 'show', 'show', '--since', 'yesterday-ish').code, 2);
});

test('export: jsonl is the records as written; ocsf maps them to Datastore Activity events', async () => {
  const dir = join(work, 'show');
  const jsonl = pamc('audit', 'export', 'show', '--format', 'jsonl');
  assert.is(jsonl.code, 0);
  const written = segments(dir).flatMap((s) => lines(dir, s));
  assert.equal(jsonl.stdout.trimEnd().split('\n'), written);
  const ocsf = pamc('audit', 'export', 'show', '--format', 'ocsf');
  assert.is(ocsf.code, 0, ocsf.stderr);
  const events = ocsf.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.ok(events.every((e) => e.class_uid === 6005 && e.category_uid === 6 && e.type_uid === 600500 + e.activity_id));
  const connect = events.find((e) => e.activity_id === 3);
  assert.equal(connect.actor.user, { uid: 'alice@example.com', name: 'alice@example.com', groups: [{ name: 'crewai-analysts' }], domain: 'https://idp.example.com/' });
  assert.is(connect.actor.app_name, 'researcher');
  assert.equal(connect.src_endpoint, { ip: '10.0.0.7', port: 51515 });
  assert.equal(connect.database, { name: 'shop', type: 'PostgreSQL' });
  const query = events.find((e) => e.activity_id === 4);
  assert.is(query.query_info.query_string, 'SELECT id, email FROM customers WHERE id = $1');
  assert.equal([query.disposition_id, query.status_id, query.severity_id], [1, 1, 1]);
  assert.is(query.actor.session.uid, connect.actor.session.uid);
  const drop = events.find((e) => e.query_info?.query_string === 'DROP TABLE customers');
  assert.match(drop.query_info.uid, /^[0-9a-f]{16}$/, 'a record without a fingerprint gets the one of its text');
  assert.is(query.query_info.uid, 'f1e2d3c4b5a69788', 'a recorded fingerprint is kept');
  assert.equal([drop.activity_id, drop.disposition_id, drop.disposition, drop.status_id, drop.status_code], [7, 2, 'Blocked', 2, '42501']);
  const del = events.find((e) => e.query_info?.query_string === 'DELETE FROM orders');
  assert.equal([del.activity_id, del.disposition, del.unmapped.pamc.approval], [7, 'Approved', 'req-1']);
  const approved = events.find((e) => e.activity_name === 'Approval approved');
  assert.equal(approved.actor.user, { uid: 'bob@example.com', name: 'bob@example.com', groups: [{ name: 'dba-oncall' }] });
  assert.is(approved.metadata.correlation_uid, connect.actor.session.uid, 'tied to the session that asked');
  assert.ok(events.some((e) => e.activity_name === 'Disconnect'));
  // the integrity records are not events
  assert.not.ok(events.some((e) => e.unmapped?.pamc?.kind === 'checkpoint' || e.unmapped?.pamc?.kind === 'open'));
  assert.ok(events.every((e) => typeof e.metadata.uid === 'string' && e.metadata.version === '1.3.0'));
  // --since keeps later events, and -o writes a file
  assert.is(pamc('audit', 'export', 'show', '--format', 'ocsf', '--since', '2099-01-01').stdout, '');
  assert.is(pamc('audit', 'export', 'show', '--format', 'jsonl', '-o', 'out.jsonl').code, 0);
  assert.is(readFileSync(join(work, 'out.jsonl'), 'utf8'), jsonl.stdout);
  assert.is(pamc('audit', 'export', 'show').code, 2, '--format is required');
});

test('the policy drives the recorder: openAudit reads the key and writes where the audit block says', async () => {
  writeFileSync(join(work, 'policy.pam'), `${HEADER}\naudit {\n  dir "records"\n  key file "audit.jwk"\n  rotate size 64KiB every 1h\n  checkpoint every 5s, 100 records\n  on_failure continue\n}\n`);
  const out = compileTexts({ 'policy.pam': readFileSync(join(work, 'policy.pam'), 'utf8') });
  assert.equal(out.diagnostics, []);
  const audit = out.policy!.audit!;
  assert.equal(audit, { dir: 'records', key: { file: 'audit.jwk' }, rotate: { maxBytes: 65536, maxAgeSeconds: 3600 }, checkpoint: { everySeconds: 5, everyRecords: 100 }, onFailure: 'continue', forward: null });
  const setup = await openAudit(audit, work);
  assert.is(setup.recorder.onFailure, 'continue');
  session(setup.recorder, 300);
  await setup.close();
  assert.ok(segments(join(work, 'records')).length >= 2, 'rotated at 64KiB');
  const v = pamc('audit', 'verify', 'records', '--key', 'audit-public.jwk');
  assert.is(v.code, 0, v.stdout);
  assert.match(v.stdout, /checkpoints \(\d+ signatures verified\)/);
});

test.after(() => removeDir(work));

test.run();
