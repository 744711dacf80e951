// The hand-over between the gateway's thread and the audit writer thread: a ring of shared memory
// with one producer (the recorder) and one consumer (the writer thread), and counters both read.
// While records flow, the producer never wakes the consumer (a wake-up costs the gateway's thread
// more than the records it carries, on a busy machine): the consumer looks every few
// milliseconds. A consumer that found nothing for a while stops looking and says so (ASLEEP);
// the next chunk put then wakes it, once (writerAsleep / wakeWriter).
//
// A chunk in the ring is a u32 length and that many bytes of entries, wrapping at the end. A
// chunk too large for the ring travels as a message instead; the ring then holds OVERSIZED in
// its place, so the consumer keeps the order. Counters are Int32 and wrap; differences are taken
// modulo 2^32, which is right while fewer than 2^31 bytes or records are in flight (the recorder's
// queue bound keeps them far below).

/** small enough to stay in the CPU's cache; a few milliseconds of records at full speed fit many times */
export const RING_BYTES = 1024 * 1024;
const MASK = RING_BYTES - 1;
export const OVERSIZED = 0xffffffff;

/** counters: bytes put into the ring, bytes taken out, records and entry bytes written to the log */
const C_PUT = 0;
const C_TAKEN = 1;
const C_WRITTEN_RECORDS = 2;
const C_WRITTEN_BYTES = 3;
/** the writer's position, for status(): segment, and the next seq as two 24-bit halves */
const C_SEGMENT = 4;
const C_SEQ_LOW = 5;
const C_SEQ_HIGH = 6;
const HALF = 0x1000000;
/** 1 while the consumer has stopped looking: the producer wakes it */
const C_ASLEEP = 7;

export interface SharedRing {
  ctl: Int32Array;
  data: SharedArrayBuffer;
}

export function createRing(): SharedRing {
  return { ctl: new Int32Array(new SharedArrayBuffer(16 * 4)), data: new SharedArrayBuffer(RING_BYTES) };
}

/** Byte views of the ring's data, one per thread (Buffer#copy is a memmove; TypedArray#set on shared memory copies byte by byte). */
const views = new WeakMap<SharedArrayBuffer, Buffer>();
function view(r: SharedRing): Buffer {
  let v = views.get(r.data);
  if (v === undefined) {
    v = Buffer.from(r.data);
    views.set(r.data, v);
  }
  return v;
}

/** The writer: `records` more records, of `bytes` entry bytes, are in the log. */
export function publishWritten(r: SharedRing, records: number, bytes: number): void {
  Atomics.add(r.ctl, C_WRITTEN_RECORDS, records);
  Atomics.add(r.ctl, C_WRITTEN_BYTES, bytes);
}

/** Records written so far (a wrapping count: subtract with `| 0`). Read for every record: no allocation. */
export function writtenRecords(r: SharedRing): number {
  return Atomics.load(r.ctl, C_WRITTEN_RECORDS);
}

/** Entry bytes written so far (a wrapping count). */
export function writtenBytes(r: SharedRing): number {
  return Atomics.load(r.ctl, C_WRITTEN_BYTES);
}

/** The writer's position: its segment and the seq of the next record. */
export function publishPosition(r: SharedRing, segment: number, nextSeq: number): void {
  Atomics.store(r.ctl, C_SEGMENT, segment);
  Atomics.store(r.ctl, C_SEQ_LOW, nextSeq % HALF);
  Atomics.store(r.ctl, C_SEQ_HIGH, Math.floor(nextSeq / HALF));
}

export function position(r: SharedRing): { segment: number; nextSeq: number } {
  return { segment: Atomics.load(r.ctl, C_SEGMENT), nextSeq: Atomics.load(r.ctl, C_SEQ_HIGH) * HALF + Atomics.load(r.ctl, C_SEQ_LOW) };
}

/**
 * The consumer stops looking: true when it may sleep, false when a chunk came in the meantime
 * (it then stays awake). Both sides use sequentially consistent operations (the store of ASLEEP
 * before the load of PUT here, the store of PUT before the exchange in wakeWriter), so a chunk is
 * either seen here or wakes the consumer: never neither.
 */
export function writerAsleep(r: SharedRing, taken: number): boolean {
  Atomics.store(r.ctl, C_ASLEEP, 1);
  if (Atomics.load(r.ctl, C_PUT) === taken) return true;
  Atomics.store(r.ctl, C_ASLEEP, 0);
  return false;
}

/** The consumer looks again (woken, or by itself). */
export function writerAwake(r: SharedRing): void {
  Atomics.store(r.ctl, C_ASLEEP, 0);
}

/** The producer, after putting a chunk: true when the consumer sleeps and must be woken (true once per sleep). */
export function wakeWriter(r: SharedRing): boolean {
  return Atomics.compareExchange(r.ctl, C_ASLEEP, 1, 0) === 1;
}

/** Bytes the producer may still put (a chunk needs its length + 4). */
export function ringFree(r: SharedRing, put: number): number {
  return RING_BYTES - ((put - Atomics.load(r.ctl, C_TAKEN)) | 0);
}

function writeU32(data: Uint8Array, at: number, n: number): void {
  for (let i = 0; i < 4; i++) data[(at + i) & MASK] = (n >>> (8 * i)) & 0xff;
}

function readU32(data: Uint8Array, at: number): number {
  let n = 0;
  for (let i = 0; i < 4; i++) n |= data[(at + i) & MASK] << (8 * i);
  return n >>> 0;
}

/** Puts a chunk at `put` (the producer's own count); returns the new count, published. The caller checked ringFree. */
export function putChunk(r: SharedRing, put: number, chunk: Buffer | null): number {
  const data = view(r);
  const at = put & MASK;
  writeU32(data, at, chunk === null ? OVERSIZED : chunk.length);
  let n = 0;
  if (chunk !== null) {
    n = chunk.length;
    const from = (at + 4) & MASK;
    const first = Math.min(n, RING_BYTES - from);
    chunk.copy(data, from, 0, first);
    if (first < n) chunk.copy(data, 0, first, n);
  }
  const next = (put + 4 + n) | 0;
  Atomics.store(r.ctl, C_PUT, next);
  return next;
}

/**
 * Takes the chunks put since `taken` (the consumer's own count): each is copied out and passed to
 * `onChunk` (null: the next oversized message). `onChunk` returns false to stop before a chunk
 * (its message has not arrived yet). Returns the new count, published.
 */
export function takeChunks(r: SharedRing, taken: number, onChunk: (chunk: ArrayBuffer | null) => boolean): number {
  const put = Atomics.load(r.ctl, C_PUT);
  const data = view(r);
  while (taken !== put) {
    const at = taken & MASK;
    const n = readU32(data, at);
    if (n === OVERSIZED) {
      if (!onChunk(null)) break;
      taken = (taken + 4) | 0;
      continue;
    }
    const ab = new ArrayBuffer(n);
    const out = Buffer.from(ab);
    const from = (at + 4) & MASK;
    const first = Math.min(n, RING_BYTES - from);
    data.copy(out, 0, from, from + first);
    if (first < n) data.copy(out, first, 0, n - first);
    onChunk(ab);
    taken = (taken + 4 + n) | 0;
  }
  Atomics.store(r.ctl, C_TAKEN, taken);
  return taken;
}
