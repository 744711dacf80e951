// Shared helpers of the audit tests: temporary directories, keys, a recorder with one record of
// every kind, the lines of a segment for tampering, the record schema (ajv), and the body the
// writer writes for a statement.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import schema from '../../../spec/audit-record.schema.json' with { type: 'json' };
import { loadSigningKey, loadVerificationKeys, type SigningKey, type VerificationKey } from '../../../runtime/audit/keys.ts';
import { JsonBytes } from '../../../runtime/audit/json-bytes.ts';
import { openRecorder, type Recorder, type RecorderOptions } from '../../../runtime/audit/recorder.ts';
import type { StatementInput } from '../../../runtime/audit/records.ts';
import { encodeStatement, StatementTranscoder } from '../../../runtime/audit/statement-codec.ts';

export function tempDir(prefix = 'pamc-audit-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function newKey(kind: 'ed25519' | 'ec' | 'rsa' = 'ed25519'): Promise<{ signing: SigningKey; trusted: VerificationKey[]; privateJwk: string }> {
  const pair =
    kind === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  const privateJwk = JSON.stringify(pair.privateKey.export({ format: 'jwk' }));
  const signing = await loadSigningKey(privateJwk);
  const trusted = await loadVerificationKeys(JSON.stringify(signing.publicJwk));
  return { signing, trusted, privateJwk };
}

export async function recorder(dir: string, key: SigningKey, opts: Partial<RecorderOptions> = {}): Promise<Recorder> {
  return openRecorder({ dir, key, ...opts });
}

/** One session with a record of every kind a session has, plus a policy record. */
export function session(r: Recorder, n = 1): string {
  r.policy({ name: 'shop-policy', digest: 'a'.repeat(64), reason: 'start', version: 1 });
  const s = r.connect({
    identity: { subject: 'alice@example.com', groups: ['crewai-analysts'], agent: 'researcher', issuer: 'https://idp.example.com/' },
    client: { address: '10.0.0.7', port: 51515 },
    target: { name: 'shop', kind: 'postgres', database: 'shop', user: 'pamc_gateway' },
    tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
    application: 'crewai',
    policy: { name: 'shop-policy', digest: 'a'.repeat(64) },
  });
  for (let i = 0; i < n; i++) {
    r.statement(s, {
      query: i + 1,
      index: 0,
      protocol: 'extended',
      text: 'SELECT id, email FROM customers WHERE id = $1',
      params: [String(i), new Uint8Array([1, 2, 3]), null],
      fingerprint: 'f1e2d3c4b5a69788',
      facts: [{ action: 'select', resource: 'public.customers' }],
      decision: 'allow',
      rules: [4, 9],
      outcome: 'ok',
      rows: { returned: 1, command: 'SELECT 1' },
      masked: ['public.customers.email'],
      limit: { rows: 10000, rule: 11, reached: false },
      timing: { startedAt: Date.now(), decideUs: 1.4, executeMs: 0.8, totalMs: 1.1 },
    });
  }
  r.statement(s, {
    query: n + 1,
    text: 'DROP TABLE customers',
    facts: [{ action: 'drop', resource: 'public.customers' }],
    decision: 'deny',
    rules: [2],
    outcome: 'denied',
    error: { sqlstate: '42501', message: 'denied by rule 2 (policy.pam:30:5)' },
  });
  r.statement(s, {
    query: n + 2,
    text: 'DELETE FROM orders',
    facts: [{ action: 'delete', resource: 'public.orders', unbounded: true }],
    decision: 'approve',
    rules: [7],
    approval: 'req-1',
    outcome: 'ok',
    rows: { affected: 12, command: 'DELETE 12' },
    timing: { waitMs: 40_000, totalMs: 40_012 },
  });
  r.approval(s, { request: 'req-1', event: 'requested', by: { subject: 'alice@example.com' }, rule: 7, group: 'dba-oncall', quorum: 1, approvals: 0, mode: 'hold', expiresAt: Date.now() + 900_000, fingerprint: 'abc' });
  r.approval(null, { request: 'req-1', event: 'approved', by: { subject: 'bob@example.com', groups: ['dba-oncall'] }, reason: 'ticket OPS-12', approvals: 1, quorum: 1 });
  r.disconnect(s, { reason: 'client', statements: n + 2, denied: 1, bytesIn: 1200, bytesOut: 5400 });
  return s;
}

export function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^audit-\d+\.jsonl$/.test(f))
    .sort();
}

export function lines(dir: string, segment: string): string[] {
  const text = readFileSync(join(dir, segment), 'utf8');
  return text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
}

export function writeLines(dir: string, segment: string, ls: string[], trailingNewline = true): void {
  writeFileSync(join(dir, segment), ls.join('\n') + (trailingNewline ? '\n' : ''));
}

export function allRecords(dir: string): Record<string, unknown>[] {
  return segments(dir).flatMap((s) => lines(dir, s).map((l) => JSON.parse(l) as Record<string, unknown>));
}

const ajv = new Ajv({ allErrors: true, strictTuples: false });
export const validateRecord = ajv.compile(schema);

export function schemaErrors(record: unknown): string[] {
  if (validateRecord(record)) return [];
  return (validateRecord.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const transcoder = new StatementTranscoder();
const encoded = new JsonBytes(64);

/**
 * The body the writer writes for `s`, recorded in `session` at `at`: encoded as the
 * gateway's thread encodes it, then written from those bytes by one transcoder across calls, as
 * the writer keeps one (what it copies from one record to the next is then exercised).
 */
export function statementBody(s: StatementInput, session = 's.1', at = Date.UTC(2026, 0, 1)): string {
  encoded.pos = 0;
  encodeStatement(encoded, session, at, s);
  const out = new JsonBytes(64);
  transcoder.write(out, encoded.buf, 0, encoded.pos);
  return out.buf.toString('utf8', 0, out.pos);
}
