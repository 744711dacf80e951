// The recorder: records of every kind valid against spec/audit-record.schema.json, the hash
// chain exactly as specified, checkpoints, rotation by size and by age, restarts, limits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { genesisHash, sha256Hex } from '../../../runtime/audit/chain.ts';
import { readCheckpoint } from '../../../runtime/audit/checkpoint.ts';
import { RecorderStartError } from '../../../runtime/audit/recorder.ts';
import { verifyLog } from '../../../runtime/audit/verify.ts';
import { allRecords, lines, newKey, recorder, removeDir, schemaErrors, segments, session, sleep, tempDir } from './helpers.ts';

test('every record kind is valid against the schema, and the log verifies', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  const r = await recorder(dir, signing);
  session(r, 3);
  await r.close();
  const records = allRecords(dir);
  const kinds = new Set(records.map((x) => x.kind));
  assert.equal([...kinds].sort(), ['approval', 'checkpoint', 'connect', 'disconnect', 'open', 'policy', 'statement']);
  for (const rec of records) assert.equal(schemaErrors(rec), [], `${String(rec.kind)} seq ${String(rec.seq)}`);
  const report = await verifyLog(dir, { keys: trusted });
  assert.ok(report.ok, JSON.stringify(report.problems));
  assert.ok(report.closed);
  assert.is(report.checkpoints.verified, 1);
  removeDir(dir);
});

test('outage and gap records are valid against the schema too', () => {
  const ts = '2026-01-01T00:00:00.000Z';
  const head = { seq: 9, prev: 'a'.repeat(64), ts };
  assert.equal(schemaErrors({ ...head, kind: 'outage', since: ts, until: ts, error: { code: 'ENOSPC', message: 'no space left' }, onFailure: 'refuse' }), []);
  assert.equal(schemaErrors({ ...head, kind: 'gap', lost: 3, kinds: { statement: 2, connect: 1 }, from: ts, to: ts }), []);
  // and the schema refuses what is not a record
  assert.ok(schemaErrors({ ...head, kind: 'statement', session: 's', text: 'x', facts: [], decision: 'maybe', rules: [], outcome: 'ok' }).length > 0);
  assert.ok(schemaErrors({ ...head, kind: 'connect', extra: 1 }).length > 0);
});

test('the chain: prev of seq 0 is the genesis of the log id, then SHA-256 of the previous line', async () => {
  const dir = tempDir();
  const { signing } = await newKey();
  const r = await recorder(dir, signing);
  session(r);
  await r.close();
  const ls = lines(dir, segments(dir)[0]);
  const first = JSON.parse(ls[0]);
  assert.is(first.kind, 'open');
  assert.is(first.seq, 0);
  assert.is(first.prev, sha256Hex('pamc-audit-genesis:' + first.log));
  assert.is(first.prev, genesisHash(first.log));
  for (let i = 1; i < ls.length; i++) {
    const rec = JSON.parse(ls[i]);
    assert.is(rec.seq, i);
    assert.is(rec.prev, sha256Hex(Buffer.from(ls[i - 1], 'utf8')));
    // the line is canonical JSON with the head first
    assert.is(JSON.stringify(rec), ls[i]);
    assert.equal(Object.keys(rec).slice(0, 4), ['seq', 'prev', 'ts', 'kind']);
  }
  // the final checkpoint signs the record before it and the count
  const last = JSON.parse(ls[ls.length - 1]);
  assert.is(last.kind, 'checkpoint');
  assert.is(last.reason, 'close');
  const cp = readCheckpoint(last.jws);
  assert.ok(!('error' in cp));
  if (!('error' in cp)) {
    assert.equal(cp.payload, { log: first.log, segment: 1, seq: last.seq - 1, hash: last.prev, count: last.seq, ts: last.ts, reason: 'close' });
    assert.is(cp.kid, signing.kid);
  }
  removeDir(dir);
});

