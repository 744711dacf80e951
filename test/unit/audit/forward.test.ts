// Live forwarding against a real local HTTP server speaking the Splunk HEC protocol: delivery,
// the collector down (records spill to the log and are delivered when it returns), errors and
// retries, a restart resuming from the cursor. None lost; duplicates only as at-least-once allows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { Forwarder } from '../../../runtime/audit/forward.ts';
import type { Recorder } from '../../../runtime/audit/recorder.ts';
import { freePort } from '../../support/ports.ts';
import { allRecords, newKey, recorder, removeDir, session, sleep, tempDir } from './helpers.ts';

const key = await newKey();
const TOKEN = 'hec-token-123';

interface Collector {
  port: number;
  events: Record<string, any>[];
  requests: number;
  /** answer this many requests with 503 before accepting */
  failNext: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function collector(port: number): Collector {
  let server: Server | null = null;
  const c: Collector = {
    port,
    events: [],
    requests: 0,
    failNext: 0,
    start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('end', () => {
          c.requests++;
          if (req.headers.authorization !== `Splunk ${TOKEN}`) {
            res.writeHead(401).end('{"text":"Invalid token","code":4}');
            return;
          }
          if (c.failNext > 0) {
            c.failNext--;
            res.writeHead(503).end('{"text":"Server is busy","code":9}');
            return;
          }
          const body = Buffer.concat(chunks).toString('utf8');
          for (const line of body.split('\n')) if (line !== '') c.events.push(JSON.parse(line));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
        });
      });
      return new Promise((resolve) => server!.listen(port, '127.0.0.1', () => resolve()));
    },
    stop() {
      return new Promise((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
        server = null;
      });
    },
  };
  return c;
}

function forwarder(dir: string, port: number, opts: Partial<ConstructorParameters<typeof Forwarder>[0]> = {}): Forwarder {
  return new Forwarder({ url: `http://127.0.0.1:${port}/services/collector/event`, token: TOKEN, dir, backoff: { initialMs: 20, maxMs: 200 }, timeoutMs: 2000, ...opts });
}

async function pair(dir: string, f: Forwarder): Promise<Recorder> {
  const r = await recorder(dir, key.signing, { onWritten: (w) => f.offer(w) });
  await f.start();
  return r;
}

function seqs(c: Collector): number[] {
  return c.events.map((e) => e.event.seq as number);
}

