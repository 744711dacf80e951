// A crash in the middle of writing: a child process records continuously and is killed with
// SIGKILL. The log verifies up to its last complete record and reports a torn last line
// distinctly; a restarted recorder records the crash, chains on, and the log verifies whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readFileSync, statSync } from 'node:fs';
import { openRecorder } from '../../../runtime/audit/recorder.ts';
import { verifyLog } from '../../../runtime/audit/verify.ts';
import { newKey, removeDir, segments, sleep, tempDir } from '../../unit/audit/helpers.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../../..');
const key = await newKey();

async function writeAndKill(dir: string, runMs: number, tear: boolean): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'writer-child.ts'), dir], {
    cwd: root,
    env: { ...process.env, PAMC_TEST_AUDIT_KEY: key.privateJwk, PAMC_TEST_TEAR: tear ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (tear) {
    const code = await new Promise((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
    assert.is(code, 'SIGKILL');
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the writer did not start')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`the writer exited (${code})`)));
  });
  await sleep(runMs);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

test('killed while writing: verifies up to the last complete record, the torn tail reported apart', async () => {
  let torn = 0;
  const rounds = 6;
  for (let round = 0; round < rounds; round++) {
    const dir = tempDir('pamc-crash-');
    // the last two rounds tear the last write for certain; the others are killed wherever they are
    const tear = round >= rounds - 2;
    await writeAndKill(dir, 150 + round * 70, tear);
    const report = await verifyLog(dir, { keys: key.trusted });
    const codes = report.problems.map((p) => p.code);
    // no integrity problem: only the state of the end of the log
    assert.ok(codes.every((c) => c === 'incomplete-tail' || c === 'not-closed'), JSON.stringify(report.problems));
    assert.ok(codes.includes('not-closed'), 'a killed writer never closes the log');
    assert.ok(report.records > 1000, `${report.records} records verified`);
    const last = segments(dir).at(-1)!;
    const size = statSync(join(dir, last)).size;
    const text = readFileSync(join(dir, last), 'utf8');
    if (!text.endsWith('\n')) {
      torn++;
      assert.is(codes[0], 'incomplete-tail');
      assert.is(report.problems[0].segment, last);
      assert.ok(report.tail !== null && report.tail.bytes === size - (text.lastIndexOf('\n') + 1));
      assert.match(report.problems[0].message, 'the records before it verify');
    } else {
      assert.not.ok(tear, 'a torn write leaves a partial line');
      assert.is(report.tail, null);
    }
    // the command line says the same, with exit code 1
    const cli = await run(process.execPath, [join(root, 'bin/pamc.js'), 'audit', 'verify', dir], { cwd: root }).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    assert.is(cli.code, 1);
    assert.match(cli.stdout, 'not-closed');
    // a restart records the crash and chains on from the last complete record
    const r = await openRecorder({ dir, key: key.signing });
    r.policy({ name: 'p', digest: 'd', reason: 'start' });
    await r.close();
    const after = await verifyLog(dir, { keys: key.trusted });
    assert.ok(after.ok, JSON.stringify(after.problems));
    // killed between a rotation checkpoint and the next segment's open record, the log ends closed
    // by rotation: the restart is the notice then
    const notice = report.tail ? 'torn record' : /ended without a checkpoint|stopped before opening the next segment/;
    assert.match(after.notices.join('\n'), notice, JSON.stringify({ notices: after.notices, problems: report.problems }));
    const complete = text.slice(0, text.lastIndexOf('\n')).split('\n').at(-1)!;
    const ending = JSON.parse(complete);
    const endsWithRotation = ending.kind === 'checkpoint' && ending.reason === 'rotate';
    const open = JSON.parse(readFileSync(join(dir, segments(dir).at(-1)!), 'utf8').split('\n')[0]);
    assert.equal(open.previous, { segment: Number(last.slice(6, 14)), lastSeq: report.lastSeq, closed: endsWithRotation, tailBytes: report.tail?.bytes ?? 0 });
    removeDir(dir);
  }
  assert.ok(torn >= 2);
  console.log(`  ${torn} of ${rounds} kills left a torn last line`);
});

test.run();
