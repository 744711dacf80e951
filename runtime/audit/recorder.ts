// The session recorder: the gateway's calls become records in a bounded in-memory queue; one
// asynchronous writer gives each its place in the hash chain, appends it to the current segment,
// writes signed checkpoints, rotates segments by size and age, and keeps a clear state when
// writing fails. Nothing here blocks the caller: a call serialises its record (a statement: copies
// its input) and returns.
// spec/audit.md is the specification; the numbered sections below refer to it.

import { EventEmitter } from 'node:events';
import { link, mkdir, open, readdir, readFile, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { approvalBody, connectBody, disconnectBody, policyBody, snapshotStatement, statementSize, writeStatementBody } from './build.ts';
import { JsonBytes } from './json-bytes.ts';
import { genesisHash, isoTime, isPendingSegment, lineHash, pendingSegmentName, segmentName } from './chain.ts';
import { signCheckpoint } from './checkpoint.ts';
import type { SigningKey } from './keys.ts';
import type {
  ApprovalInput,
  CheckpointReason,
  ConnectInput,
  DisconnectInput,
  ErrorInfo,
  GatewayInfo,
  OpenRecord,
  PolicyInput,
  StatementInput,
} from './records.ts';
import { listSegments, readSegmentEnds } from './segment-files.ts';

export interface RecorderOptions {
  dir: string;
  key: SigningKey;
  /** a segment is closed when it would pass `maxBytes` or is `maxAgeMs` old (defaults 64 MiB, 1 day) */
  rotate?: { maxBytes?: number; maxAgeMs?: number };
  /** a checkpoint after `everyMs` or `everyRecords` records, whichever first (defaults 30 s, 10000) */
  checkpoint?: { everyMs?: number; everyRecords?: number };
  /** what the gateway does while records cannot be written (the recorder only reports it) */
  onFailure?: 'refuse' | 'continue';
  /** bound of the in-memory queue (defaults 100000 records, 64 MiB) */
  queue?: { maxRecords?: number; maxBytes?: number };
  /** how often a failed writer tries again, ms (default 1000) */
  retryMs?: number;
  /** the clock, epoch ms (tests) */
  now?: () => number;
  /** the gateway's version, recorded in open records */
  version?: string | null;
  /** called for every line once written (not yet synced); the forwarder's feed */
  onWritten?: (w: WrittenLine) => void;
}

export interface WrittenLine {
  line: string;
  seq: number;
  segment: number;
  /** offset just past the line's "\n" in its segment */
  end: number;
}

export interface RecorderFailure extends ErrorInfo {
  /** epoch ms */
  since: number;
}

export interface RecorderStatus {
  state: 'open' | 'failed' | 'closing' | 'closed';
  writable: boolean;
  log: string;
  segment: number;
  /** seq the next record will get */
  nextSeq: number;
  queued: number;
  /** records dropped because the queue was full, since the start */
  lost: number;
  failure: RecorderFailure | null;
}

export class RecorderStartError extends Error {}

type GapMarker = { type: 'gap'; lost: number; kinds: Record<string, number>; from: number; to: number };
type OutageMarker = { type: 'outage'; since: number; error: ErrorInfo };
/** A statement waiting to be written: a copy of the call's input, serialised by the writer with the rest of its batch. */
type StatementItem = { type: 'statement'; session: string; at: number; input: StatementInput; size: number };
type QueueItem = string | StatementItem | GapMarker | OutageMarker;

const BATCH_RECORDS = 4096;
/** a write waits up to COALESCE_MS for more records, unless COALESCE_RECORDS are queued */
const COALESCE_MS = 10;
const COALESCE_RECORDS = 512;
const BATCH_BYTES = 1 << 20;
/** room kept in a segment for the checkpoint that closes it */
const CHECKPOINT_RESERVE = 2048;

function errorOf(e: unknown): ErrorInfo {
  const err = e as NodeJS.ErrnoException;
  return { code: err?.code ?? 'EIO', message: err?.message ?? String(e) };
}

/**
 * Opens (or creates) the log in `opts.dir` and begins a new segment. Throws RecorderStartError when
 * the directory is in use by another gateway or its last segment cannot be read: the caller should
 * not serve without records it was told to keep.
 */
export async function openRecorder(opts: RecorderOptions): Promise<Recorder> {
  const r = new Recorder(opts);
  await r.start();
  return r;
}

export class Recorder extends EventEmitter {
  readonly dir: string;
  readonly onFailure: 'refuse' | 'continue';
  private readonly key: SigningKey;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly everyMs: number;
  private readonly everyRecords: number;
  private readonly maxQueued: number;
  private readonly maxQueuedBytes: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly onWritten: ((w: WrittenLine) => void) | undefined;
  private readonly gateway: GatewayInfo;

  // the chain
  private log = '';
  private segment = 0;
  private seq = 0;
  private prev = '';

  // the current segment
  private fh: FileHandle | null = null;
  /** where a batch of lines is encoded before it is written (reused: one batch is written at a time) */
  private readonly out = new JsonBytes(BATCH_BYTES + 64 * 1024);
  private segBytes = 0;
  private segOpenedAt = 0;
  private recordsInSegment = 0;
  private sinceCheckpoint = 0;
  private lastCheckpointAt = 0;

  // the queue
  private queue: QueueItem[] = [];
  private head = 0;
  private queued = 0;
  private queuedBytes = 0;
  private openGap: GapMarker | null = null;
  private lostTotal = 0;

  // the writer
  private state: RecorderStatus['state'] = 'open';
  private failure: RecorderFailure | null = null;
  /** a retry is under way: the writer runs although `failure` is set, until the outage record is written */
  private recovering = false;
  private draining = false;
  private scheduled = false;
  private checkpointDue: CheckpointReason | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];
  private sessions = new Map<string, number>();
  private sessionCounter = 0;
  private readonly runPrefix: string;
  private lockPath: string;

  constructor(opts: RecorderOptions) {
    super();
    this.dir = opts.dir;
    this.key = opts.key;
    this.onFailure = opts.onFailure ?? 'refuse';
    this.maxBytes = opts.rotate?.maxBytes ?? 64 * 1024 * 1024;
    this.maxAgeMs = opts.rotate?.maxAgeMs ?? 86_400_000;
    this.everyMs = opts.checkpoint?.everyMs ?? 30_000;
    this.everyRecords = opts.checkpoint?.everyRecords ?? 10_000;
    this.maxQueued = opts.queue?.maxRecords ?? 100_000;
    this.maxQueuedBytes = opts.queue?.maxBytes ?? 64 * 1024 * 1024;
    this.retryMs = opts.retryMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.onWritten = opts.onWritten;
    const run = randomUUID();
    this.runPrefix = run.slice(0, 8);
    this.gateway = { host: hostname(), pid: process.pid, run, version: opts.version ?? null };
    this.lockPath = join(this.dir, '.lock');
  }

  // -------------------------------------------------------------------------------------------
  // What the gateway calls

  /** Whether records are being written: false while writing fails or the queue is full. */
  get writable(): boolean {
    return this.state === 'open' && this.failure === null && this.openGap === null && this.queued < this.maxQueued;
  }

  /** Whether a new statement may run: records are writable, or the policy says `on_failure continue`. */
  admits(): boolean {
    return this.writable || this.onFailure === 'continue';
  }

  /** Records a connection attempt; returns the session id the other calls take. */
  connect(c: ConnectInput): string {
    const at = c.at ?? this.now();
    const session = `${this.runPrefix}.${++this.sessionCounter}`;
    if ((c.outcome ?? 'accepted') === 'accepted') {
      // start times for durations; bounded in case disconnects are never reported
      if (this.sessions.size >= 1_000_000) this.sessions.delete(this.sessions.keys().next().value as string);
      this.sessions.set(session, at);
    }
    this.push('connect', connectBody(session, isoTime(at), c));
    return session;
  }

  /**
   * The one call per statement. Serialising a record costs more than copying its input: the copy
   * is queued and the writer serialises a batch at a time, off the path of the session's replies.
   */
  statement(session: string, s: StatementInput): void {
    const input = snapshotStatement(s);
    this.push('statement', { type: 'statement', session, at: s.at ?? this.now(), input, size: statementSize(input) });
  }

  /** An approval event; `session` is the requesting session when known (null from the API). */
  approval(session: string | null, a: ApprovalInput): void {
    this.push('approval', approvalBody(session, isoTime(a.at ?? this.now()), a));
  }

  disconnect(session: string, d: DisconnectInput): void {
    const at = d.at ?? this.now();
    const started = this.sessions.get(session);
    this.sessions.delete(session);
    this.push('disconnect', disconnectBody(session, isoTime(at), d, started === undefined ? undefined : Math.max(0, at - started)));
  }

  /** The policy in force from now on (on start and on every reload). */
  policy(p: PolicyInput): void {
    this.push('policy', policyBody(isoTime(p.at ?? this.now()), p));
  }

  status(): RecorderStatus {
    return {
      state: this.state,
      writable: this.writable,
      log: this.log,
      segment: this.segment,
      nextSeq: this.seq,
      queued: this.queued,
      lost: this.lostTotal,
      failure: this.failure,
    };
  }

  /** Resolves once every record queued so far is written (or the writer has failed). */
  flush(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Writes a checkpoint now (after the queued records). */
  async checkpoint(): Promise<void> {
    this.checkpointDue = 'manual';
    this.kick();
    await this.flush();
  }

  /**
   * Writes what is queued, then a final `close` checkpoint, syncs and closes the segment. Records
   * passed after this are not written (they are counted as lost and raise an alert). Rejects when
   * the writer is failing and the queue cannot be written.
   */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    const failing = this.failure !== null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (failing) await this.retry();
    await this.flush();
    if (this.failure !== null) {
      this.state = 'closing';
      const lost = this.queued;
      await this.release();
      this.state = 'closed';
      throw new Error(`the audit log cannot be written (${this.failure.code}): ${lost} records were not written`);
    }
    this.state = 'closing';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    try {
      await this.writeCheckpoint('close');
      await this.fh?.sync();
      await this.fh?.close();
      this.fh = null;
    } finally {
      await this.release();
      this.state = 'closed';
    }
  }

  // -------------------------------------------------------------------------------------------
  // Start (§5.1)

  async start(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await this.lock();
    } catch (e) {
      throw e instanceof RecorderStartError ? e : new RecorderStartError(`cannot write to ${this.dir}: ${errorOf(e).message}`);
    }
    try {
      for (const name of await readdir(this.dir)) {
        if (isPendingSegment(name)) await unlink(join(this.dir, name)).catch(() => undefined);
      }
      const segments = await listSegments(this.dir);
      const last = segments[segments.length - 1];
      if (last === undefined) {
        this.log = randomUUID();
        this.seq = 0;
        this.prev = genesisHash(this.log);
        await this.createSegment(1, 'create', null);
      } else {
        const ends = await readSegmentEnds(last.path);
        const first = this.parse(ends.firstLine, last.name, 'first');
        const final = this.parse(ends.lastLine, last.name, 'last');
        if (first.kind !== 'open' || typeof first.log !== 'string') throw new RecorderStartError(`${last.name} does not begin with an open record`);
        if (!Number.isSafeInteger(final.seq)) throw new RecorderStartError(`the last record of ${last.name} has no seq`);
        this.log = first.log;
        this.segment = last.number;
        this.seq = (final.seq as number) + 1;
        this.prev = lineHash(ends.lastLine as Buffer);
        const closed = final.kind === 'checkpoint' && (final.reason === 'close' || final.reason === 'rotate');
        await this.createSegment(last.number + 1, 'start', { segment: last.number, lastSeq: final.seq as number, closed, tailBytes: ends.tailBytes });
      }
    } catch (e) {
      await this.unlock();
      throw e instanceof RecorderStartError ? e : new RecorderStartError(`cannot open the audit log in ${this.dir}: ${errorOf(e).message}`);
    }
    this.lastCheckpointAt = this.now();
    const tick = Math.max(10, Math.min(1000, Math.floor(Math.min(this.everyMs, this.maxAgeMs) / 2)));
    this.timer = setInterval(() => this.onTick(), tick);
    this.timer.unref();
  }

  private parse(line: Buffer | null, name: string, which: string): Record<string, unknown> {
    if (line === null) throw new RecorderStartError(`${name} holds no complete record; run \`pamc audit verify\``);
    try {
      const v = JSON.parse(line.toString('utf8')) as unknown;
      if (v && typeof v === 'object') return v as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new RecorderStartError(`the ${which} record of ${name} cannot be read; run \`pamc audit verify\` and move the directory aside`);
  }

  /** One gateway per directory: `.lock` holds the writer's pid; a lock of a dead process is taken over. */
  private async lock(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(this.lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number((await readFile(this.lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
        let alive = true;
        try {
          process.kill(pid, 0);
        } catch (e) {
          alive = (e as NodeJS.ErrnoException).code === 'EPERM';
        }
        if (alive) throw new RecorderStartError(`another gateway (pid ${pid}) writes to ${this.dir}`);
      }
      await unlink(this.lockPath).catch(() => undefined);
    }
    throw new RecorderStartError(`cannot lock ${this.dir}`);
  }

  private async unlock(): Promise<void> {
    await unlink(this.lockPath).catch(() => undefined);
  }

  private async release(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.fh) await this.fh.close().catch(() => undefined);
    this.fh = null;
    await this.unlock();
    this.wakeIdle(true);
  }

  // -------------------------------------------------------------------------------------------
  // The queue (§5.2)

  private push(kind: string, item: string | StatementItem): void {
    const size = typeof item === 'string' ? item.length : item.size;
    if (this.state === 'closing' || this.state === 'closed') {
      this.lostTotal++;
      this.emit('alert', { reason: 'closed', message: `a ${kind} record arrived after the recorder was closed and was not written` });
      return;
    }
    if (this.queued >= this.maxQueued || this.queuedBytes + size > this.maxQueuedBytes) {
      this.drop(kind);
      return;
    }
    this.openGap = null;
    this.queue.push(item);
    this.queued++;
    this.queuedBytes += size;
    this.kick();
  }

  private drop(kind: string): void {
    const at = this.now();
    this.lostTotal++;
    let gap = this.openGap;
    if (gap === null) {
      gap = { type: 'gap', lost: 0, kinds: {}, from: at, to: at };
      this.openGap = gap;
      this.queue.push(gap);
      this.emit('alert', { reason: 'queue_full', message: 'the audit queue is full: records are being lost' });
    }
    gap.lost++;
    gap.kinds[kind] = (gap.kinds[kind] ?? 0) + 1;
    gap.to = at;
  }

  /** Whether the writer may run: not failed, or trying to recover. */
  private running(): boolean {
    return this.failure === null || this.recovering;
  }

  private kick(): void {
    if (this.scheduled || this.draining || this.state !== 'open' || !this.running()) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      void this.drain();
    };
    // A few records wait a moment so that one write carries many: under load, a write per
    // record costs more than the records themselves.
    if (this.urgent()) setImmediate(go);
    else setTimeout(go, COALESCE_MS);
  }

  /** Whether the queue is written now rather than after COALESCE_MS. */
  private urgent(): boolean {
    return this.queued >= COALESCE_RECORDS || this.checkpointDue !== null || this.idleWaiters.length > 0;
  }

  private idle(): boolean {
    return (this.queueEmpty() && !this.draining && !this.scheduled && this.checkpointDue === null) || this.failure !== null || this.state === 'closed';
  }

  private queueEmpty(): boolean {
    return this.head >= this.queue.length;
  }

  private wakeIdle(force = false): void {
    if (!force && !this.idle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private onTick(): void {
    if (this.state !== 'open' || this.failure !== null || this.draining) return;
    const now = this.now();
    if (this.sinceCheckpoint > 0 && now - this.lastCheckpointAt >= this.everyMs) this.checkpointDue ??= 'interval';
    if (this.checkpointDue !== null || (now - this.segOpenedAt >= this.maxAgeMs && this.recordsInSegment > 1)) this.kick();
  }

  // -------------------------------------------------------------------------------------------
  // The writer (§5.3)

  private head_(seq: number, prev: string): string {
    return `{"seq":${seq},"prev":"${prev}",`;
  }

  /** The body of a record serialised at the call, or of a marker the writer serialises; statements are written by writeStatementBody. */
  private itemBody(item: Exclude<QueueItem, StatementItem>, at: number): string {
    if (typeof item === 'string') return item;
    if (item.type === 'gap') {
      if (item === this.openGap) this.openGap = null;
      return JSON.stringify({ ts: isoTime(item.to), kind: 'gap', lost: item.lost, kinds: item.kinds, from: isoTime(item.from), to: isoTime(item.to) });
    }
    return JSON.stringify({
      ts: isoTime(at),
      kind: 'outage',
      since: isoTime(item.since),
      until: isoTime(at),
      error: { code: item.error.code, message: item.error.message },
      onFailure: this.onFailure,
    });
  }

  private async drain(): Promise<void> {
    if (this.draining || this.state === 'closed' || !this.running()) return;
    this.draining = true;
    try {
      for (;;) {
        const now = this.now();
        if (now - this.segOpenedAt >= this.maxAgeMs && (this.recordsInSegment > 1 || !this.queueEmpty())) {
          await this.rotate();
          continue;
        }
        if (this.queueEmpty()) {
          if (this.checkpointDue !== null) await this.writeCheckpoint(this.checkpointDue);
          break;
        }
        await this.writeBatch(now);
        // What arrived during the write waits for more, as a first record does (kick): going
        // on at once would write a handful of records per round trip to the thread pool.
        if (!this.urgent()) break;
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.draining = false;
      this.compact();
      this.wakeIdle();
      if (this.running() && this.state === 'open' && (!this.queueEmpty() || this.checkpointDue !== null)) this.kick();
    }
  }

  private compact(): void {
    if (this.head > 0 && (this.head >= this.queue.length || this.head > 4096)) {
      this.queue = this.head >= this.queue.length ? [] : this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Writes the next records of the queue; stops early for a checkpoint or a rotation. Each line
   * is encoded once, into the batch buffer: its hash is taken over those bytes and the same bytes
   * are written (no string of the line is built unless a forwarder wants one).
   */
  private async writeBatch(now: number): Promise<void> {
    const startSeq = this.seq;
    const startPrev = this.prev;
    const startHead = this.head;
    const ends: number[] = [];
    const lines: string[] | null = this.onWritten ? [] : null;
    let bytes = 0;
    let count = 0;
    let rotateAfter = false;
    let outageWritten: OutageMarker | null = null;
    let removedBytes = 0;
    let removed = 0;
    const out = this.out;
    out.pos = 0;
    while (this.head < this.queue.length && count < BATCH_RECORDS && bytes < BATCH_BYTES) {
      const item = this.queue[this.head];
      // the line is `{"seq":…,"prev":"…",` then the body without its opening brace
      const start = bytes;
      out.ascii('{"seq":');
      out.num(this.seq);
      out.ascii(',"prev":"');
      out.ascii(this.prev);
      out.byte(0x22);
      const bodyAt = out.pos;
      if (typeof item !== 'string' && item.type === 'statement') this.writeStatement(item, bodyAt, now);
      else out.utf8(this.itemBody(item, now));
      out.byte(0x0a);
      const lineBytes = out.pos - start;
      if (this.segBytes + bytes + lineBytes + CHECKPOINT_RESERVE > this.maxBytes && this.recordsInSegment + count > 1) {
        out.pos = start;
        rotateAfter = true;
        break;
      }
      const buf = out.buf;
      buf[bodyAt] = 0x2c; // ',' where the body's '{' was
      bytes = out.pos;
      this.prev = lineHash(buf.subarray(start, bytes - 1));
      if (lines !== null) {
        lines.push(buf.toString('utf8', start, bytes - 1));
        ends.push(this.segBytes + bytes);
      }
      count++;
      this.seq++;
      this.head++;
      if (typeof item === 'string') {
        removed++;
        removedBytes += item.length;
      } else if (item.type === 'statement') {
        removed++;
        removedBytes += item.size;
      } else if (item.type === 'outage') outageWritten = item;
      if (this.sinceCheckpoint + count >= this.everyRecords) {
        this.checkpointDue ??= 'count';
        break;
      }
    }
    if (count > 0) {
      try {
        await this.append(out.buf.subarray(0, bytes));
      } catch (e) {
        this.seq = startSeq;
        this.prev = startPrev;
        this.head = startHead;
        throw e;
      }
      this.queued -= removed;
      this.queuedBytes -= removedBytes;
      this.recordsInSegment += count;
      this.sinceCheckpoint += count;
      if (this.onWritten && lines !== null) {
        for (let i = 0; i < count; i++) this.onWritten({ line: lines[i], seq: startSeq + i, segment: this.segment, end: ends[i] });
      }
      if (outageWritten !== null) {
        this.failure = null;
        this.recovering = false;
        this.emit('recovered', { since: outageWritten.since });
      }
    }
    if (this.checkpointDue !== null) await this.writeCheckpoint(this.checkpointDue);
    if (rotateAfter) await this.rotate();
  }

  /**
   * A statement's body at `out.pos`. Should its input not serialise (a value of a type the gateway
   * never passes), the record is lost rather than the writer stuck on it: a `gap` record takes
   * its place and an alert is raised.
   */
  private writeStatement(item: StatementItem, bodyAt: number, now: number): void {
    try {
      writeStatementBody(this.out, item.session, isoTime(item.at), item.input);
    } catch (e) {
      this.out.pos = bodyAt;
      this.out.utf8(this.itemBody({ type: 'gap', lost: 1, kinds: { statement: 1 }, from: item.at, to: item.at }, now));
      this.lostTotal++;
      this.emit('alert', { reason: 'unserialisable', message: `a statement record could not be serialised and was not written: ${errorOf(e).message}` });
    }
  }

  private async append(data: string | Uint8Array): Promise<void> {
    const fh = this.fh;
    if (fh === null) throw Object.assign(new Error('no segment is open'), { code: 'EBADF' });
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off, null);
      off += bytesWritten;
    }
    this.segBytes += buf.length;
  }

  /** A signed checkpoint over the last record, then fsync (§4). */
  private async writeCheckpoint(reason: CheckpointReason): Promise<void> {
    const at = this.now();
    const ts = isoTime(at);
    const jws = await signCheckpoint(this.key, {
      log: this.log,
      segment: this.segment,
      seq: this.seq - 1,
      hash: this.prev,
      count: this.seq,
      ts,
      reason,
    });
    const line = JSON.stringify({ seq: this.seq, prev: this.prev, ts, kind: 'checkpoint', reason, jws });
    await this.append(line + '\n');
    // the line is in the file: the chain moves on even if the sync below fails
    const seq = this.seq;
    this.seq++;
    this.prev = lineHash(line);
    this.recordsInSegment++;
    this.sinceCheckpoint = 0;
    this.lastCheckpointAt = at;
    this.checkpointDue = null;
    this.onWritten?.({ line, seq, segment: this.segment, end: this.segBytes });
    await this.fh?.sync();
    this.emit('checkpoint', { seq, segment: this.segment, reason });
  }

  /** Closes the segment with a `rotate` checkpoint and begins the next (§3). */
  private async rotate(): Promise<void> {
    await this.writeCheckpoint('rotate');
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
    await this.createSegment(this.segment + 1, 'rotate', { segment: this.segment, lastSeq: this.seq - 1, closed: true, tailBytes: 0 });
  }

  /**
   * A new segment: its open record is written and synced under a temporary name, then linked to
   * its final name (which never replaces an existing file) and the directory synced, so a segment
   * file always begins with a complete open record.
   */
  private async createSegment(n: number, reason: OpenRecord['reason'], previous: OpenRecord['previous']): Promise<void> {
    const at = this.now();
    const body = { ts: isoTime(at), kind: 'open', log: this.log, segment: n, reason, previous, gateway: this.gateway };
    const line = this.head_(this.seq, this.prev) + JSON.stringify(body).slice(1);
    const tmp = join(this.dir, pendingSegmentName(n));
    const final = join(this.dir, segmentName(n));
    await unlink(tmp).catch(() => undefined);
    const h = await open(tmp, 'wx', 0o600);
    try {
      await h.write(line + '\n');
      await h.sync();
    } finally {
      await h.close();
    }
    try {
      await link(tmp, final);
    } finally {
      await unlink(tmp).catch(() => undefined);
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
    this.onWritten?.({ line, seq, segment: n, end: this.segBytes });
    await syncDir(this.dir);
    this.fh = await open(final, 'a', 0o600);
    if (reason !== 'create' && reason !== 'start') this.emit('rotated', { segment: n, reason });
  }

  // -------------------------------------------------------------------------------------------
  // Failure and recovery (§5.4)

  private fail(e: unknown): void {
    this.recovering = false;
    const error = errorOf(e);
    const first = this.failure === null;
    if (first) this.failure = { ...error, since: this.now() };
    else this.failure = { ...error, since: this.failure!.since };
    if (first) {
      this.emit('failure', this.failure);
      this.emit('alert', { reason: 'write_failed', message: `session records cannot be written (${error.code}): ${error.message}` });
    }
    this.wakeIdle(true);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.state === 'closed') return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.retry();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  /**
   * Tries to write again: the bytes of a failed write are cut off the segment (they never formed
   * a record the chain counts); when that is impossible a new segment begins, its open record
   * stating how many bytes the previous one holds beyond its last record. The outage record is
   * queued first and clears the failure once it is written.
   */
  private async retry(): Promise<void> {
    const failure = this.failure;
    if (failure === null || this.draining || this.recovering || this.state === 'closed') return;
    this.recovering = true;
    try {
      let cutBack = this.fh !== null;
      if (this.fh !== null) {
        try {
          const size = (await this.fh.stat()).size;
          if (size > this.segBytes) await this.fh.truncate(this.segBytes);
          if ((await this.fh.stat()).size !== this.segBytes) cutBack = false;
        } catch {
          cutBack = false;
        }
      }
      if (!cutBack) {
        let size = this.segBytes;
        try {
          const h = await open(join(this.dir, segmentName(this.segment)), 'r');
          size = (await h.stat()).size;
          await h.close();
        } catch {
          // the size stays as known
        }
        await this.fh?.close().catch(() => undefined);
        this.fh = null;
        await this.createSegment(this.segment + 1, 'recover', {
          segment: this.segment,
          lastSeq: this.seq - 1,
          closed: false,
          tailBytes: Math.max(0, size - this.segBytes),
        });
      }
      if (!this.queueHasOutage()) {
        this.queue.splice(this.head, 0, { type: 'outage', since: failure.since, error: { code: failure.code, message: failure.message } });
      }
      // drain() writes the outage record first; writing it clears the failure
      await this.drain();
    } catch (e) {
      this.fail(e);
    } finally {
      this.recovering = false;
      if (this.failure !== null) this.scheduleRetry();
      else this.kick();
    }
  }

  private queueHasOutage(): boolean {
    for (let i = this.head; i < this.queue.length; i++) {
      const it = this.queue[i];
      if (typeof it !== 'string' && it.type === 'outage') return true;
    }
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  let h: FileHandle | null = null;
  try {
    h = await open(dir, 'r');
    await h.sync();
  } catch {
    // not every file system can sync a directory
  } finally {
    await h?.close().catch(() => undefined);
  }
}
