// The session recorder: the gateway's calls become records, encoded at once into a batch buffer
// (a statement in a compact binary form, the rarer kinds as their JSON bodies); every few
// milliseconds the batch is handed to the writer (log-writer.ts), which chains, hashes, writes,
// checkpoints and rotates. Both run on the gateway's thread: a second thread costs the gateway
// more than the work it takes over (spec/audit.md §5.2). No call waits for a write, and no record
// is kept as objects. The queue — records encoded but not yet written — is bounded; what does not
// fit is counted and leaves a gap record. spec/audit.md is the specification.

import { EventEmitter } from 'node:events';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { approvalBody, connectBody, disconnectBody, policyBody } from './build.ts';
import { isoTime } from './chain.ts';
import { JsonBytes } from './json-bytes.ts';
import type { SigningKey } from './keys.ts';
import { ENTRY_HEAD, ENTRY_JSON, ENTRY_STATEMENT, errorOf, LogWriter, WriterStartError, type WriterConfig, type WriterMessage, type WrittenLine } from './log-writer.ts';
import type { ApprovalInput, ConnectInput, DisconnectInput, ErrorInfo, GatewayInfo, PolicyInput, StatementInput } from './records.ts';
import { encodeStatement } from './statement-codec.ts';

export type { WrittenLine } from './log-writer.ts';

export interface RecorderOptions {
  dir: string;
  key: SigningKey;
  /** a segment is closed when it would pass `maxBytes` or is `maxAgeMs` old (defaults 64 MiB, 1 day) */
  rotate?: { maxBytes?: number; maxAgeMs?: number };
  /** a checkpoint after `everyMs` or `everyRecords` records, whichever first (defaults 30 s, 10000) */
  checkpoint?: { everyMs?: number; everyRecords?: number };
  /** what the gateway does while records cannot be written (the recorder only reports it) */
  onFailure?: 'refuse' | 'continue';
  /** bound of the queue: records encoded, not yet written (defaults 100000 records, 64 MiB) */
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

export interface RecorderFailure extends ErrorInfo {
  /** epoch ms */
  since: number;
}

export interface RecorderStatus {
  state: 'open' | 'failed' | 'closing' | 'closed';
  writable: boolean;
  log: string;
  segment: number;
  /** seq the next record will get (as of the writer's last report) */
  nextSeq: number;
  queued: number;
  /** records dropped because the queue was full, since the start */
  lost: number;
  failure: RecorderFailure | null;
}

export class RecorderStartError extends Error {}

type Gap = { lost: number; kinds: Record<string, number>; from: number; to: number };

/** a batch is handed over after COALESCE_MS, or at once when it holds COALESCE_RECORDS records or BATCH_BYTES bytes */
const COALESCE_MS = 5;
const COALESCE_RECORDS = 512;
const BATCH_BYTES = 1 << 20;
/** how often flush() looks whether everything is written, ms */
const FLUSH_POLL_MS = 2;

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
  private readonly lockPath: string;
  private readonly runPrefix: string;

  private writer: LogWriter | null = null;
  private log = '';
  /** the writer's position as of its last report: the segment, the seq of the next record */
  private segment = 0;
  private nextSeq = 0;

  // the batch being filled; records and entry bytes handed to the writer, and written by it
  private readonly batch = new JsonBytes(256 * 1024);
  private batchRecords = 0;
  private handedRecords = 0;
  private handedBytes = 0;
  private writtenRecords = 0;
  private writtenBytes = 0;
  private openGap: Gap | null = null;
  private lostTotal = 0;

