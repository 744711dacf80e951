// What session records cost: a measurement script, not a test (figures depend on the machine).
//   node --import tsx test/unit/audit/measure.ts [records]
// Prints the time a `statement()` call takes on the caller's side (the gateway's hot path), the
// records per second the writer sustains to disk, with and without forwarding to a local
// collector, and how fast `verify` reads a log back.

import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Forwarder } from '../../../runtime/audit/forward.ts';
import type { StatementInput } from '../../../runtime/audit/records.ts';
import { verifyLog } from '../../../runtime/audit/verify.ts';
import { freePort } from '../../support/ports.ts';
import { newKey, recorder, removeDir, tempDir } from './helpers.ts';

const total = Number(process.argv[2] ?? 200_000);
const key = await newKey();

const input: StatementInput = {
  query: 1,
  protocol: 'extended',
  text: 'SELECT o.id, o.status, o.total FROM public.orders o WHERE o.customer_id = $1 AND o.created_at > $2 LIMIT 50',
  params: ['18273', '2026-01-01'],
  fingerprint: '8c2e5a1f0b7d3e49',
  facts: [{ action: 'select', resource: 'public.orders' }],
  decision: 'allow',
  rules: [12],
  outcome: 'ok',
  rows: { returned: 50, command: 'SELECT 50' },
  masked: [],
  timing: { decideUs: 1.2, executeMs: 0.9, totalMs: 1.3 },
};

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function run(label: string, withForwarder: boolean): Promise<string> {
  const dir = tempDir('pamc-measure-');
  let server: ReturnType<typeof createServer> | null = null;
  let forwarder: Forwarder | null = null;
  let received = 0;
  if (withForwarder) {
    const port = await freePort();
    server = createServer((req, res) => {
      req.on('data', (d: Buffer) => {
        for (const b of d) if (b === 10) received++;
      });
      req.on('end', () => {
        received++;
        res.writeHead(200).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    forwarder = new Forwarder({ url: `http://127.0.0.1:${port}/services/collector/event`, token: 't', dir });
  }
  const r = await recorder(dir, key.signing, forwarder ? { onWritten: (w) => forwarder!.offer(w) } : {});
  await forwarder?.start();
  const session = r.connect({ identity: { subject: 'bench', groups: ['g'], agent: null }, client: { address: '127.0.0.1' }, target: { name: 'db', kind: 'postgres' }, tls: null });
  // warm up
  for (let i = 0; i < 20_000; i++) r.statement(session, input);
  await r.flush();

  const chunk = 500;
  const samples: number[] = [];
  let callTime = 0;
  const t0 = performance.now();
  for (let done = 0; done < total; done += chunk) {
    const c0 = performance.now();
    for (let i = 0; i < chunk; i++) {
      if (i === chunk >> 1) {
        const s0 = performance.now();
        r.statement(session, input);
        samples.push((performance.now() - s0) * 1000);
      } else r.statement(session, input);
    }
    callTime += performance.now() - c0;
    // the gateway yields to the event loop between network reads; so does this loop
    await new Promise((resolve) => setImmediate(resolve));
  }
  await r.flush();
  const elapsed = performance.now() - t0;
  const status = r.status();
  await r.close();
  if (forwarder) {
    await forwarder.flush(60_000);
    await forwarder.close();
    server!.close();
  }
  const v0 = performance.now();
  const report = await verifyLog(dir, { keys: key.trusted });
  const verifyMs = performance.now() - v0;
  removeDir(dir);
  return [
    `${label}: ${total} statements`,
    `  statement() on the caller's side: mean ${((callTime / total) * 1e6).toFixed(0)} ns; sampled p50 ${pct(samples, 50).toFixed(1)} µs, p99 ${pct(samples, 99).toFixed(1)} µs`,
    `  written: ${Math.round(total / (elapsed / 1000)).toLocaleString('en')} records/s to disk, all costs on one thread: ${((elapsed / total) * 1000).toFixed(1)} µs a record, of which the caller's ${((callTime / total) * 1000).toFixed(1)} µs and the writer's (hash, write, checkpoints) ${(((elapsed - callTime) / total) * 1000).toFixed(1)} µs; lost ${status.lost}`,
    withForwarder ? `  forwarded: ${received.toLocaleString('en')} events acknowledged by the collector` : null,
    `  verify: ${report.records.toLocaleString('en')} records in ${verifyMs.toFixed(0)} ms (${Math.round(report.records / (verifyMs / 1000)).toLocaleString('en')} records/s), ok ${report.ok}`,
  ]
    .filter((x) => x !== null)
    .join('\n');
}

// this machine's speed, for scale: the same input through JSON.stringify
{
  let x = 0;
  for (let w = 0; w < 3; w++) {
    const n = 200_000;
    const t = performance.now();
    for (let i = 0; i < n; i++) x += JSON.stringify(input).length;
    if (w === 2) console.log(`for scale: JSON.stringify(statement input) takes ${(((performance.now() - t) / n) * 1e6).toFixed(0)} ns here (${x > 0 ? 'ok' : ''})`);
  }
}
console.log(await run('recorder', false));
console.log(await run('recorder + forwarder (local HTTP collector)', true));