test('checkpoints every N records', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey('ec');
  const r = await recorder(dir, signing, { checkpoint: { everyRecords: 10, everyMs: 3_600_000 } });
  const s = r.connect({ identity: null, client: { address: '::1' }, target: { name: 't', kind: 'postgres' }, tls: null });
  for (let i = 0; i < 45; i++) {
    r.statement(s, { text: `SELECT ${i}`, facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  }
  await r.flush();
  const records = allRecords(dir);
  const cps = records.filter((x) => x.kind === 'checkpoint');
  assert.is(cps.length, 4);
  // between two checkpoints there are never more than 10 records
  let since = 0;
  for (const rec of records) {
    if (rec.kind === 'checkpoint') since = 0;
    else assert.ok(++since <= 10);
  }
  await r.close();
  const report = await verifyLog(dir, { keys: trusted });
  assert.ok(report.ok, JSON.stringify(report.problems));
  assert.is(report.checkpoints.verified, 5);
  removeDir(dir);
});

test('checkpoints after an interval when records were written, none when idle', async () => {
  const dir = tempDir();
  const { signing } = await newKey();
  const r = await recorder(dir, signing, { checkpoint: { everyMs: 60, everyRecords: 1_000_000 } });
  r.policy({ name: 'p', digest: 'd', reason: 'start' });
  await sleep(250);
  const n = allRecords(dir).filter((x) => x.kind === 'checkpoint').length;
  assert.is(n, 1, 'one checkpoint for the records, then nothing new to sign');
  await r.close();
  removeDir(dir);
});

test('rotation by size: every segment stays under the limit, begins with an open record, ends with a rotate checkpoint', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  const maxBytes = 16 * 1024;
  const r = await recorder(dir, signing, { rotate: { maxBytes } });
  const s = r.connect({ identity: null, client: { address: '::1' }, target: { name: 't', kind: 'postgres' }, tls: null });
  for (let i = 0; i < 400; i++) {
    r.statement(s, { text: `SELECT '${'x'.repeat(100)}', ${i}`, facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  }
  await r.close();
  const segs = segments(dir);
  assert.ok(segs.length >= 4, `${segs.length} segments`);
  for (const [i, seg] of segs.entries()) {
    assert.ok(statSync(join(dir, seg)).size <= maxBytes, `${seg} is ${statSync(join(dir, seg)).size} bytes`);
    const ls = lines(dir, seg).map((l) => JSON.parse(l));
    assert.is(ls[0].kind, 'open');
    assert.is(ls[0].segment, i + 1);
    assert.is(ls[0].reason, i === 0 ? 'create' : 'rotate');
    if (i > 0) assert.equal(ls[0].previous, { segment: i, lastSeq: ls[0].seq - 1, closed: true, tailBytes: 0 });
    const last = ls[ls.length - 1];
    assert.is(last.kind, 'checkpoint');
    assert.is(last.reason, i === segs.length - 1 ? 'close' : 'rotate');
  }
  const report = await verifyLog(dir, { keys: trusted });
  assert.ok(report.ok, JSON.stringify(report.problems));
  assert.is(report.records, 400 + 1 + segs.length * 2);
  removeDir(dir);
});

test('rotation by age: an old segment is closed at the next record, and by the timer when it holds records', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  let now = Date.parse('2026-03-01T00:00:00Z');
  const r = await recorder(dir, signing, { rotate: { maxAgeMs: 3_600_000 }, now: () => now });
  r.policy({ name: 'p', digest: 'd', reason: 'start' });
  await r.flush();
  assert.is(segments(dir).length, 1);
  now += 3_600_000;
  r.policy({ name: 'p', digest: 'd', reason: 'reload' });
  await r.flush();
  assert.is(segments(dir).length, 2, 'rotated before writing the record');
  const second = lines(dir, segments(dir)[1]).map((l) => JSON.parse(l));
  assert.equal(
    second.map((x) => x.kind),
    ['open', 'policy'],
  );
  // the timer rotates an old segment that holds records, even when nothing new comes
  now += 3_600_000;
  await sleep(1200);
  assert.is(segments(dir).length, 3);
  // and does not rotate an empty one again and again
  now += 3_600_000;
  await sleep(1200);
  assert.is(segments(dir).length, 3);
  await r.close();
  const report = await verifyLog(dir, { keys: trusted });
  assert.ok(report.ok, JSON.stringify(report.problems));
  removeDir(dir);
});

test('a restart begins a new segment that states how the previous one ended', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  const a = await recorder(dir, signing);
  session(a);
  await a.close();
  const b = await recorder(dir, signing);
  session(b);
  await b.close();
  const [s1, s2] = segments(dir);
  const end1 = JSON.parse(lines(dir, s1).at(-1)!);
  const open2 = JSON.parse(lines(dir, s2)[0]);
  assert.is(open2.reason, 'start');
  assert.equal(open2.previous, { segment: 1, lastSeq: end1.seq, closed: true, tailBytes: 0 });
  assert.is(open2.seq, end1.seq + 1);
  assert.is(open2.log, JSON.parse(lines(dir, s1)[0]).log);
  const report = await verifyLog(dir, { keys: trusted });
  assert.ok(report.ok, JSON.stringify(report.problems));
  removeDir(dir);
});