  private state: RecorderStatus['state'] = 'open';
  private failure: RecorderFailure | null = null;
  private timer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private requests = new Map<number, (m: Extract<WriterMessage, { t: 'done' }> | null) => void>();
  private requestId = 0;
  private sessions = new Map<string, number>();
  private sessionCounter = 0;

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
    return this.state === 'open' && this.failure === null && this.openGap === null && this.queued() < this.maxQueued;
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
    this.json('connect', connectBody(session, isoTime(at), c));
    return session;
  }

  /**
   * The one call per statement: its input is encoded into the batch at once (a copy that shares
   * nothing with the caller); the writer turns it into the JSON record.
   */
  statement(session: string, s: StatementInput): void {
    if (!this.admit('statement')) return;
    const w = this.batch;
    const start = w.pos;
    w.room(ENTRY_HEAD);
    w.pos += ENTRY_HEAD;
    try {
      encodeStatement(w, session, s.at ?? this.now(), s);
    } catch (e) {
      // a value of a type the gateway never passes: a gap takes the record's place
      w.pos = start;
      const at = s.at ?? this.now();
      this.lostTotal++;
      this.entry(ENTRY_JSON, gapBody({ lost: 1, kinds: { statement: 1 }, from: at, to: at }), null);
      this.emit('alert', { reason: 'unserialisable', message: `a statement record could not be serialised and was not written: ${errorOf(e).message}` });
      return;
    }
    this.finishEntry(w, start, ENTRY_STATEMENT, 'statement');
  }

  /** An approval event; `session` is the requesting session when known (null from the API). */
  approval(session: string | null, a: ApprovalInput): void {
    this.json('approval', approvalBody(session, isoTime(a.at ?? this.now()), a));
  }

  disconnect(session: string, d: DisconnectInput): void {
    const at = d.at ?? this.now();
    const started = this.sessions.get(session);
    this.sessions.delete(session);
    this.json('disconnect', disconnectBody(session, isoTime(at), d, started === undefined ? undefined : Math.max(0, at - started)));
  }

  /** The policy in force from now on (on start and on every reload). */
  policy(p: PolicyInput): void {
    this.json('policy', policyBody(isoTime(p.at ?? this.now()), p));
  }

  status(): RecorderStatus {
    return {
      state: this.state,
      writable: this.writable,
      log: this.log,
      segment: this.segment,
      nextSeq: this.nextSeq,
      queued: this.queued(),
      lost: this.lostTotal,
      failure: this.failure,
    };
  }

  /** Resolves once every record passed so far is written (or the writer has failed). */
  async flush(): Promise<void> {
    this.handOver();
    if (this.idle()) return;
    await this.request('flush');
    while (!this.idle()) {
      // the writer waits for the file
      await new Promise((resolve) => setTimeout(resolve, FLUSH_POLL_MS));
      this.handOver();
    }
  }

  /** Writes a checkpoint now (after the records passed so far). */
  async checkpoint(): Promise<void> {
    if (this.state !== 'open') return;
    this.handOver();
    await this.request('checkpoint');
    await this.flush();
  }

  /**
   * Writes what is queued, then a final `close` checkpoint, syncs and closes the segment. Records
   * passed after this are not written (they are counted as lost and raise an alert). Rejects when
   * the writer is failing and the queue cannot be written.
   */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    await this.flush();
    this.state = 'closing';
    this.handOver();
    const unsent = this.batchRecords;
    const inflight = this.inflight();
    const done = this.writer ? await this.request('close') : null;
    await this.release();
    this.state = 'closed';
    if (done === null) throw new Error(`the audit log cannot be written (${this.failure?.code ?? 'EIO'}): ${inflight + unsent} records were not written`);
    if (done.error) throw new Error(`the audit log cannot be written (${done.error.code}): ${done.error.lost + unsent} records were not written`);
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
    const config: WriterConfig = {
      dir: this.dir,
      key: this.key,
      maxBytes: this.maxBytes,
      maxAgeMs: this.maxAgeMs,
      everyMs: this.everyMs,
      everyRecords: this.everyRecords,
      retryMs: this.retryMs,
      onFailure: this.onFailure,
      gateway: this.gateway,
      now: this.now,
      wantLines: this.onWritten !== undefined,
    };
    const writer = new LogWriter(config, (m) => this.onMessage(m));
    let opened: Awaited<ReturnType<LogWriter['start']>>;
    try {
      opened = await writer.start();
    } catch (e) {
      await this.unlock();
      throw new RecorderStartError(e instanceof WriterStartError ? e.message : `cannot open the audit log in ${this.dir}: ${errorOf(e).message}`);
    }
    this.writer = writer;
    this.log = opened.log;
    this.segment = opened.segment;
    this.nextSeq = opened.seq;
    const tick = Math.max(10, Math.min(1000, Math.floor(Math.min(this.everyMs, this.maxAgeMs) / 2)));
    this.tickTimer = setInterval(() => this.writer?.tick(), tick);
    this.tickTimer.unref();
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
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.writer = null;
    await this.unlock();
  }

  // -------------------------------------------------------------------------------------------
  // The queue (§5.2)

  private queued(): number {
    return this.batchRecords + this.inflight();
  }

  private queuedBytes(): number {
    return this.batch.pos + this.handedBytes - this.writtenBytes;
  }

  /** records handed to the writer and not yet written */
  private inflight(): number {
    return this.handedRecords - this.writtenRecords;
  }

  /** Whether a record of `kind` may be queued; if not, it is counted as lost. */
  private admit(kind: string): boolean {
    if (this.state === 'closing' || this.state === 'closed') {
      this.lostTotal++;
      this.emit('alert', { reason: 'closed', message: `a ${kind} record arrived after the recorder was closed and was not written` });
      return false;
    }
    if (this.queued() >= this.maxQueued) {
      this.drop(kind);
      return false;
    }
    // the gap before this record is written first, with the counts it ended with
    if (this.openGap !== null) {
      const gap = this.openGap;
      this.openGap = null;
      this.entry(ENTRY_JSON, gapBody(gap), null);
    }
    return true;
  }

  private drop(kind: string): void {
    const at = this.now();
    this.lostTotal++;
    let gap = this.openGap;
    if (gap === null) {
      gap = { lost: 0, kinds: {}, from: at, to: at };
      this.openGap = gap;
      this.emit('alert', { reason: 'queue_full', message: 'the audit queue is full: records are being lost' });
    }
    gap.lost++;
    gap.kinds[kind] = (gap.kinds[kind] ?? 0) + 1;
    gap.to = at;
  }

  private json(kind: string, body: string): void {
    if (this.admit(kind)) this.entry(ENTRY_JSON, body, kind);
  }

  /** Appends a JSON body as an entry; `kind` null: a gap, which is never refused for room. */
  private entry(type: number, body: string, kind: string | null): void {
    const w = this.batch;
    const start = w.pos;
    w.room(ENTRY_HEAD);
    w.pos += ENTRY_HEAD;
    w.utf8(body);
    this.finishEntry(w, start, type, kind);
  }

  /** Completes the entry begun at `start`: its head, the bound on bytes, the hand-over. */
  private finishEntry(w: JsonBytes, start: number, type: number, kind: string | null): void {
    if (kind !== null && this.queuedBytes() > this.maxQueuedBytes) {
      w.pos = start;
      this.drop(kind);
      return;
    }
    w.buf[start] = type;
    w.buf.writeUInt32LE(w.pos - start - ENTRY_HEAD, start + 1);
    this.batchRecords++;
    if (this.batchRecords >= COALESCE_RECORDS || w.pos >= BATCH_BYTES) this.handOver();
    else this.schedule();
  }

  /** A few records wait a moment, so that one hand-over, and one write, carries many. */
  private schedule(): void {
    if (this.timer !== null || this.writer === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.handOver();
    }, COALESCE_MS);
  }

  /** Hands the batch to the writer (a copy: the batch buffer is filled again at once). */
  private handOver(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.openGap !== null && this.state !== 'closed') {
      // a flush or close writes the gap so far; the next dropped record opens a new one
      const gap = this.openGap;
      this.openGap = null;
      this.entry(ENTRY_JSON, gapBody(gap), null);
    }
    const w = this.batch;
    const writer = this.writer;
    if (this.batchRecords === 0 || writer === null) return;
    const bytes = w.pos;
    this.handedRecords += this.batchRecords;
    this.handedBytes += bytes;
    const handed = Buffer.from(w.buf.subarray(0, bytes));
    w.pos = 0;
    this.batchRecords = 0;
    // a batch that grew for a burst does not stay large
    if (w.buf.length > 4 * BATCH_BYTES) w.buf = Buffer.allocUnsafe(256 * 1024);
    writer.batch(handed);
  }

  /** A command the writer answers once everything handed to it before is done. */
  private request(t: 'flush' | 'checkpoint' | 'close'): Promise<Extract<WriterMessage, { t: 'done' }> | null> {
    const writer = this.writer;
    if (writer === null) return Promise.resolve(null);
    const id = ++this.requestId;
    return new Promise((resolve) => {
      this.requests.set(id, resolve);
      writer[t](id);
    });
  }

  // -------------------------------------------------------------------------------------------
  // What the writer reports

  private onMessage(m: WriterMessage): void {
    // the writer stopped: fail closed first, whatever a receiver of lines does next
    if (m.t === 'gone') this.writerGone(m.message);
    if (m.lines && this.onWritten) for (const l of m.lines) this.onWritten(l);
    if (m.t === 'progress') {
      this.writtenRecords += m.records;
      this.writtenBytes += m.bytes;
      this.segment = m.segment;
      this.nextSeq = m.nextSeq;
    } else if (m.t === 'event') {
      if (m.lost) this.lostTotal += m.lost;
      if (m.name === 'failure') {
        this.failure = m.data as RecorderFailure;
        this.emit('failure', this.failure);
        this.emit('alert', { reason: 'write_failed', message: `session records cannot be written (${this.failure.code}): ${this.failure.message}` });
      } else if (m.name === 'recovered') {
        this.failure = null;
        this.emit('recovered', m.data);
      } else this.emit(m.name, m.data);
    } else if (m.t === 'done') {
      const resolve = this.requests.get(m.id);
      this.requests.delete(m.id);
      resolve?.(m);
    }
  }

  /** The writer stopped on a defect of its own: nothing more can be written; fail closed. */
  private writerGone(error: string): void {
    if (this.writer === null) return;
    this.writer = null;
    const message = `the audit writer stopped: ${error}`;
    const fresh = this.failure === null;
    if (fresh) this.failure = { code: 'EWRITER', message, since: this.now() };
    // everything waiting is answered, and the state is failed, before any listener runs
    for (const resolve of this.requests.values()) resolve(null);
    this.requests.clear();
    if (fresh) {
      this.emit('failure', this.failure);
      this.emit('alert', { reason: 'write_failed', message: `session records cannot be written (EWRITER): ${message}` });
    }
  }

  private idle(): boolean {
    return (this.batchRecords === 0 && this.inflight() === 0) || this.failure !== null || this.state === 'closed' || this.writer === null;
  }
}

function gapBody(g: Gap): string {
  return JSON.stringify({ ts: isoTime(g.to), kind: 'gap', lost: g.lost, kinds: g.kinds, from: isoTime(g.from), to: isoTime(g.to) });
}
