// Tampering with a log: every edit, deletion, insertion, reordering or truncation is detected and
// the first bad record is named (segment file, line, seq).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { lineHash } from '../../../runtime/audit/chain.ts';
import { verifyLog, type VerifyReport } from '../../../runtime/audit/verify.ts';
import { lines, newKey, recorder, removeDir, segments, session, tempDir, writeLines } from './helpers.ts';

const key = await newKey();
const otherKey = await newKey();

/** A closed log of three segments, each with a few sessions. */
async function makeLog(): Promise<string> {
  const dir = tempDir('pamc-tamper-');
  for (let i = 0; i < 3; i++) {
    const r = await recorder(dir, key.signing);
    session(r, 2);
    await r.close();
  }
  return dir;
}

async function check(dir: string): Promise<VerifyReport> {
  return verifyLog(dir, { keys: key.trusted });
}

function first(report: VerifyReport) {
  assert.not.ok(report.ok, 'the tampering is detected');
  const p = report.problems[0];
  assert.ok(p, 'a problem is reported');
  return p;
}

const SEG1 = 'audit-00000001.jsonl';
const SEG2 = 'audit-00000002.jsonl';
const SEG3 = 'audit-00000003.jsonl';

test('an untouched log verifies', async () => {
  const dir = await makeLog();
  const r = await check(dir);
  assert.ok(r.ok, JSON.stringify(r.problems));
  assert.is(r.segments.length, 3);
  assert.ok(r.closed);
  assert.equal(r.notices, []);
  removeDir(dir);
});

test('a changed byte inside a value: the altered record is named', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG2);
  const i = ls.findIndex((l) => l.includes('"kind":"statement"'));
  ls[i] = ls[i].replace('SELECT id', 'SELECT Id');
  writeLines(dir, SEG2, ls);
  const p = first(await check(dir));
  assert.is(p.code, 'altered');
  assert.is(p.segment, SEG2);
  assert.is(p.line, i + 1);
  assert.is(p.seq, JSON.parse(ls[i]).seq);
  removeDir(dir);
});

test('a changed byte that breaks the JSON, and a change of spacing only', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG1);
  const orig = [...ls];
  ls[3] = ls[3].replace('{"seq"', '{"seq"  ').replace('"seq"  ', '"seq":x').slice(0);
  writeLines(dir, SEG1, ls);
  let p = first(await check(dir));
  assert.is(p.code, 'malformed');
  assert.equal([p.segment, p.line], [SEG1, 4]);
  ls[3] = orig[3].replace('","kind"', '", "kind"');
  writeLines(dir, SEG1, ls);
  p = first(await check(dir));
  assert.is(p.code, 'not-canonical');
  assert.equal([p.segment, p.line, p.seq], [SEG1, 4, 3]);
  removeDir(dir);
});

test('a deleted line: the missing record is named where it should be', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG2);
  const gone = JSON.parse(ls[4]);
  ls.splice(4, 1);
  writeLines(dir, SEG2, ls);
  const p = first(await check(dir));
  assert.is(p.code, 'missing');
  assert.equal([p.segment, p.line, p.seq], [SEG2, 5, gone.seq]);
  assert.match(p.message, `record seq ${gone.seq} is missing`);
  removeDir(dir);
});

test('an inserted line (forged with a chaining prev, or copied): the inserted record is named', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG1);
  const before = JSON.parse(ls[2]);
  // a forger who knows the format: right seq, right prev
  const forged = JSON.stringify({ seq: before.seq + 1, prev: lineHash(ls[2]), ts: before.ts, kind: 'statement', session: 'x.1', text: 'SELECT 1', facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  writeLines(dir, SEG1, [...ls.slice(0, 3), forged, ...ls.slice(3)]);
  let p = first(await check(dir));
  assert.is(p.code, 'inserted');
  assert.equal([p.segment, p.line, p.seq], [SEG1, 4, before.seq + 1]);
  // a naive forger: the right seq, any prev
  const naive = forged.replace(/"prev":"[0-9a-f]+"/, `"prev":"${'0'.repeat(64)}"`);
  writeLines(dir, SEG1, [...ls.slice(0, 3), naive, ...ls.slice(3)]);
  p = first(await check(dir));
  assert.is(p.code, 'inserted');
  assert.equal([p.segment, p.line], [SEG1, 4]);
  // a copy of a line right after itself
  writeLines(dir, SEG1, [...ls.slice(0, 4), ls[3], ...ls.slice(4)]);
  p = first(await check(dir));
  assert.is(p.code, 'duplicate');
  assert.equal([p.segment, p.line, p.seq], [SEG1, 5, JSON.parse(ls[3]).seq]);
  removeDir(dir);
});

test('swapped lines: reported as out of order at the first of them', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG3);
  [ls[3], ls[4]] = [ls[4], ls[3]];
  writeLines(dir, SEG3, ls);
  const p = first(await check(dir));
  assert.is(p.code, 'reordered');
  assert.equal([p.segment, p.line, p.seq], [SEG3, 4, JSON.parse(ls[3]).seq]);
  removeDir(dir);
});