test('stopped between a rotation checkpoint and the next open record: the restart chains on and is named', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  const a = await recorder(dir, signing, { rotate: { maxBytes: 4096 } });
  const s = a.connect({ identity: null, client: { address: '::1' }, target: { name: 't', kind: 'postgres' }, tls: null });
  for (let i = 0; i < 40; i++) a.statement(s, { text: `SELECT ${'y'.repeat(100)}, ${i}`, facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  await a.close();
  // the state a crash right after writing a rotation checkpoint leaves: the last segment ends with it
  const segs = segments(dir);
  assert.ok(segs.length >= 3);
  rmSync(join(dir, segs.at(-1)!));
  const ended = JSON.parse(lines(dir, segs.at(-2)!).at(-1)!);
  assert.is(ended.reason, 'rotate');
  const b = await recorder(dir, signing);
  session(b);
  await b.close();
  const open = JSON.parse(lines(dir, segments(dir).at(-1)!)[0]);
  assert.equal([open.reason, open.previous], ['start', { segment: segs.length - 1, lastSeq: ended.seq, closed: true, tailBytes: 0 }]);
  const report = await verifyLog(dir, { keys: trusted });
  assert.ok(report.ok, JSON.stringify(report.problems));
  assert.match(report.notices.join('\n'), `${segs.at(-2)} ended with its rotation checkpoint at seq ${ended.seq} and the gateway stopped before opening the next segment`);
  removeDir(dir);
});

test('one gateway per directory', async () => {
  const dir = tempDir();
  const { signing } = await newKey();
  const a = await recorder(dir, signing);
  // a lock held by a live process (this one's parent) is respected
  writeFileSync(join(dir, '.lock'), `${process.ppid}\n`);
  try {
    await recorder(dir, signing);
    assert.unreachable('a second recorder opened');
  } catch (e) {
    assert.instance(e, RecorderStartError);
    assert.match((e as Error).message, /another gateway/);
  }
  writeFileSync(join(dir, '.lock'), `${process.pid}\n`);
  await a.close();
  removeDir(dir);
});

test('an unreadable last record stops the start rather than forking the chain', async () => {
  const dir = tempDir();
  const { signing } = await newKey();
  const a = await recorder(dir, signing);
  await a.close();
  const seg = join(dir, segments(dir)[0]);
  writeFileSync(seg, readFileSync(seg, 'utf8') + 'garbage\n');
  try {
    await recorder(dir, signing);
    assert.unreachable('started');
  } catch (e) {
    assert.instance(e, RecorderStartError);
    assert.match((e as Error).message, /cannot be read/);
  }
  removeDir(dir);
});

test('long values are cut with their length and hash; the record is a snapshot of the call', async () => {
  const dir = tempDir();
  const { signing } = await newKey();
  const r = await recorder(dir, signing);
  const text = 'SELECT ' + "'é'".repeat(30_000);
  const params: (string | null)[] = ['p'.repeat(5000), ...Array.from({ length: 300 }, (_, i) => String(i))];
  const facts = [{ action: 'select', resource: 'public.t' }];
  r.statement('s.1', { text, params, facts, decision: 'allow', rules: [1], outcome: 'ok' });
  facts.push({ action: 'delete', resource: 'public.t' });
  params[1] = 'changed';
  // every object of the input changed after the call, a binary parameter's bytes too
  const bytes = new Uint8Array([1, 2, 3]);
  const input = {
    text: 'SELECT $1',
    params: [bytes],
    facts: [{ action: 'select', resource: 'public.u' }],
    decision: 'allow' as const,
    rules: [2],
    outcome: 'error' as const,
    rows: { command: 'SELECT', returned: 1 },
    masked: ['public.u.email'],
    limit: { rows: 10, rule: 2, reached: false },
    error: { sqlstate: '57014', message: 'canceling statement' },
    timing: { startedAt: 1_764_126_000_000, executeMs: 1.5 },
  };
  r.statement('s.1', input);
  const before = JSON.parse(JSON.stringify({ ...input, params: [{ base64: 'AQID' }] }));
  bytes.fill(9);
  input.facts[0].resource = 'public.v';
  input.rules[0] = 3;
  input.rows.returned = 2;
  input.masked[0] = 'public.v.email';
  input.limit.reached = true;
  input.error.message = 'changed';
  input.timing.executeMs = 2;
  await r.close();
  const st = allRecords(dir).find((x) => x.kind === 'statement') as Record<string, any>;
  const second = allRecords(dir).filter((x) => x.kind === 'statement')[1] as Record<string, any>;
  assert.equal(second.params, before.params);
  assert.equal(second.facts, before.facts);
  assert.equal(second.rules, before.rules);
  assert.equal(second.rows, before.rows);
  assert.equal(second.masked, before.masked);
  assert.equal(second.limit, before.limit);
  assert.equal(second.error, { code: '57014', message: 'canceling statement' });
  assert.equal(second.timing, before.timing);
  assert.is(st.text.length, 64 * 1024);
  assert.equal(st.textTruncated, { length: text.length, sha256: sha256Hex(text) });
  assert.equal(st.params[0], { truncated: true, length: 5000, sha256: sha256Hex('p'.repeat(5000)) });
  assert.is(st.params.length, 256);
  assert.is(st.params[1], '0');
  assert.is(st.paramsOmitted, 45);
  assert.equal(st.facts, [{ action: 'select', resource: 'public.t' }]);
  assert.equal(schemaErrors(st), []);
  removeDir(dir);
});

test('a statement whose input does not serialise becomes a gap record; the records around it are written', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  const r = await recorder(dir, signing);
  const alerts: { reason: string }[] = [];
  r.on('alert', (a) => alerts.push(a));
  const ok = { text: 'SELECT 1', facts: [], decision: 'allow' as const, rules: [], outcome: 'ok' as const };
  r.statement('s.1', ok);
  // a value of a type the gateway never passes: it is copied at the call, and fails when written
  r.statement('s.1', { ...ok, text: 42 as unknown as string });
  r.statement('s.1', { ...ok, text: 'SELECT 2' });
  await r.flush();
  assert.is(r.status().state, 'open');
  assert.ok(r.writable);
  await r.close();
  const kinds = allRecords(dir).filter((x) => x.kind === 'statement' || x.kind === 'gap');
  assert.equal(kinds.map((x) => (x.kind === 'gap' ? `gap ${x.lost}` : x.text)), ['SELECT 1', 'gap 1', 'SELECT 2']);
  for (const x of kinds) assert.equal(schemaErrors(x), []);
  assert.equal(alerts.map((a) => a.reason), ['unserialisable']);
  assert.is(r.status().lost, 1);
  assert.ok((await verifyLog(dir, { keys: trusted })).ok);
  removeDir(dir);
});

