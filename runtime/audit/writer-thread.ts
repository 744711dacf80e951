// The audit log's writer thread: takes the recorder's chunks of encoded records from the shared
// ring every few milliseconds, and its commands as messages, in order, and hands them to the
// LogWriter. Progress goes back through the ring's counters; lines (for a forwarder), events and
// replies as messages.

import { parentPort, workerData } from 'node:worker_threads';
import { errorOf, LogWriter, WriterStartError, type WriterConfig, type WriterMessage } from './log-writer.ts';
import { publishPosition, publishWritten, takeChunks, writerAsleep, writerAwake, type SharedRing } from './ring.ts';

/** What the recorder sends besides the ring's chunks. Every message carries the recorder's clock. */
export type RecorderMessage =
  | { t: 'oversized'; now: number; buf: ArrayBuffer; bytes: number }
  | { t: 'tick' | 'wake'; now: number }
  | { t: 'flush' | 'checkpoint' | 'close'; now: number; id: number };

/** The thread's first message: the log is open, or it cannot be. */
export type ReadyMessage = { t: 'ready'; log: string; segment: number; seq: number } | { t: 'startError'; message: string };

/** What the recorder hears: lines for its forwarder, events, replies. */
export type ThreadMessage = Exclude<WriterMessage, { t: 'progress' }> | { t: 'lines'; lines: NonNullable<WriterMessage['lines']> };

/** how often the ring is looked at while records flow, ms */
const POLL_MS = 5;
/** looks in a row that found nothing, after which the thread stops looking until woken (100 ms) */
const IDLE_POLLS = 20;

const port = parentPort;
if (port && workerData && typeof workerData === 'object' && 'pamcAuditWriter' in workerData) {
  const { config, now, ring } = workerData.pamcAuditWriter as { config: WriterConfig; now: number; ring: SharedRing };
  const send = (m: WriterMessage): void => {
    if (m.t !== 'progress') return port.postMessage(m satisfies ThreadMessage);
    publishWritten(ring, m.records, m.bytes);
    publishPosition(ring, m.segment, m.nextSeq);
    if (m.lines) port.postMessage({ t: 'lines', lines: m.lines } satisfies ThreadMessage);
  };
  const writer = new LogWriter(config, send);
  writer.setClock(now);
  let opened: Awaited<ReturnType<LogWriter['start']>> | null = null;
  try {
    opened = await writer.start();
    port.postMessage({ t: 'ready', ...opened } satisfies ReadyMessage);
  } catch (e) {
    const message = e instanceof WriterStartError ? e.message : `cannot open the audit log: ${errorOf(e).message}`;
    port.postMessage({ t: 'startError', message } satisfies ReadyMessage);
    port.close();
  }
  if (opened !== null) {
    let taken = 0;
    const oversized: { buf: ArrayBuffer; bytes: number }[] = [];
    let timer: NodeJS.Timeout | null = null;
    let idlePolls = 0;
    const poll = (): void => {
      const before = taken;
      taken = takeChunks(ring, taken, (chunk) => {
        if (chunk !== null) {
          writer.batch(chunk, chunk.byteLength);
          return true;
        }
        const m = oversized.shift();
        if (m === undefined) return false; // its message is on its way
        writer.batch(m.buf, m.bytes);
        return true;
      });
      if (taken !== before) idlePolls = 0;
      else if (timer !== null && ++idlePolls >= IDLE_POLLS && writerAsleep(ring, taken)) {
        // an idle gateway: no wake-ups until the recorder puts a chunk (or a message comes)
        clearInterval(timer);
        timer = null;
      }
    };
    const wake = (): void => {
      writerAwake(ring);
      idlePolls = 0;
      timer ??= setInterval(poll, POLL_MS);
    };
    wake();
    port.on('message', (m: RecorderMessage) => {
      writer.setClock(m.now);
      if (m.t === 'oversized') oversized.push(m);
      if (m.t === 'wake' || m.t === 'oversized') wake();
      // what the recorder put into the ring before this message comes first
      poll();
      if (m.t === 'tick') writer.tick();
      else if (m.t === 'flush') writer.flush(m.id);
      else if (m.t === 'checkpoint') writer.checkpoint(m.id);
      else if (m.t === 'close') writer.close(m.id);
    });
  }
}
