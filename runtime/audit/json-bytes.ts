// JSON written straight into bytes, exactly as JSON.stringify followed by UTF-8 encoding would
// write it: the recorder encodes statement records into its batch buffer this way, without
// building a string of many pieces, joining it and encoding it again (spec/audit.md §5.3).
//
// JSON.stringify's strings: `"` and `\` escaped with a backslash; U+0008, U+0009, U+000A, U+000C,
// U+000D as \b \t \n \f \r; other code units below U+0020 as \u00xx; a surrogate not in a pair as
// \udxxx (lowercase hex both); everything else as is (here: its UTF-8).

const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];
/** strings longer than this are escaped by JSON.stringify (native, faster on long runs) and then encoded */
const NATIVE_FROM = 256;
/** ASCII longer than this is copied by Buffer#write (a call costs about as much as 16 bytes by hand) */
const ASCII_NATIVE_FROM = 16;

/** `"`, `\` or a control character `c` escaped at `b[p]`; the position after it. */
function escaped(b: Buffer, p: number, c: number): number {
  b[p++] = 0x5c;
  if (c === 0x22 || c === 0x5c) b[p++] = c;
  else if (c === 0x0a) b[p++] = 0x6e;
  else if (c === 0x0d) b[p++] = 0x72;
  else if (c === 0x09) b[p++] = 0x74;
  else if (c === 0x08) b[p++] = 0x62;
  else if (c === 0x0c) b[p++] = 0x66;
  else {
    b[p++] = 0x75;
    b[p++] = 0x30;
    b[p++] = 0x30;
    b[p++] = HEX[c >> 4];
    b[p++] = HEX[c & 15];
  }
  return p;
}

export class JsonBytes {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for `n` more bytes; the buffer grows (its content kept) when it has not. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.pos + n, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** Text the caller knows is ASCII JSON writes as is: keys, digits, hex, RFC 3339 times. */
  ascii(s: string): void {
    const n = s.length;
    this.room(n);
    if (n > ASCII_NATIVE_FROM) {
      this.pos += this.buf.write(s, this.pos, 'latin1');
      return;
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Text already in JSON form (any Unicode), as UTF-8. */
  utf8(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Bytes as they are. */
  bytes(src: Uint8Array): void {
    this.room(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** A string as JSON.stringify writes it, quotes included. */
  str(s: string): void {
    const n = s.length;
    if (n > NATIVE_FROM) {
      this.utf8(JSON.stringify(s));
      return;
    }
    this.room(n * 6 + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (c >= 0x20 && c !== 0x22 && c !== 0x5c) b[p++] = c;
        else p = escaped(b, p, c);
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      } else {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          b[p++] = 0xf0 | (cp >> 18);
          b[p++] = 0x80 | ((cp >> 12) & 0x3f);
          b[p++] = 0x80 | ((cp >> 6) & 0x3f);
          b[p++] = 0x80 | (cp & 0x3f);
          i++;
        } else {
          b[p++] = 0x5c;
          b[p++] = 0x75;
          b[p++] = HEX[c >> 12];
          b[p++] = HEX[(c >> 8) & 15];
          b[p++] = HEX[(c >> 4) & 15];
          b[p++] = HEX[c & 15];
        }
      }
    }
    b[p++] = 0x22;
    this.pos = p;
  }

  /**
   * A string given as its Latin-1 bytes, `src[from, to)` (one byte per code unit, all below
   * U+0100), as JSON.stringify writes it, quotes included: the audit writer writes strings
   * straight from the recorder's encoding, without making them strings first.
   */
  latin1(src: Uint8Array, from: number, to: number): void {
    this.room((to - from) * 6 + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x22;
    for (let i = from; i < to; i++) {
      const c = src[i];
      if (c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c) b[p++] = c;
      else if (c >= 0x80) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else p = escaped(b, p, c);
    }
    b[p++] = 0x22;
    this.pos = p;
  }

  /** A number as JSON.stringify writes it: shortest round-trip digits, null when not finite. */
  num(n: number): void {
    // whole numbers from 0 to 2^53 (counts, ids, epoch milliseconds) digit by digit; -0 is 0
    if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) {
      let digits = 1;
      for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
      this.room(digits);
      const b = this.buf;
      let p = this.pos + digits;
      this.pos = p;
      let t = n | 0;
      do {
        const q = (t / 10) | 0;
        b[--p] = 48 + (t - q * 10);
        t = q;
      } while (t > 0);
      return;
    }
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n) {
      // epoch milliseconds and other large counts: the part above 10^9, then nine digits
      const high = Math.floor(n / 1e9);
      this.num(high);
      this.digits9(n - high * 1e9);
      return;
    }
    // milliseconds with three decimals (timings): a decimal of at most 15 significant digits is
    // the shortest text that reads back as its double, so it is what JSON.stringify writes
    if (n > 0 && n < 1e12) {
      const k = Math.round(n * 1000);
      if (k / 1000 === n) {
        const whole = Math.floor(k / 1000);
        let frac = k - whole * 1000;
        this.num(whole);
        this.room(4);
        const b = this.buf;
        b[this.pos++] = 0x2e;
        b[this.pos++] = 48 + Math.floor(frac / 100);
        frac %= 100;
        if (frac > 0) {
          b[this.pos++] = 48 + Math.floor(frac / 10);
          frac %= 10;
          if (frac > 0) b[this.pos++] = 48 + frac;
        }
        return;
      }
    }
    this.ascii(Number.isFinite(n) ? '' + n : 'null');
  }

  /** 0 ≤ n < 10^9 as exactly nine digits. */
  private digits9(n: number): void {
    this.room(9);
    const b = this.buf;
    let t = n | 0;
    for (let p = this.pos + 8; p >= this.pos; p--) {
      const q = (t / 10) | 0;
      b[p] = 48 + (t - q * 10);
      t = q;
    }
    this.pos += 9;
  }
}
