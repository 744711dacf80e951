// Live forwarding of session records to a Splunk HEC-compatible collector (spec/audit.md §8).
//
// Records reach the forwarder as the recorder writes them and wait in a bounded in-memory queue.
// The log itself is the spill: when the queue overflows, or the collector is down, or the gateway
// restarts, the forwarder drops what it holds in memory and reads the records from the segment
// files from its cursor (the position just past the last record the collector acknowledged,
// kept in `.forward-cursor.json`), then returns to the memory queue once it has caught up. A
// record is never dropped; a batch is re-sent until the collector acknowledges it, so delivery
// is at least once: duplicates carry the same (log, seq).

import { EventEmitter } from 'node:events';
import { rename, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { WrittenLine } from './recorder.ts';
import { listSegments, readLines, type SegmentFile } from './segment-files.ts';

export interface ForwarderOptions {
  /** the collector's event endpoint, e.g. https://splunk:8088/services/collector/event */
  url: string;
  /** the HEC token: sent as `Authorization: Splunk <token>` */
  token: string;
  /** the audit directory: the forwarder's spill and the home of its cursor */
  dir: string;
  /** PEM of a CA to trust for the collector */
  ca?: string;
  batchRecords?: number;
  batchBytes?: number;
  /** bound of the in-memory queue */
  maxQueued?: number;
  maxQueuedBytes?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  timeoutMs?: number;
  /** HEC `sourcetype` (default pamc:audit) and `host` (default the machine's name) */
  sourcetype?: string;
  host?: string;
}

export interface Cursor {
  log: string | null;
  segment: number;
  /** offset just past the last delivered line */
  offset: number;
  /** seq of the last delivered record, -1 before the first */
  seq: number;
}

export interface ForwarderStatus {
  mode: 'memory' | 'disk';
  cursor: Cursor;
  queued: number;
  delivered: number;
  failures: number;
  lastError: string | null;
}

interface Pending {
  line: string;
  seq: number;
  segment: number;
  end: number;
}

const CURSOR_FILE = '.forward-cursor.json';
const SEQ_RE = /^\{"seq":(\d+),/;
const LOG_RE = /"kind":"open","log":"([^"]+)"/;
const TS_RE = /"ts":"([^"]+)"/;

export class Forwarder extends EventEmitter {
  private readonly url: URL;
  private readonly token: string;
  private readonly dir: string;
  private readonly ca: string | undefined;
  private readonly batchRecords: number;
  private readonly batchBytes: number;
  private readonly maxQueued: number;
  private readonly maxQueuedBytes: number;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly timeoutMs: number;
  private readonly sourcetype: string;
  private readonly host: string;
  private readonly agent: HttpAgent | HttpsAgent;

  private cursor: Cursor = { log: null, segment: 1, offset: 0, seq: -1 };
  private mode: 'memory' | 'disk' = 'disk';
  private queue: Pending[] = [];
  private queuedBytes = 0;
  /** seq of the last line offered by the recorder */
  private lastOffered = -1;
  private delivered = 0;
  private failures = 0;
  private lastError: string | null = null;
  private running = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private waiters: { seq: number; resolve: (ok: boolean) => void }[] = [];

