// A small growable big-endian buffer writer used by every encoder.
//
//   const w = new Writer();
//   const at = w.beginMessage(0x51);   // 'Q': type byte + length placeholder
//   w.cstring('SELECT 1');
//   w.endMessage(at);                  // back-patches the length (including itself)
//   socket.write(w.toBuffer());        // a copy: the writer can be reset and reused
//
// Several messages can be written back to back (a pipeline: Parse, Bind, Execute, Sync) and
// sent as one buffer. `view()` returns the bytes without copying; it stays valid only until
// the next write or reset, so never hand a view to `socket.write` and keep writing.

export class Writer {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  reset(): this {
    this.len = 0;
    return this;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.len);
    this.len += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.len);
    this.len += 4;
    return this;
  }

  /** An unsigned 32-bit value (OIDs). */
  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }

  /**
   * A string in UTF-8 followed by NUL. A string containing NUL cannot be represented on the
   * wire (the receiver would read two fields): that is a programming error and throws.
   */
  cstring(s: string): this {
    if (s.indexOf('\0') !== -1) throw new TypeError('a protocol string cannot contain a NUL character');
    this.string(s);
    this.ensure(1);
    this.buf[this.len++] = 0;
    return this;
  }

  /** A string in UTF-8, without terminator. */
  string(s: string): this {
    // Reserve the worst case for short strings (cheaper than counting), the exact size otherwise.
    this.ensure(s.length < 4096 ? s.length * 3 : Buffer.byteLength(s, 'utf8'));
    this.len += this.buf.write(s, this.len, 'utf8');
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /**
   * Starts a message: writes the type byte (omit it for the untyped startup packets) and a
   * length placeholder. Returns the offset of the length word for `endMessage`.
   */
  beginMessage(type?: number): number {
    if (type !== undefined) this.int8(type);
    const at = this.len;
    this.int32(0);
    return at;
  }

  /** Overwrites 4 bytes already written at `at` (a length written before its data). */
  setInt32(at: number, v: number): this {
    this.buf.writeInt32BE(v, at);
    return this;
  }

  /** Back-patches the length word at `at`: the bytes from it to the end, itself included. */
  endMessage(at: number): this {
    this.buf.writeInt32BE(this.len - at, at);
    return this;
  }

  /** A copy of the bytes written. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    return out;
  }

  /** Allocated capacity. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Drops a backing buffer larger than `above` for a fresh one of `size` bytes (resets). */
  shrink(above: number, size: number): void {
    if (this.buf.length > above) this.buf = Buffer.allocUnsafe(size);
    this.len = 0;
  }

  /** The bytes written, without copying: valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

const scratch = new Writer(4096);

/**
 * The shared scratch writer behind the one-shot `encodeX` functions, reset. Single-threaded
 * and not re-entrant: finish one message with `finishScratch` before starting another.
 */
export function scratchWriter(): Writer {
  return scratch.reset();
}

/** A copy of the scratch writer's bytes; shrinks it again after an unusually large message. */
export function finishScratch(w: Writer): Buffer {
  const out = w.toBuffer();
  w.shrink(1 << 20, 4096);
  return out;
}