/** Every record of the log delivered, in order of first delivery; returns the duplicates. */
function assertAllDelivered(dir: string, c: Collector): number {
  const want = allRecords(dir).map((r) => r.seq as number);
  const got = seqs(c);
  const unique = [...new Set(got)];
  assert.equal(unique.sort((a, b) => a - b), want, 'every record delivered, none invented');
  return got.length - unique.length;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

test('records reach the collector as HEC events, in order, exactly once when nothing fails', async () => {
  const dir = tempDir();
  const c = collector(await freePort());
  await c.start();
  const f = forwarder(dir, c.port);
  const r = await pair(dir, f);
  session(r, 5);
  await r.close();
  assert.ok(await f.flush(5000));
  await f.close();
  await c.stop();
  assert.is(assertAllDelivered(dir, c), 0);
  assert.equal(seqs(c), [...seqs(c)].sort((a, b) => a - b));
  const e = c.events.find((x) => x.event.kind === 'statement')!;
  assert.is(e.sourcetype, 'pamc:audit');
  assert.match(e.source, /^pamc:[0-9a-f-]{36}$/);
  assert.is(typeof e.time, 'number');
  assert.is(e.time, Date.parse(e.event.ts) / 1000);
  assert.is(e.event.text, 'SELECT id, email FROM customers WHERE id = $1');
  removeDir(dir);
});

test('the collector down: records spill to the log and are all delivered when it returns', async () => {
  const dir = tempDir();
  const c = collector(await freePort());
  const f = forwarder(dir, c.port, { maxQueued: 20, batchRecords: 50 });
  const spills: unknown[] = [];
  f.on('spill', (x) => spills.push(x));
  await c.start();
  const r = await pair(dir, f);
  session(r);
  await r.flush();
  assert.ok(await f.flush(5000));
  assert.is(f.status().mode, 'memory', 'caught up: records go through memory');
  const before = c.events.length;
  await c.stop();
  for (let i = 0; i < 10; i++) session(r, 10);
  await r.flush();
  await sleep(300);
  assert.is(c.events.length, before);
  assert.ok(f.status().failures > 0, 'delivery was attempted and failed');
  assert.ok(spills.length > 0, 'the memory queue spilled');
  assert.is(f.status().mode, 'disk');
  await c.start();
  await r.close();
  assert.ok(await f.flush(10_000), 'delivered after the collector came back');
  await f.close();
  await c.stop();
  const dups = assertAllDelivered(dir, c);
  assert.is(dups, 0);
  removeDir(dir);
});

test('errors from the collector (503) are retried with backoff; nothing is skipped', async () => {
  const dir = tempDir();
  const c = collector(await freePort());
  c.failNext = 4;
  await c.start();
  const f = forwarder(dir, c.port);
  const r = await pair(dir, f);
  session(r, 3);
  await r.close();
  assert.ok(await f.flush(10_000));
  assert.ok(f.status().failures >= 4);
  await f.close();
  await c.stop();
  assertAllDelivered(dir, c);
  removeDir(dir);
});

test('a restart resumes from the cursor: what was delivered is not sent again, the rest is', async () => {
  const dir = tempDir();
  const c = collector(await freePort());
  await c.start();
  const f1 = forwarder(dir, c.port);
  const r1 = await pair(dir, f1);
  session(r1, 5);
  await r1.flush();
  assert.ok(await f1.flush(5000));
  const delivered = c.events.length;
  // the collector goes away; more records; the gateway stops
  await c.stop();
  session(r1, 5);
  await r1.close();
  await f1.close();
  assert.is(c.events.length, delivered);
  // a new gateway process: a new recorder and forwarder on the same directory
  await c.start();
  const f2 = forwarder(dir, c.port);
  const r2 = await pair(dir, f2);
  session(r2, 2);
  await r2.close();
  assert.ok(await f2.flush(10_000));
  await f2.close();
  await c.stop();
  assert.is(assertAllDelivered(dir, c), 0);
  removeDir(dir);
});

test('a wrong token is an error the forwarder keeps retrying (never drops)', async () => {
  const dir = tempDir();
  const c = collector(await freePort());
  await c.start();
  const f = new Forwarder({ url: `http://127.0.0.1:${c.port}/services/collector/event`, token: 'wrong', dir, backoff: { initialMs: 10, maxMs: 50 } });
  const alerts: { message: string }[] = [];
  f.on('alert', (a) => alerts.push(a as { message: string }));
  const r = await pair(dir, f);
  session(r);
  await r.close();
  assert.not.ok(await f.flush(400));
  assert.ok(alerts.some((a) => a.message.includes('401')));
  assert.is(f.status().cursor.seq, -1, 'nothing counted as delivered');
  await f.close();
  await c.stop();
  removeDir(dir);
});

test('catching up on an existing log without a recorder (e.g. forwarding enabled later)', async () => {
  const dir = tempDir();
  const r = await recorder(dir, key.signing, { rotate: { maxBytes: 8 * 1024 } });
  for (let i = 0; i < 5; i++) session(r, 5);
  await r.close();
  const c = collector(await freePort());
  await c.start();
  const f = forwarder(dir, c.port, { batchRecords: 7 });
  await f.start();
  const total = allRecords(dir).length;
  await until(() => c.events.length >= total);
  await f.close();
  await c.stop();
  assert.is(assertAllDelivered(dir, c), 0);
  removeDir(dir);
});

test.run();