test('a burst far larger than a batch: every statement written once, in order, across rotations, and after it', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  // small segments and frequent checkpoints cut the burst into many partial batches
  const r = await recorder(dir, signing, { rotate: { maxBytes: 1 << 20 }, checkpoint: { everyRecords: 1000 } });
  const text = (i: number) => `SELECT ${i}, '${'é'.repeat(i % 97)}'`;
  const record = (i: number) => r.statement('s.1', { query: i, text: text(i), params: [String(i)], facts: [], decision: 'allow', rules: [i % 7], outcome: 'ok' });
  for (let i = 0; i < 30_000; i++) record(i); // about 7 MiB of records waiting at once
  await r.flush();
  assert.is(r.status().queued, 0);
  for (let i = 30_000; i < 30_100; i++) record(i); // after the burst
  await r.close();
  const st = allRecords(dir).filter((x) => x.kind === 'statement') as Record<string, any>[];
  assert.is(st.length, 30_100);
  for (let i = 0; i < st.length; i++) {
    if (st[i].query !== i || st[i].text !== text(i) || st[i].params[0] !== String(i)) assert.unreachable(`record ${i}: ${JSON.stringify(st[i])}`);
  }
  assert.ok(segments(dir).length > 3);
  assert.ok((await verifyLog(dir, { keys: trusted })).ok);
  removeDir(dir);
});

