// When records cannot be written: a full disk (a 64 KiB tmpfs, mounted when the tests run as
// root), a full queue, a read-only directory. The recorder reports `writable` false and raises
// alerts; `admits()` follows the policy's on_failure; writing resumes on its own, and the log
// says what happened (outage and gap records) and still verifies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecorderStartError, type Recorder } from '../../../runtime/audit/recorder.ts';
import { verifyLog } from '../../../runtime/audit/verify.ts';
import { allRecords, newKey, recorder, removeDir, schemaErrors, sleep, tempDir } from './helpers.ts';

const key = await newKey();
const isRoot = process.getuid?.() === 0;

function tryMount(args: string[]): boolean {
  try {
    execFileSync('mount', args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A 64 KiB tmpfs, or null when mounting is not permitted here. */
function tinyDisk(): { dir: string; release(): void } | null {
  if (!isRoot) return null;
  const dir = tempDir('pamc-tmpfs-');
  if (!tryMount(['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir])) {
    removeDir(dir);
    return null;
  }
  return {
    dir,
    release() {
      tryMount(['-l', dir]); // no-op guard
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      }
      removeDir(dir);
    },
  };
}

function statement(r: Recorder, s: string, i: number): void {
  r.statement(s, {
    text: `UPDATE accounts SET note = '${'n'.repeat(400)}' WHERE id = ${i}`,
    facts: [{ action: 'update', resource: 'public.accounts' }],
    decision: 'allow',
    rules: [1],
    outcome: 'ok',
    rows: { affected: 1 },
  });
}

function waitFor(r: Recorder, event: string, ms = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    r.once(event, (x) => {
      clearTimeout(t);
      resolve(x);
    });
  });
}

async function fillUntilFailure(r: Recorder, session: string): Promise<number> {
  const failed = waitFor(r, 'failure', 10_000);
  let i = 0;
  const stop = { done: false };
  void failed.then(() => (stop.done = true));
  while (!stop.done && i < 1000) {
    statement(r, session, i++);
    await sleep(1);
  }
  await failed;
  return i;
}

test('disk full (tmpfs), on_failure refuse: not writable, statements refused, nothing lost, resumes', async () => {
  const disk = tinyDisk();
  if (disk === null) {
    console.log('  (skipped: mounting a tmpfs needs root; the read-only test below still runs)');
    return;
  }
  try {
    const filler = join(disk.dir, 'filler');
    writeFileSync(filler, Buffer.alloc(24 * 1024));
    const dir = join(disk.dir, 'audit');
    const alerts: unknown[] = [];
    const r = await recorder(dir, key.signing, { onFailure: 'refuse', retryMs: 50 });
    r.on('alert', (a) => alerts.push(a));
    const s = r.connect({ identity: null, client: { address: '::1' }, target: { name: 't', kind: 'postgres' }, tls: null });
    assert.ok(r.writable);
    const sent = await fillUntilFailure(r, s);
    assert.not.ok(r.writable, 'not writable once the disk is full');
    assert.not.ok(r.admits(), 'refuse: new statements are refused');
    const st = r.status();
    assert.is(st.failure?.code, 'ENOSPC');
    assert.ok(alerts.some((a) => (a as { reason: string }).reason === 'write_failed'));
    // what the gateway records meanwhile (the refusals) waits in the queue
    for (let i = 0; i < 5; i++) {
      r.statement(s, { text: 'SELECT 1', facts: [], decision: 'allow', rules: [], outcome: 'refused', error: { sqlstate: '58030', message: 'session records cannot be written' } });
    }
    await sleep(200);
    assert.not.ok(r.writable, 'still failing while the disk is full');
    // free space: writing resumes by itself, the outage is recorded first
    const recovered = waitFor(r, 'recovered');
    rmSync(filler);
    await recovered;
    assert.ok(r.writable);
    assert.ok(r.admits());
    await r.close();
    const records = allRecords(dir);
    const outage = records.find((x) => x.kind === 'outage') as Record<string, unknown> | undefined;
    assert.ok(outage, 'an outage record');
    assert.equal((outage as { error: { code: string } }).error.code, 'ENOSPC');
    assert.is(outage!.onFailure, 'refuse');
    assert.equal(schemaErrors(outage), []);
    assert.is(records.filter((x) => x.kind === 'statement').length, sent + 5, 'every statement was written');
    assert.not.ok(records.some((x) => x.kind === 'gap'));
    const report = await verifyLog(dir, { keys: key.trusted });
    assert.ok(report.ok, JSON.stringify(report.problems));
  } finally {
    disk.release();
  }
});

test('disk full (tmpfs), on_failure continue, a small queue: statements go on, lost records are counted', async () => {
  const disk = tinyDisk();
  if (disk === null) {
    console.log('  (skipped: mounting a tmpfs needs root)');
    return;
  }
  try {
    const filler = join(disk.dir, 'filler');
    writeFileSync(filler, Buffer.alloc(24 * 1024));
    const dir = join(disk.dir, 'audit');
    const r = await recorder(dir, key.signing, { onFailure: 'continue', retryMs: 50, queue: { maxRecords: 20 } });
    const alerts: { reason: string }[] = [];
    r.on('alert', (a) => alerts.push(a as { reason: string }));
    const s = r.connect({ identity: null, client: { address: '::1' }, target: { name: 't', kind: 'postgres' }, tls: null });
    await fillUntilFailure(r, s);
    assert.not.ok(r.writable);
    assert.ok(r.admits(), 'continue: statements go on');
    const queuedBefore = r.status().queued;
    for (let i = 0; i < 60; i++) statement(r, s, 10_000 + i);
    const lost = 60 - (20 - queuedBefore);
    assert.is(r.status().lost, lost);
    assert.ok(alerts.some((a) => a.reason === 'queue_full'));
    const recovered = waitFor(r, 'recovered');
    rmSync(filler);
    await recovered;
    // the queue has room again: recording goes on normally
    statement(r, s, 99_999);
    await r.close();
    const records = allRecords(dir);
    const gap = records.find((x) => x.kind === 'gap') as { lost: number; kinds: Record<string, number> } | undefined;
    assert.ok(gap, 'a gap record');
    assert.is(gap!.lost, lost);
    assert.equal(gap!.kinds, { statement: lost });
    assert.equal(schemaErrors(gap), []);
    const outage = records.find((x) => x.kind === 'outage') as { onFailure: string } | undefined;
    assert.is(outage?.onFailure, 'continue');
    // the outage comes before the records kept in the queue, the gap after them
    const kinds = records.map((x) => x.kind);
    assert.ok(kinds.indexOf('outage') < kinds.indexOf('gap'));
    assert.ok((await verifyLog(dir, { keys: key.trusted })).ok);
  } finally {
    disk.release();
  }
});

test('a read-only directory: the recorder does not start, and says why', async () => {
  const dir = tempDir('pamc-ro-');
  const audit = join(dir, 'audit');
  mkdirSync(audit);
  let release = () => chmodSync(audit, 0o700);
  if (isRoot) {
    // root ignores permissions: make the directory a read-only bind mount
    if (!tryMount(['--bind', audit, audit]) || !tryMount(['-o', 'remount,bind,ro', audit])) {
      console.log('  (skipped: a read-only bind mount needs root)');
      removeDir(dir);
      return;
    }
    release = () => execFileSync('umount', [audit], { stdio: 'ignore' });
  } else chmodSync(audit, 0o500);
  try {
    await recorder(audit, key.signing);
    assert.unreachable('the recorder started in a read-only directory');
  } catch (e) {
    assert.instance(e, RecorderStartError);
    assert.match((e as Error).message, /EROFS|EACCES|read-only|permission/i);
  } finally {
    release();
    removeDir(dir);
  }
});

test('a full queue on a healthy disk: a gap record, and writable again once there is room', async () => {
  const dir = tempDir();
  const r = await recorder(dir, key.signing, { queue: { maxRecords: 10 } });
  const s = r.connect({ identity: null, client: { address: '::1' }, target: { name: 't', kind: 'postgres' }, tls: null });
  // 30 records in one tick: the writer has not run yet, the queue holds 10
  for (let i = 0; i < 30; i++) statement(r, s, i);
  assert.not.ok(r.writable);
  assert.is(r.status().lost, 21);
  await r.flush();
  statement(r, s, 100);
  assert.ok(r.writable);
  await r.close();
  const records = allRecords(dir);
  const gap = records.find((x) => x.kind === 'gap') as { lost: number } | undefined;
  assert.is(gap?.lost, 21);
  assert.ok((await verifyLog(dir, { keys: key.trusted })).ok);
  removeDir(dir);
});

test.run();