test('a truncated last segment, at a line boundary: the log is no longer closed', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG3);
  writeLines(dir, SEG3, ls.slice(0, -3));
  const r = await check(dir);
  const p = first(r);
  assert.is(p.code, 'not-closed');
  assert.equal([p.segment, p.line, p.seq], [SEG3, ls.length - 3, JSON.parse(ls[ls.length - 4]).seq + 1]);
  assert.not.ok(r.closed);
  // while the gateway runs (--live) an open log is expected
  const live = await verifyLog(dir, { keys: key.trusted, live: true });
  assert.ok(live.ok);
  removeDir(dir);
});

test('a truncated last segment, mid-line: the incomplete record is reported distinctly', async () => {
  const dir = await makeLog();
  const path = join(dir, SEG3);
  const size = statSync(path).size;
  truncateSync(path, size - 40);
  const ls = lines(dir, SEG3);
  const r = await check(dir);
  const p = first(r);
  assert.is(p.code, 'incomplete-tail');
  assert.equal([p.segment, p.line], [SEG3, ls.length]);
  assert.ok(r.tail && r.tail.bytes > 0);
  assert.equal(
    r.problems.map((x) => x.code),
    ['incomplete-tail', 'not-closed'],
  );
  // every complete record before it verified
  assert.is(r.lastSeq, JSON.parse(ls[ls.length - 2]).seq);
  removeDir(dir);
});

test('a truncated middle segment: detected at the next segment', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG2);
  // at a line boundary
  writeLines(dir, SEG2, ls.slice(0, -2));
  let p = first(await check(dir));
  assert.is(p.code, 'missing');
  assert.equal([p.segment, p.line, p.seq], [SEG3, 1, JSON.parse(ls[ls.length - 2]).seq]);
  // mid-line
  writeLines(dir, SEG2, ls);
  truncateSync(join(dir, SEG2), statSync(join(dir, SEG2)).size - 10);
  p = first(await check(dir));
  assert.is(p.code, 'missing');
  assert.is(p.segment, SEG3);
  assert.match(p.message, 'torn line');
  removeDir(dir);
});

test('a deleted middle segment, a deleted first segment, a renamed segment', async () => {
  const dir = await makeLog();
  const saved = readFileSync(join(dir, SEG2));
  unlinkSync(join(dir, SEG2));
  let p = first(await check(dir));
  assert.is(p.code, 'missing-segment');
  assert.is(p.segment, SEG3);
  assert.match(p.message, 'segment 2 is missing');
  writeFileSync(join(dir, SEG2), saved);
  // the first one
  const saved1 = readFileSync(join(dir, SEG1));
  unlinkSync(join(dir, SEG1));
  p = first(await check(dir));
  assert.is(p.code, 'missing-segment');
  const pruned = await verifyLog(dir, { keys: key.trusted, allowPruned: true });
  assert.ok(pruned.ok, JSON.stringify(pruned.problems));
  assert.match(pruned.notices[0], 'removed');
  writeFileSync(join(dir, SEG1), saved1);
  // the last one renamed to look like segment 4 (a gap), or segments swapped by name
  renameSync(join(dir, SEG3), join(dir, 'audit-00000004.jsonl'));
  p = first(await check(dir));
  assert.is(p.code, 'missing-segment');
  renameSync(join(dir, 'audit-00000004.jsonl'), join(dir, SEG3));
  const s2 = readFileSync(join(dir, SEG2));
  const s3 = readFileSync(join(dir, SEG3));
  writeFileSync(join(dir, SEG2), s3);
  writeFileSync(join(dir, SEG3), s2);
  p = first(await check(dir));
  assert.is(p.code, 'wrong-segment');
  assert.equal([p.segment, p.line], [SEG2, 1]);
  removeDir(dir);
});

test('a forged checkpoint: signed with another key', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG1);
  const i = ls.length - 1;
  const cp = JSON.parse(ls[i]);
  const payload = Buffer.from(cp.jws.split('.')[1], 'base64url');
  const jws = await new CompactSign(payload).setProtectedHeader({ alg: 'EdDSA', kid: key.signing.kid, typ: 'pamc-audit-checkpoint' }).sign(otherKey.signing.key);
  ls[i] = JSON.stringify({ ...cp, jws });
  writeLines(dir, SEG1, ls);
  const p = first(await check(dir));
  assert.is(p.code, 'bad-signature');
  assert.equal([p.segment, p.line, p.seq], [SEG1, i + 1, cp.seq]);
  // without a trusted key the chain still catches it: the next segment chained the real line
  assert.is(first(await verifyLog(dir)).code, 'altered');
  // the final checkpoint re-signed with another key: only the signature can tell
  const ls3 = lines(dir, SEG3);
  const j = ls3.length - 1;
  const last = JSON.parse(ls3[j]);
  const jws3 = await new CompactSign(Buffer.from(last.jws.split('.')[1], 'base64url'))
    .setProtectedHeader({ alg: 'EdDSA', kid: otherKey.signing.kid, typ: 'pamc-audit-checkpoint' })
    .sign(otherKey.signing.key);
  ls3[j] = JSON.stringify({ ...last, jws: jws3 });
  writeLines(dir, SEG3, ls3);
  writeLines(dir, SEG1, lines(dir, SEG1).map((l, k) => (k === i ? JSON.stringify(cp) : l)));
  const p3 = first(await check(dir));
  assert.is(p3.code, 'bad-signature');
  assert.equal([p3.segment, p3.line, p3.seq], [SEG3, j + 1, last.seq]);
  // without a trusted key that forgery goes through, and the report says signatures were not checked
  const unchecked = await verifyLog(dir);
  assert.ok(unchecked.ok);
  assert.is(unchecked.signatures, 'unchecked');
  assert.match(unchecked.notices.join('\n'), 'not checked');
  removeDir(dir);
});