test('status and the writable state of a healthy recorder', async () => {
  const dir = tempDir();
  const { signing } = await newKey();
  const r = await recorder(dir, signing, { onFailure: 'refuse' });
  assert.ok(r.writable);
  assert.ok(r.admits());
  const st = r.status();
  assert.is(st.state, 'open');
  assert.is(st.segment, 1);
  assert.is(st.nextSeq, 1);
  await r.close();
  assert.not.ok(r.writable);
  // after close nothing is written, and nothing throws
  r.statement('x', { text: 'SELECT 1', facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  assert.is(r.status().lost, 1);
  removeDir(dir);
});

test('the writer stopped by a defect of its own: not writable, an alert, flush does not hang, close says how many records were not written', async () => {
  const dir = tempDir();
  const { signing } = await newKey();
  const r = await recorder(dir, signing);
  const alerts: { reason: string }[] = [];
  r.on('alert', (a) => alerts.push(a));
  r.policy({ name: 'p', digest: 'd', reason: 'start' });
  await r.flush();
  const failed = new Promise((resolve) => r.once('failure', resolve));
  // an error that is not one of I/O (those are failures the writer recovers from)
  (r as unknown as { writer: { drain(): Promise<void> } }).writer.drain = () => Promise.reject(new TypeError('a defect'));
  r.statement('s.1', { text: 'SELECT 1', facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  await r.flush();
  assert.equal(((await failed) as { code: string; message: string }).code, 'EWRITER');
  assert.not.ok(r.writable);
  assert.not.ok(r.admits(), 'on_failure refuse: statements are refused');
  assert.equal(alerts.map((a) => a.reason), ['write_failed']);
  assert.match(r.status().failure!.message, /a defect/);
  try {
    await r.close();
    assert.unreachable('close should reject');
  } catch (e) {
    assert.match((e as Error).message, /1 records were not written/);
  }
  assert.is(r.status().state, 'closed');
  removeDir(dir);
});

test('a listener that throws when the writer stops neither crashes the process nor leaves a flush waiting: the recorder fails closed before any listener runs', async () => {
  const dir = tempDir();
  const { signing } = await newKey();
  const r = await recorder(dir, signing);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    r.on('failure', () => {
      throw new TypeError('a listener broke');
    });
    r.on('alert', () => {
      throw new TypeError('another listener broke');
    });
    (r as unknown as { writer: { drain(): Promise<void> } }).writer.drain = () => Promise.reject(new TypeError('a defect'));
    // handed over by the recorder's own timer: nothing else waits on the writer when it breaks
    r.statement('s.1', { text: 'SELECT 1', facts: [], decision: 'allow', rules: [], outcome: 'ok' });
    await sleep(100);
    assert.equal(unhandled, []);
    await r.flush();
    assert.is(r.status().failure?.code, 'EWRITER');
    assert.not.ok(r.admits(), 'statements are refused');
    await r.close().catch(() => {});
    // the same with a flush waiting when the writer breaks: the flush is answered all the same
    const dir2 = tempDir();
    const r2 = await recorder(dir2, signing);
    r2.on('failure', () => {
      throw new TypeError('a listener broke');
    });
    (r2 as unknown as { writer: { drain(): Promise<void> } }).writer.drain = () => Promise.reject(new TypeError('a defect'));
    r2.statement('s.1', { text: 'SELECT 1', facts: [], decision: 'allow', rules: [], outcome: 'ok' });
    assert.is(await Promise.race([r2.flush().then(() => 'answered'), sleep(2000).then(() => 'hung')]), 'answered');
    assert.is(r2.status().failure?.code, 'EWRITER');
    await r2.close().catch(() => {});
    removeDir(dir2);
    assert.equal(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  removeDir(dir);
});

test('a throwing receiver of written lines (a forwarder) fails closed like a defect of the writer; the log written verifies', async () => {
  const dir = tempDir();
  const key = await newKey();
  let seen = 0;
  const r = await recorder(dir, key.signing, {
    onWritten: () => {
      if (++seen === 3) throw new TypeError('the receiver broke');
    },
  });
  const alerts: { reason: string }[] = [];
  r.on('alert', (a) => alerts.push(a));
  const failed = new Promise((resolve) => r.once('failure', resolve));
  r.policy({ name: 'p', digest: 'd', reason: 'start' });
  for (let i = 0; i < 5; i++) r.statement('s.1', { text: `SELECT ${i}`, facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  await r.flush();
  assert.equal(((await failed) as { code: string }).code, 'EWRITER');
  assert.match(r.status().failure!.message, /the receiver broke/);
  assert.not.ok(r.admits(), 'on_failure refuse: statements are refused from now on');
  assert.equal(alerts.map((a) => a.reason), ['write_failed']);
  r.statement('s.1', { text: 'SELECT 5', facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  await r.close().catch(() => {});
  assert.is(r.status().state, 'closed');
  // the batch the receiver broke on was written before it was told: the log holds it, and its one
  // problem is that no final checkpoint closes it (as after a crash)
  const verified = await verifyLog(dir, { keys: key.trusted });
  assert.equal(verified.problems.map((p) => p.code), ['not-closed']);
  assert.is(verified.records, 7, 'open, policy and the five statements');
  removeDir(dir);
});

/** The threads of this process and how often each has gone to sleep (voluntary context switches). */
function threadSleeps(): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      m.set(t, Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${t}/status`, 'utf8'))?.[1] ?? 0));
    } catch {
      // the thread ended
    }
  }
  return m;
}

test('an idle recorder starts no thread and wakes none; a record after an idle time is written at once', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  const before = new Set(threadSleeps().keys());
  // the recorder's own tick (checkpoint and rotation by time) comes once a second
  const r = await recorder(dir, signing, { checkpoint: { everyMs: 60_000 } });
  session(r, 2);
  await r.flush();
  await sleep(400);
  const idleFrom = threadSleeps();
  await sleep(1000);
  const idleTo = threadSleeps();
  assert.equal([...idleTo.keys()].filter((t) => !before.has(t)), [], 'threads started by the recorder');
  // no thread of the process (the gateway's, the runtime's) wakes more than a few times in an idle second
  let most = 0;
  for (const [t, n] of idleTo) if (idleFrom.has(t)) most = Math.max(most, n - idleFrom.get(t)!);
  assert.ok(most <= 25, `a thread woke ${most} times in an idle second`);
  // a record now is written within milliseconds, not at the next tick
  const t0 = Date.now();
  r.statement('s.1', { text: 'SELECT 1 /* after the idle time */', facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  while (r.status().queued > 0 && Date.now() - t0 < 900) await sleep(2);
  assert.ok(Date.now() - t0 < 300, `written after ${Date.now() - t0} ms`);
  // and again after another idle time, many at once
  await sleep(300);
  for (let i = 0; i < 1000; i++) r.statement('s.1', { text: `SELECT ${i}`, facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  const t1 = Date.now();
  while (r.status().queued > 0 && Date.now() - t1 < 900) await sleep(2);
  assert.ok(Date.now() - t1 < 300, `written after ${Date.now() - t1} ms`);
  await r.close();
  const texts = (allRecords(dir) as Record<string, any>[]).filter((x) => x.kind === 'statement').map((x) => x.text);
  assert.ok(texts.includes('SELECT 1 /* after the idle time */'));
  assert.equal(texts.slice(-1000), Array.from({ length: 1000 }, (_, i) => `SELECT ${i}`));
  assert.ok((await verifyLog(dir, { keys: trusted })).ok);
  removeDir(dir);
});

test('a record larger than a whole batch keeps its place, alone and inside a batch', async () => {
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  const r = await recorder(dir, signing);
  const huge = 'SELECT ' + "'🙂'".repeat(200_000); // 1.2 MB as UTF-16: more than a batch holds
  const texts = ['SELECT 1', huge, 'SELECT 2'];
  for (const text of texts) {
    r.statement('s.1', { text, facts: [], decision: 'allow', rules: [], outcome: 'ok' });
    await r.flush();
  }
  // and inside one batch: small, huge, small without a pause
  for (const text of texts) r.statement('s.1', { text, facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  await r.close();
  const st = allRecords(dir).filter((x) => x.kind === 'statement') as Record<string, any>[];
  assert.equal(
    st.map((x) => x.textTruncated?.length ?? x.text),
    ['SELECT 1', huge.length, 'SELECT 2', 'SELECT 1', huge.length, 'SELECT 2'],
  );
  assert.equal(st[1].textTruncated.sha256, sha256Hex(huge));
  assert.ok((await verifyLog(dir, { keys: trusted })).ok);
  removeDir(dir);
});

test('a statement or an error too large for the queue is still recorded: the text cut with its whole length and hash, the message cut', async () => {
  // an agent cannot leave only a gap behind by sending a statement larger than the queue's bound
  const dir = tempDir();
  const { signing, trusted } = await newKey();
  const r = await recorder(dir, signing, { queue: { maxBytes: 8 * 1024 * 1024 } });
  const text = `SELECT '${'x'.repeat(20_000_000)}'`;
  r.statement('s.1', { text, facts: [], decision: 'allow', rules: [], outcome: 'ok' });
  // the server's error can quote such a value whole (SELECT '…'::int)
  const message = `invalid input syntax for type integer: "${'y'.repeat(20_000_000)}"`;
  r.statement('s.1', { text: 'SELECT $1::int', facts: [], decision: 'allow', rules: [], outcome: 'error', error: { sqlstate: '22P02', message } });
  await r.close();
  const records = allRecords(dir);
  assert.equal(records.filter((x) => x.kind === 'gap'), []);
  const st = records.find((x) => x.kind === 'statement') as Record<string, any>;
  assert.is(st.text, text.slice(0, 64 * 1024));
  assert.equal(st.textTruncated, { length: text.length, sha256: sha256Hex(text) });
  assert.equal(schemaErrors(st), []);
  const failed = records.find((x) => x.kind === 'statement' && x.outcome === 'error') as Record<string, any>;
  assert.equal(failed.error, { code: '22P02', message: message.slice(0, 4096) });
  assert.ok((await verifyLog(dir, { keys: trusted })).ok);
  removeDir(dir);
});

test.run();
