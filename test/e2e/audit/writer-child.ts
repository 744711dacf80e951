// A gateway stand-in for the crash test: records statements as fast as it can, with a few large
// ones so a kill may land in the middle of a write. Prints `ready` once the first records are on
// disk; the parent then kills it with SIGKILL. With PAMC_TEST_TEAR=1 it makes the torn write
// itself, as the kernel does when a process dies inside write(): once its queue is written, it
// appends the first half of a record to the segment and kills itself.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { segmentName } from '../../../runtime/audit/chain.ts';
import { loadSigningKey } from '../../../runtime/audit/keys.ts';
import { openRecorder } from '../../../runtime/audit/recorder.ts';

const dir = process.argv[2];
const key = await loadSigningKey(process.env.PAMC_TEST_AUDIT_KEY ?? '');
const r = await openRecorder({ dir, key, checkpoint: { everyRecords: 500, everyMs: 50 }, rotate: { maxBytes: 4 * 1024 * 1024 } });
const s = r.connect({ identity: { subject: 'crash-test', groups: [], agent: null }, client: { address: '127.0.0.1' }, target: { name: 'db', kind: 'postgres' }, tls: null });
let i = 0;
let announced = false;
for (;;) {
  for (let k = 0; k < 200; k++, i++) {
    const big = i % 50 === 0;
    r.statement(s, {
      text: big ? `INSERT INTO blobs VALUES ('${'x'.repeat(60_000)}')` : `SELECT * FROM orders WHERE id = ${i}`,
      params: [String(i)],
      facts: [{ action: big ? 'insert' : 'select', resource: big ? 'public.blobs' : 'public.orders' }],
      decision: 'allow',
      rules: [1],
      outcome: 'ok',
      rows: { returned: 1 },
    });
  }
  await new Promise((resolve) => setImmediate(resolve));
  if (!announced && r.status().nextSeq > 1000) {
    announced = true;
    if (process.env.PAMC_TEST_TEAR === '1') {
      await r.flush();
      const st = r.status();
      const half = `{"seq":${st.nextSeq},"prev":"${'0'.repeat(64)}","ts":"${new Date().toISOString()}","kind":"statement","session":"${s}","text":"SELECT * FROM ord`;
      appendFileSync(join(dir, segmentName(st.segment)), half);
      process.kill(process.pid, 'SIGKILL');
    }
    process.stdout.write('ready\n');
  }
}