test('a forged checkpoint: its payload edited, or its fields no longer what it signs', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG2);
  const i = ls.length - 1;
  const cp = JSON.parse(ls[i]);
  const [h, pl, sig] = cp.jws.split('.');
  const payload = JSON.parse(Buffer.from(pl, 'base64url').toString());
  const edited = Buffer.from(JSON.stringify({ ...payload, count: payload.count + 5 })).toString('base64url');
  ls[i] = JSON.stringify({ ...cp, jws: `${h}.${edited}.${sig}` });
  writeLines(dir, SEG2, ls);
  let p = first(await check(dir));
  assert.is(p.code, 'bad-checkpoint');
  assert.equal([p.segment, p.line, p.seq], [SEG2, i + 1, cp.seq]);
  // the payload re-signed by the real key but the record's time changed: a mismatch
  ls[i] = JSON.stringify({ ...cp, ts: '2030-01-01T00:00:00.000Z' });
  writeLines(dir, SEG2, ls);
  p = first(await check(dir));
  assert.is(p.code, 'bad-checkpoint');
  assert.match(p.message, 'ts');
  // the final checkpoint of the log: no later record chains it, the signature still covers it
  const ls3 = lines(dir, SEG3);
  const j = ls3.length - 1;
  const last = JSON.parse(ls3[j]);
  writeLines(dir, SEG2, lines(dir, SEG2).map((l, k) => (k === i ? JSON.stringify(cp) : l)));
  ls3[j] = JSON.stringify({ ...last, reason: 'interval' });
  writeLines(dir, SEG3, ls3);
  p = first(await check(dir));
  assert.is(p.code, 'bad-checkpoint');
  assert.equal([p.segment, p.line], [SEG3, j + 1]);
  removeDir(dir);
});

test('a checkpoint signed with alg none or HS256 is refused', async () => {
  const dir = await makeLog();
  const ls = lines(dir, SEG1);
  const i = ls.length - 1;
  const cp = JSON.parse(ls[i]);
  const [, pl] = cp.jws.split('.');
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'pamc-audit-checkpoint' })).toString('base64url')}.${pl}.`;
  ls[i] = JSON.stringify({ ...cp, jws: none });
  writeLines(dir, SEG1, ls);
  const p = first(await check(dir));
  assert.ok(p.code === 'bad-checkpoint' || p.code === 'malformed', p.code);
  assert.equal([p.segment, p.line], [SEG1, i + 1]);
  removeDir(dir);
});

test('a whole log rewritten by someone without the key: only the signatures catch it', async () => {
  const dir = await makeLog();
  // recompute the chain after changing a statement, and re-sign with another key
  const ls = lines(dir, SEG1);
  const i = ls.findIndex((l) => l.includes('DROP TABLE'));
  const out: string[] = [];
  let prev = JSON.parse(ls[0]).prev;
  for (let k = 0; k < ls.length; k++) {
    const rec = JSON.parse(ls[k]);
    rec.prev = prev;
    if (k === i) rec.text = 'SELECT 1';
    if (rec.kind === 'checkpoint') {
      const payload = { log: JSON.parse(ls[0]).log, segment: 1, seq: rec.seq - 1, hash: prev, count: rec.seq, ts: rec.ts, reason: rec.reason };
      rec.jws = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'EdDSA', kid: otherKey.signing.kid, typ: 'pamc-audit-checkpoint' }).sign(otherKey.signing.key);
    }
    const line = JSON.stringify(rec);
    out.push(line);
    prev = lineHash(line);
  }
  writeLines(dir, SEG1, out);
  // segment 2 no longer chains either, so cut the log to segment 1 as a careful forger would
  unlinkSync(join(dir, SEG2));
  unlinkSync(join(dir, SEG3));
  const p = first(await check(dir));
  assert.is(p.code, 'bad-signature');
  assert.match(p.message, 'not among the trusted keys');
  removeDir(dir);
});

test.run();
