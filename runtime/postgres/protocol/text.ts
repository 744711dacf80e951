// Bounds-checked field readers shared by the decoders. Every reader returns either the value
// and the offset after it, or a ProtocolError; none of them throws on any input.
//
// Text sent by clients (SQL, statement and portal names, startup parameters) is decoded
// strictly: invalid UTF-8 is an error, never a silent U+FFFD, so that what the gateway
// classifies is exactly what the server will execute. Text sent by the server (messages,
// column names, tags) is decoded leniently: the proxy forwards the raw bytes anyway.

import { isUtf8 } from 'node:buffer';
import { protocolError, type ProtocolError } from './errors.ts';

/** Decode `buf[start, end)` as UTF-8; `null` when it is not valid UTF-8 (strict). */
export function utf8Strict(buf: Buffer, start: number, end: number): string | null {
  if (end - start === 0) return '';
  // Short strings: a byte scan is cheaper than creating a view for isUtf8.
  if (end - start <= 64) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return buf.toString('latin1', start, end);
  }
  if (!isUtf8(buf.subarray(start, end))) return null;
  return buf.toString('utf8', start, end);
}

/** Position of the NUL ending the string at `off`, or -1. */
export function nulAt(buf: Buffer, off: number): number {
  return off >= buf.length ? -1 : buf.indexOf(0, off);
}

/**
 * Mutable decoding cursor. One per decode call; `err` is set by the first failing read and
 * every later read is a no-op, so decoders can read all fields and check `err` once.
 */
export class Cursor {
  off = 0;
  err: ProtocolError | null = null;
  constructor(
    readonly buf: Buffer,
    readonly type: number,
    readonly what: string,
    /** decode strings strictly (frontend text) or leniently (backend text) */
    readonly strict: boolean,
  ) {}

  fail(code: Parameters<typeof protocolError>[0], message: string): void {
    if (this.err === null) this.err = protocolError(code, `${this.what}: ${message}`, this.type);
  }

  private need(n: number, field: string): boolean {
    if (this.err !== null) return false;
    if (this.off + n > this.buf.length) {
      this.fail('short-message', `${field} runs past the end of the message`);
      return false;
    }
    return true;
  }

  int8(field: string): number {
    if (!this.need(1, field)) return 0;
    return this.buf[this.off++]!;
  }

  int16(field: string): number {
    if (!this.need(2, field)) return 0;
    const v = this.buf.readInt16BE(this.off);
    this.off += 2;
    return v;
  }

  int32(field: string): number {
    if (!this.need(4, field)) return 0;
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  uint32(field: string): number {
    if (!this.need(4, field)) return 0;
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  /** A count that must be >= 0 (int16 on the wire), and at most `maxFit` items of `minSize` bytes. */
  count16(field: string, minItemSize: number): number {
    const n = this.int16(field);
    if (this.err !== null) return 0;
    if (n < 0) {
      this.fail('invalid-count', `negative ${field}`);
      return 0;
    }
    if (minItemSize > 0 && this.off + n * minItemSize > this.buf.length) {
      this.fail('short-message', `${field} of ${n} does not fit in the message`);
      return 0;
    }
    return n;
  }

  cstring(field: string): string {
    if (this.err !== null) return '';
    const end = nulAt(this.buf, this.off);
    if (end < 0) {
      this.fail('missing-terminator', `${field} is not NUL-terminated`);
      return '';
    }
    let s: string | null;
    if (this.strict) {
      s = utf8Strict(this.buf, this.off, end);
      if (s === null) {
        this.fail('invalid-utf8', `${field} is not valid UTF-8`);
        return '';
      }
    } else {
      s = this.buf.toString('utf8', this.off, end);
    }
    this.off = end + 1;
    return s;
  }

  /** `n` bytes as a view of the message (no copy). */
  bytes(n: number, field: string): Buffer {
    if (!this.need(n, field)) return EMPTY;
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  /** Everything left, as a view. */
  rest(): Buffer {
    if (this.err !== null) return EMPTY;
    const v = this.buf.subarray(this.off);
    this.off = this.buf.length;
    return v;
  }

  /** Ends decoding: an error if a read failed or bytes are left over. */
  done(): ProtocolError | null {
    if (this.err === null && this.off !== this.buf.length) {
      this.fail('trailing-bytes', `${this.buf.length - this.off} unexpected bytes after the last field`);
    }
    return this.err;
  }
}

export const EMPTY: Buffer = Buffer.alloc(0);