  constructor(opts: ForwarderOptions) {
    super();
    this.url = new URL(opts.url);
    this.token = opts.token;
    this.dir = opts.dir;
    this.ca = opts.ca;
    this.batchRecords = opts.batchRecords ?? 500;
    this.batchBytes = opts.batchBytes ?? 1 << 20;
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 16 << 20;
    this.initialBackoff = opts.backoff?.initialMs ?? 250;
    this.maxBackoff = opts.backoff?.maxMs ?? 30_000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.sourcetype = opts.sourcetype ?? 'pamc:audit';
    this.host = opts.host ?? hostname();
    this.agent = this.url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, ca: this.ca }) : new HttpAgent({ keepAlive: true });
  }

  /** Loads the cursor and starts sending, from the log on disk until it has caught up. */
  async start(): Promise<void> {
    try {
      const c = JSON.parse(await readFile(join(this.dir, CURSOR_FILE), 'utf8')) as Cursor;
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset) && Number.isSafeInteger(c.seq)) this.cursor = c;
    } catch {
      // no cursor: from the beginning of the log
    }
    this.running = true;
    this.loop = this.run();
  }

  /** The recorder's feed: every line it writes, in order. */
  offer(w: WrittenLine): void {
    if (w.seq <= this.lastOffered) return;
    this.lastOffered = w.seq;
    if (this.mode === 'memory') {
      if (this.queue.length >= this.maxQueued || this.queuedBytes + w.line.length > this.maxQueuedBytes) {
        // spill: the records are in the log; read them from there
        this.queue = [];
        this.queuedBytes = 0;
        this.mode = 'disk';
        this.emit('spill', { seq: w.seq });
      } else {
        this.queue.push({ line: w.line, seq: w.seq, segment: w.segment, end: w.end });
        this.queuedBytes += w.line.length;
      }
    }
    this.poke();
  }

  status(): ForwarderStatus {
    return { mode: this.mode, cursor: { ...this.cursor }, queued: this.queue.length, delivered: this.delivered, failures: this.failures, lastError: this.lastError };
  }

  /** Resolves true once everything offered so far is delivered, false after `timeoutMs`. */
  flush(timeoutMs = 10_000): Promise<boolean> {
    const target = this.lastOffered;
    if (this.cursor.seq >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve(false);
      }, timeoutMs);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        resolve(ok);
      };
      this.waiters.push({ seq: target, resolve: done });
      this.poke();
    });
  }

  /** Stops sending; what is not delivered stays in the log and goes out on the next start. */
  async close(): Promise<void> {
    this.stopped = true;
    this.poke();
    await this.loop;
    this.agent.destroy();
    for (const w of this.waiters) w.resolve(false);
    this.waiters = [];
  }

  // -------------------------------------------------------------------------------------------

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      let batch: Pending[];
      try {
        batch = this.mode === 'memory' ? this.queue.slice(0, this.batchRecords) : await this.readFromDisk();
      } catch (e) {
        this.lastError = `cannot read the log: ${(e as Error).message}`;
        this.emit('alert', { message: this.lastError });
        await this.sleep(this.maxBackoff);
        continue;
      }
      if (this.mode === 'memory') batch = this.trim(batch);
      if (batch.length === 0) {
        if (this.mode === 'disk' && this.cursor.seq >= this.lastOffered && this.lastOffered >= 0) {
          this.mode = 'memory';
          continue;
        }
        await this.sleep(this.mode === 'disk' ? 500 : 60_000);
        continue;
      }
      const ok = await this.send(batch);
      if (!ok) {
        this.failures++;
        const delay = Math.min(this.maxBackoff, this.initialBackoff * 2 ** Math.min(attempt, 20)) * (0.5 + Math.random() / 2);
        attempt++;
        await this.sleep(delay);
        continue;
      }
      attempt = 0;
      const last = batch[batch.length - 1];
      if (this.mode === 'memory') {
        let n = 0;
        while (n < this.queue.length && this.queue[n].seq <= last.seq) {
          this.queuedBytes -= this.queue[n].line.length;
          n++;
        }
        this.queue.splice(0, n);
      }
      this.cursor = { log: this.cursor.log, segment: last.segment, offset: last.end, seq: last.seq };
      this.delivered += batch.length;
      await this.saveCursor();
      this.emit('delivered', { count: batch.length, seq: last.seq });
      this.waiters = this.waiters.filter((w) => {
        if (this.cursor.seq < w.seq) return true;
        w.resolve(true);
        return false;
      });
      if (this.mode === 'disk' && this.cursor.seq >= this.lastOffered && this.lastOffered >= 0) this.mode = 'memory';
    }
  }

  /** In memory mode the queue must continue from the cursor; if not, go back to the disk. */
  private trim(batch: Pending[]): Pending[] {
    if (batch.length > 0 && batch[0].seq !== this.cursor.seq + 1 && this.cursor.seq >= 0) {
      this.queue = [];
      this.queuedBytes = 0;
      this.mode = 'disk';
      return [];
    }
    let bytes = 0;
    let n = 0;
    while (n < batch.length && (n === 0 || bytes + batch[n].line.length <= this.batchBytes)) {
      bytes += batch[n].line.length;
      n++;
    }
    return batch.slice(0, n);
  }

  /** The next batch from the segment files, from the cursor on. */
  private async readFromDisk(): Promise<Pending[]> {
    const segments = await listSegments(this.dir);
    if (segments.length === 0) return [];
    let seg: SegmentFile | undefined = segments.find((s) => s.number === this.cursor.segment);
    let offset = this.cursor.offset;
    if (seg === undefined) {
      const later = segments.find((s) => s.number > this.cursor.segment);
      if (later === undefined) return [];
      if (this.cursor.seq >= 0) {
        this.emit('alert', { message: `segment ${this.cursor.segment} is gone before it was forwarded: continuing with ${later.name}` });
      }
      seg = later;
      offset = 0;
    }
    const out: Pending[] = [];
    let bytes = 0;
    for (;;) {
      let reachedEnd = true;
      for await (const line of readLines(seg.path, offset)) {
        if (!line.complete) break;
        const text = line.bytes.toString('utf8');
        const m = SEQ_RE.exec(text);
        const end = line.offset + line.bytes.length + 1;
        if (m === null) {
          // not a record the recorder wrote: skip it here; `pamc audit verify` reports it
          offset = end;
          continue;
        }
        const seq = Number(m[1]);
        if (seq <= this.cursor.seq && this.cursor.log !== null) {
          offset = end;
          continue;
        }
        if (this.cursor.log === null) {
          const l = LOG_RE.exec(text);
          if (l) this.cursor.log = l[1];
        }
        out.push({ line: text, seq, segment: seg.number, end });
        bytes += line.bytes.length;
        offset = end;
        if (out.length >= this.batchRecords || bytes >= this.batchBytes) {
          reachedEnd = false;
          break;
        }
      }
      if (!reachedEnd) return out;
      const next = segments.find((s) => s.number > seg!.number);
      if (next === undefined) return out;
      if (out.length > 0) return out;
      // an exhausted segment with nothing new: move the cursor on
      this.cursor = { ...this.cursor, segment: next.number, offset: 0 };
      seg = next;
      offset = 0;
    }
  }

  private async saveCursor(): Promise<void> {
    const path = join(this.dir, CURSOR_FILE);
    const tmp = `${path}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(this.cursor) + '\n', { mode: 0o600 });
      await rename(tmp, path);
    } catch (e) {
      this.emit('alert', { message: `cannot save the forwarding cursor: ${(e as Error).message}` });
    }
  }

  private event(p: Pending): string {
    const ts = TS_RE.exec(p.line);
    const time = ts ? Date.parse(ts[1]) / 1000 : Date.now() / 1000;
    return `{"time":${time},"host":${JSON.stringify(this.host)},"source":${JSON.stringify(`pamc:${this.cursor.log ?? 'log'}`)},"sourcetype":${JSON.stringify(this.sourcetype)},"event":${p.line}}`;
  }

  private send(batch: Pending[]): Promise<boolean> {
    const body = batch.map((p) => this.event(p)).join('\n');
    const request = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (ok: boolean, error?: string) => {
        if (settled) return;
        settled = true;
        if (!ok) {
          this.lastError = error ?? 'failed';
          this.emit('alert', { message: `forwarding failed: ${this.lastError}` });
        } else this.lastError = null;
        resolve(ok);
      };
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            authorization: `Splunk ${this.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
          timeout: this.timeoutMs,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            if (chunks.length < 16) chunks.push(c);
          });
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) finish(true);
            else finish(false, `the collector answered ${status}: ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`);
          });
          res.on('error', (e) => finish(false, e.message));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => finish(false, e.message));
      req.end(body);
    });
  }
}
