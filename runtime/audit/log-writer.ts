// The writer of the audit log, on the gateway's thread: it takes the recorder's batches of encoded
// records in order, gives each its place in the hash chain, appends it to the current segment,
// writes signed checkpoints, rotates segments by size and age, and recovers from failed writes.
// A batch is appended with one write (a copy into the operating system's cache); every sync runs
// on libuv's thread pool, so the gateway's thread never waits for the disk. One operation runs at
// a time. spec/audit.md is the specification; the numbered sections below refer to it.

import { closeSync, fstatSync, fsync, ftruncateSync, linkSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { JsonBytes } from './json-bytes.ts';
import { genesisHash, isoTime, isPendingSegment, lineHash, pendingSegmentName, segmentName } from './chain.ts';
import { signCheckpoint } from './checkpoint.ts';
import type { SigningKey } from './keys.ts';
import type { CheckpointReason, ErrorInfo, GatewayInfo, OpenRecord } from './records.ts';
import { listSegments, readSegmentEnds } from './segment-files.ts';
import { StatementTranscoder } from './statement-codec.ts';

/** An entry of a batch: kind, u32 length, payload. */
export const ENTRY_HEAD = 5;
/** a record body serialised as JSON (UTF-8, beginning with `{`) */
export const ENTRY_JSON = 1;
/** a statement encoded by encodeStatement */
export const ENTRY_STATEMENT = 2;

export interface WriterConfig {
  dir: string;
  key: SigningKey;
  maxBytes: number;
  maxAgeMs: number;
  everyMs: number;
  everyRecords: number;
  retryMs: number;
  onFailure: 'refuse' | 'continue';
  gateway: GatewayInfo;
  /** the recorder's clock (a test's clock drives rotation by age and checkpoint times) */
  now: () => number;
  /** whether the recorder wants every written line back (a forwarder is configured) */
  wantLines: boolean;
}

export interface WrittenLine {
  line: string;
  seq: number;
  segment: number;
  /** offset just past the line's "\n" in its segment */
  end: number;
}

/** What the writer tells the recorder; `lines` ride along with any message. */
export type WriterMessage =
  | { t: 'progress'; records: number; bytes: number; segment: number; nextSeq: number; lines?: WrittenLine[] }
  | { t: 'event'; name: 'failure' | 'recovered' | 'checkpoint' | 'rotated' | 'alert'; data: unknown; lost?: number; lines?: WrittenLine[] }
  | { t: 'done'; id: number; error?: ErrorInfo & { lost: number }; lines?: WrittenLine[] }
  /** the writer stopped on an error of its own (a defect): nothing more is written */
  | { t: 'gone'; message: string; lines?: WrittenLine[] };

export class WriterStartError extends Error {}

type Batch = { buf: Buffer; pos: number; end: number };

const BATCH_RECORDS = 4096;
const BATCH_BYTES = 1 << 20;
/** room kept in a segment for the checkpoint that closes it */
const CHECKPOINT_RESERVE = 2048;

const fsyncAsync = promisify(fsync);

export function errorOf(e: unknown): ErrorInfo {
  const err = e as NodeJS.ErrnoException;
  return { code: err?.code ?? 'EIO', message: err?.message ?? String(e) };
}

export class LogWriter {
  private readonly cfg: WriterConfig;
  private readonly send: (m: WriterMessage) => void;

  // the chain
  private log = '';
  private segment = 0;
  private seq = 0;
  private prev = '';

  // the current segment
  private fd = -1;
  private readonly out = new JsonBytes(BATCH_BYTES + 64 * 1024);
  private readonly statements = new StatementTranscoder();
  private segBytes = 0;
  private segOpenedAt = 0;
  private recordsInSegment = 0;
  private sinceCheckpoint = 0;
  private lastCheckpointAt = 0;

  // what waits to be written
  private batches: Batch[] = [];
  private outage: { since: number; error: ErrorInfo } | null = null;
  private checkpointDue: CheckpointReason | null = null;
  private lines: WrittenLine[] = [];

  // the state
  private failure: (ErrorInfo & { since: number }) | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private gone = false;
  /** one operation at a time: each runs after the previous one */
  private chainOf: Promise<void> = Promise.resolve();

  constructor(cfg: WriterConfig, send: (m: WriterMessage) => void) {
    this.cfg = cfg;
    this.send = send;
  }

  now(): number {
    return this.cfg.now();
  }

  /**
   * Runs `f` after everything before it. Every failure of I/O is handled inside `f`; anything else
   * that escapes it is a defect, and stops the writer for good (the recorder fails closed).
   */
  private serial(f: () => Promise<void> | void): void {
    this.chainOf = this.chainOf
      .then(() => (this.gone ? undefined : f()))
      .catch((e: unknown) => {
        if (this.gone) return;
        this.gone = true;
        this.closed = true;
        this.release();
        try {
          this.post({ t: 'gone', message: errorOf(e).message });
        } catch {
          // a listener of the recorder's threw: the recorder had failed closed before it ran, and
          // the chain must not end rejected (an unhandled rejection would stop the gateway)
        }
      });
  }

  // -------------------------------------------------------------------------------------------
  // Start (§5.1)

  async start(): Promise<{ log: string; segment: number; seq: number }> {
    const dir = this.cfg.dir;
    try {
      for (const name of readdirSync(dir)) {
        if (isPendingSegment(name)) {
          try {
            unlinkSync(join(dir, name));
          } catch {
            // gone already
          }
        }
      }
      const segments = await listSegments(dir);
      const last = segments[segments.length - 1];
      if (last === undefined) {
        this.log = randomUUID();
        this.seq = 0;
        this.prev = genesisHash(this.log);
        await this.createSegment(1, 'create', null);
      } else {
        const ends = await readSegmentEnds(last.path);
        const first = parseEnd(ends.firstLine, last.name, 'first');
        const final = parseEnd(ends.lastLine, last.name, 'last');
        if (first.kind !== 'open' || typeof first.log !== 'string') throw new WriterStartError(`${last.name} does not begin with an open record`);
        if (!Number.isSafeInteger(final.seq)) throw new WriterStartError(`the last record of ${last.name} has no seq`);
        this.log = first.log;
        this.segment = last.number;
        this.seq = (final.seq as number) + 1;
        this.prev = lineHash(ends.lastLine as Buffer);
        const closed = final.kind === 'checkpoint' && (final.reason === 'close' || final.reason === 'rotate');
        await this.createSegment(last.number + 1, 'start', { segment: last.number, lastSeq: final.seq as number, closed, tailBytes: ends.tailBytes });
      }
    } catch (e) {
      throw e instanceof WriterStartError ? e : new WriterStartError(`cannot open the audit log in ${dir}: ${errorOf(e).message}`);
    }
    this.lastCheckpointAt = this.now();
    return { log: this.log, segment: this.segment, seq: this.seq };
  }

  // -------------------------------------------------------------------------------------------
  // What the recorder sends

  /** A batch of entries (`buf` is the writer's from now on). */
  batch(buf: Buffer): void {
    this.batches.push({ buf, pos: 0, end: buf.length });
    this.serial(() => this.drain());
  }

  tick(): void {
    this.serial(() => {
      if (this.closed || this.failure !== null) return;
      const now = this.now();
      if (this.sinceCheckpoint > 0 && now - this.lastCheckpointAt >= this.cfg.everyMs) this.checkpointDue ??= 'interval';
      if (this.checkpointDue !== null || (now - this.segOpenedAt >= this.cfg.maxAgeMs && this.recordsInSegment > 1)) return this.drain();
    });
  }

  /** Replies once everything received before is written (or writing has failed). */
  flush(id: number): void {
    this.serial(() => this.post({ t: 'done', id }));
  }

  checkpoint(id: number): void {
    this.serial(async () => {
      if (this.failure === null && !this.closed) {
        this.checkpointDue = 'manual';
        await this.drain();
      }
      this.post({ t: 'done', id });
    });
  }

  /** Writes what is queued, a final `close` checkpoint, syncs and closes; a failing log is tried once more first. */
  close(id: number): void {
    this.serial(async () => {
      if (this.closed) return this.post({ t: 'done', id });
      if (this.failure !== null) await this.recover();
      if (this.failure === null) await this.drain();
      if (this.failure !== null) {
        const lost = this.pendingRecords();
        this.closed = true;
        this.release();
        return this.post({ t: 'done', id, error: { code: this.failure.code, message: this.failure.message, lost } });
      }
      this.closed = true;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      let error: ErrorInfo | null = null;
      try {
        await this.writeCheckpoint('close');
      } catch (e) {
        error = errorOf(e);
      }
      this.release();
      this.post(error ? { t: 'done', id, error: { ...error, lost: 0 } } : { t: 'done', id });
    });
  }

  private pendingRecords(): number {
    let n = 0;
    for (const b of this.batches) {
      for (let p = b.pos; p < b.end; p += ENTRY_HEAD + b.buf.readUInt32LE(p + 1)) n++;
    }
    return n;
  }

  private release(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // closing is all that is left to do
      }
    }
    this.fd = -1;
  }

  /** Sends `m` with the lines written since the last message. */
  private post(m: WriterMessage): void {
    if (this.lines.length > 0) {
      m.lines = this.lines;
      this.lines = [];
    }
    this.send(m);
  }

  private event(name: 'failure' | 'recovered' | 'checkpoint' | 'rotated' | 'alert', data: unknown, lost?: number): void {
    this.post({ t: 'event', name, data, lost });
  }

  private written(line: string | null, bytes: Buffer | null, seq: number, end: number): void {
    if (!this.cfg.wantLines) return;
    this.lines.push({ line: line ?? bytes!.toString('utf8'), seq, segment: this.segment, end });
  }

  // -------------------------------------------------------------------------------------------
  // The writer (§5.3)

  private hasPending(): boolean {
    return this.outage !== null || this.batches.length > 0;
  }

  private async drain(): Promise<void> {
    if (this.failure !== null && this.outage === null) return;
    let records = 0;
    let bytes = 0;
    try {
      for (;;) {
        const now = this.now();
        if (now - this.segOpenedAt >= this.cfg.maxAgeMs && (this.recordsInSegment > 1 || this.hasPending())) {
          await this.rotate();
          continue;
        }
        if (!this.hasPending()) {
          if (this.checkpointDue !== null) await this.writeCheckpoint(this.checkpointDue);
          break;
        }
        const done = await this.writeBatch(now);
        records += done.records;
        bytes += done.bytes;
      }
    } catch (e) {
      this.fail(e);
    }
    if (records > 0 || this.lines.length > 0) this.post({ t: 'progress', records, bytes, segment: this.segment, nextSeq: this.seq });
  }

  /**
   * Writes the next records; stops early for a checkpoint or a rotation. Each line is encoded
   * once, into the batch buffer: its hash is taken over those bytes and the same bytes are written.
   */
  private async writeBatch(now: number): Promise<{ records: number; bytes: number }> {
    const startSeq = this.seq;
    const startPrev = this.prev;
    const marks = this.batches.map((b) => b.pos);
    const ends: number[] = [];
    let bytes = 0;
    let count = 0;
    let consumed = 0;
    let consumedBytes = 0;
    let rotateAfter = false;
    let outageWritten = false;
    let lost = 0;
    const out = this.out;
    out.pos = 0;
    let bi = 0;
    while (count < BATCH_RECORDS && bytes < BATCH_BYTES) {
      const outage = count === 0 && this.outage !== null;
      const b = this.batches[bi];
      if (!outage && b === undefined) break;
      const start = bytes;
      out.ascii('{"seq":');
      out.num(this.seq);
      out.ascii(',"prev":"');
      out.ascii(this.prev);
      out.byte(0x22);
      const bodyAt = out.pos;
      let entryBytes = 0;
      let entryLost = false;
      if (outage) out.utf8(this.outageBody(now));
      else {
        const kind = b.buf[b.pos];
        const len = b.buf.readUInt32LE(b.pos + 1);
        entryBytes = ENTRY_HEAD + len;
        if (kind === ENTRY_JSON) out.bytes(b.buf.subarray(b.pos + ENTRY_HEAD, b.pos + entryBytes));
        else entryLost = !this.writeStatement(b.buf, b.pos + ENTRY_HEAD, b.pos + entryBytes, bodyAt, now);
      }
      out.byte(0x0a);
      const lineBytes = out.pos - start;
      if (this.segBytes + bytes + lineBytes + CHECKPOINT_RESERVE > this.cfg.maxBytes && this.recordsInSegment + count > 1) {
        out.pos = start;
        rotateAfter = true;
        break;
      }
      const buf = out.buf;
      buf[bodyAt] = 0x2c; // ',' where the body's '{' was
      bytes = out.pos;
      this.prev = lineHash(buf.subarray(start, bytes - 1));
      ends.push(bytes);
      count++;
      this.seq++;
      if (entryLost) lost++;
      if (outage) outageWritten = true;
      else {
        consumed++;
        consumedBytes += entryBytes;
        b.pos += entryBytes;
        if (b.pos >= b.end) bi++;
      }
      if (this.sinceCheckpoint + count >= this.cfg.everyRecords) {
        this.checkpointDue ??= 'count';
        break;
      }
    }
    if (count > 0) {
      try {
        this.append(out.buf.subarray(0, bytes));
      } catch (e) {
        this.seq = startSeq;
        this.prev = startPrev;
        for (let i = 0; i < marks.length; i++) this.batches[i].pos = marks[i];
        throw e;
      }
      const base = this.segBytes - bytes;
      if (this.cfg.wantLines) {
        let from = 0;
        for (let i = 0; i < count; i++) {
          this.written(null, out.buf.subarray(from, ends[i] - 1), startSeq + i, base + ends[i]);
          from = ends[i];
        }
      }
      while (this.batches.length > 0 && this.batches[0].pos >= this.batches[0].end) this.batches.shift();
      this.recordsInSegment += count;
      this.sinceCheckpoint += count;
      if (lost > 0) {
        this.event('alert', { reason: 'unserialisable', message: 'a statement record could not be serialised and was not written' }, lost);
      }
      if (outageWritten) {
        const since = this.outage!.since;
        this.outage = null;
        this.failure = null;
        this.event('recovered', { since });
      }
    }
    if (this.checkpointDue !== null) await this.writeCheckpoint(this.checkpointDue);
    if (rotateAfter) await this.rotate();
    return { records: consumed, bytes: consumedBytes };
  }

  private outageBody(at: number): string {
    const o = this.outage!;
    return JSON.stringify({
      ts: isoTime(at),
      kind: 'outage',
      since: isoTime(o.since),
      until: isoTime(at),
      error: { code: o.error.code, message: o.error.message },
      onFailure: this.cfg.onFailure,
    });
  }

  /**
   * The body of the statement encoded in `buf[from, to)`, at `out.pos`. Should it not serialise, the record is lost rather
   * than the writer stuck on it: a `gap` record takes its place (false is returned).
   */
  private writeStatement(buf: Buffer, from: number, to: number, bodyAt: number, now: number): boolean {
    try {
      this.statements.write(this.out, buf, from, to);
      return true;
    } catch {
      this.out.pos = bodyAt;
      const ts = isoTime(now);
      this.out.utf8(JSON.stringify({ ts, kind: 'gap', lost: 1, kinds: { statement: 1 }, from: ts, to: ts }));
      return false;
    }
  }

  private append(data: string | Uint8Array): void {
    if (this.fd < 0) throw Object.assign(new Error('no segment is open'), { code: 'EBADF' });
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.segBytes += buf.length;
  }

  /** A signed checkpoint over the last record, then fsync (§4). */
  private async writeCheckpoint(reason: CheckpointReason): Promise<void> {
    const at = this.now();
    const ts = isoTime(at);
    const jws = await signCheckpoint(this.cfg.key, {
      log: this.log,
      segment: this.segment,
      seq: this.seq - 1,
      hash: this.prev,
      count: this.seq,
      ts,
      reason,
    });
    const line = JSON.stringify({ seq: this.seq, prev: this.prev, ts, kind: 'checkpoint', reason, jws });
    this.append(line + '\n');
    // the line is in the file: the chain moves on even if the sync below fails
    const seq = this.seq;
    this.seq++;
    this.prev = lineHash(line);
    this.recordsInSegment++;
    this.sinceCheckpoint = 0;
    this.lastCheckpointAt = at;
    this.checkpointDue = null;
    this.written(line, null, seq, this.segBytes);
    if (this.fd >= 0) await fsyncAsync(this.fd);
    this.event('checkpoint', { seq, segment: this.segment, reason });
  }

  /** Closes the segment with a `rotate` checkpoint and begins the next (§3). */
  private async rotate(): Promise<void> {
    await this.writeCheckpoint('rotate');
    const fd = this.fd;
    this.fd = -1;
    if (fd >= 0) closeSync(fd);
    await this.createSegment(this.segment + 1, 'rotate', { segment: this.segment, lastSeq: this.seq - 1, closed: true, tailBytes: 0 });
  }

  /**
   * A new segment: its open record is written and synced under a temporary name, then linked to
   * its final name (which never replaces an existing file) and the directory synced, so a segment
   * file always begins with a complete open record.
   */
  private async createSegment(n: number, reason: OpenRecord['reason'], previous: OpenRecord['previous']): Promise<void> {
    const at = this.now();
    const body = { ts: isoTime(at), kind: 'open', log: this.log, segment: n, reason, previous, gateway: this.cfg.gateway };
    const line = `{"seq":${this.seq},"prev":"${this.prev}",` + JSON.stringify(body).slice(1);
    const tmp = join(this.cfg.dir, pendingSegmentName(n));
    const final = join(this.cfg.dir, segmentName(n));
    try {
      unlinkSync(tmp);
    } catch {
      // none left over
    }
    const h = openSync(tmp, 'wx', 0o600);
    try {
      const data = Buffer.from(line + '\n');
      let off = 0;
      while (off < data.length) off += writeSync(h, data, off, data.length - off);
      await fsyncAsync(h);
    } finally {
      closeSync(h);
    }
    try {
      linkSync(tmp, final);
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // the link is what counts
      }
    }
    // the segment exists with its open record: the chain moves on whatever fails next
    const seq = this.seq;
    this.segment = n;
    this.segBytes = Buffer.byteLength(line) + 1;
    this.segOpenedAt = at;
    this.recordsInSegment = 1;
    this.sinceCheckpoint++;
    this.seq++;
    this.prev = lineHash(line);
    this.written(line, null, seq, this.segBytes);
    await syncDir(this.cfg.dir);
    this.fd = openSync(final, 'a', 0o600);
    if (reason !== 'create' && reason !== 'start') this.event('rotated', { segment: n, reason });
  }

  // -------------------------------------------------------------------------------------------
  // Failure and recovery (§5.4)

  private fail(e: unknown): void {
    const error = errorOf(e);
    const first = this.failure === null;
    this.failure = { ...error, since: first ? this.now() : this.failure!.since };
    this.outage = null;
    if (first) this.event('failure', this.failure);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.serial(() => this.recover());
    }, this.cfg.retryMs);
    // a gateway that stops does not wait for the next try
    this.retryTimer.unref();
  }

  /**
   * Tries to write again: the bytes of a failed write are cut off the segment (they never formed
   * a record the chain counts); when that is impossible a new segment begins, its open record
   * stating how many bytes the previous one holds beyond its last record. The outage record goes
   * first and clears the failure once it is written.
   */
  private async recover(): Promise<void> {
    const failure = this.failure;
    if (failure === null || this.closed) return;
    try {
      let cutBack = this.fd >= 0;
      if (this.fd >= 0) {
        try {
          if (fstatSync(this.fd).size > this.segBytes) ftruncateSync(this.fd, this.segBytes);
          if (fstatSync(this.fd).size !== this.segBytes) cutBack = false;
        } catch {
          cutBack = false;
        }
      }
      if (!cutBack) {
        let size = this.segBytes;
        try {
          const h = openSync(join(this.cfg.dir, segmentName(this.segment)), 'r');
          size = fstatSync(h).size;
          closeSync(h);
        } catch {
          // the size stays as known
        }
        if (this.fd >= 0) {
          try {
            closeSync(this.fd);
          } catch {
            // replaced below
          }
        }
        this.fd = -1;
        await this.createSegment(this.segment + 1, 'recover', {
          segment: this.segment,
          lastSeq: this.seq - 1,
          closed: false,
          tailBytes: Math.max(0, size - this.segBytes),
        });
      }
      this.outage = { since: failure.since, error: { code: failure.code, message: failure.message } };
      // drain() writes the outage record first; writing it clears the failure
      await this.drain();
    } catch (e) {
      this.fail(e);
    }
    if (this.failure !== null) this.scheduleRetry();
  }
}

function parseEnd(line: Buffer | null, name: string, which: string): Record<string, unknown> {
  if (line === null) throw new WriterStartError(`${name} holds no complete record; run \`pamc audit verify\``);
  try {
    const v = JSON.parse(line.toString('utf8')) as unknown;
    if (v && typeof v === 'object') return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new WriterStartError(`the ${which} record of ${name} cannot be read; run \`pamc audit verify\` and move the directory aside`);
}

async function syncDir(dir: string): Promise<void> {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    await fsyncAsync(fd);
  } catch {
    // not every file system can sync a directory
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
