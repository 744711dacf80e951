// A statement's input as compact bytes: the gateway's thread encodes it at the call (a copy that
// shares nothing with the caller and leaves no objects behind for the garbage collector), and
// the writer writes the JSON record straight from these bytes (spec/audit.md §5.2–5.3).
//
// Layout: the session, the time, a field mask, then each field present in a fixed order. Strings
// are length-prefixed, Latin-1 when every code unit fits a byte and UTF-16LE otherwise, so every
// string comes back exactly as it went in (lone surrogates too). Numbers are float64. A binary
// parameter becomes its record's value at the call (its base64, or its length and hash).

import { cut, LIMITS, paramValue, textCutOf } from './build.ts';
import { isoTime } from './chain.ts';
import type { JsonBytes } from './json-bytes.ts';
import type { RunInput, StatementInput } from './records.ts';

const F_QUERY = 1;
const F_INDEX = 2;
const F_PROTOCOL = 4;
const F_PARAMS = 8;
const F_FINGERPRINT = 16;
const F_APPROVAL = 32;
const F_ROWS = 64;
const F_MASKED = 128;
const F_LIMIT = 256;
const F_ERROR = 512;
const F_TIMING = 1024;
const F_TEXT_CUT = 2048;
const F_PARAM_TYPES = 4096;
const F_RUNS = 8192;

/** what a run carries besides its text */
const R_PARAMS = 1;
const R_TYPES = 2;
const R_TEXT_CUT = 4;

const P_NULL = 0;
const P_TEXT = 1;
const P_VALUE = 2;

const DECISIONS = ['allow', 'deny', 'approve'] as const;
const OUTCOMES = ['ok', 'error', 'denied', 'rejected', 'expired', 'cancelled', 'refused', 'unknown'] as const;
/** the timings in the order of their bits and of the record */
const TIMINGS = ['"startedAt":', '"decideUs":', '"waitMs":', '"executeMs":', '"totalMs":'];
const TIMINGS_AFTER = TIMINGS.map((k) => ',' + k);

/** Thrown for an input of a shape the gateway never passes; the recorder writes a gap instead. */
export class UnencodableStatement extends TypeError {}

function bad(what: string): never {
  throw new UnencodableStatement(`${what} is not of the recorded type`);
}

function u8(w: JsonBytes, n: number): void {
  w.room(1);
  w.buf[w.pos++] = n;
}

function u32(w: JsonBytes, n: number): void {
  w.room(4);
  w.buf.writeUInt32LE(n, w.pos);
  w.pos += 4;
}

function f64(w: JsonBytes, n: unknown, what: string): void {
  if (typeof n !== 'number') bad(what);
  w.room(8);
  w.buf.writeDoubleLE(n, w.pos);
  w.pos += 8;
}

/** A string: u32 (length << 1 | wide), then its code units (one byte each, or two when wide). */
function str(w: JsonBytes, s: unknown, what: string): void {
  if (typeof s !== 'string') bad(what);
  const n = s.length;
  w.room(4 + n * 2);
  const b = w.buf;
  const at = w.pos;
  let p = at + 4;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) break;
    b[p++] = c;
  }
  if (i === n) {
    b.writeUInt32LE(n * 2, at);
    w.pos = p;
    return;
  }
  b.writeUInt32LE(n * 2 + 1, at);
  w.pos = at + 4 + b.write(s, at + 4, n * 2, 'utf16le');
}

/** A string the record cuts to LIMITS.string, cut now (what is queued stays bounded). */
function short(s: unknown, what: string): string {
  if (typeof s !== 'string') bad(what);
  return s.length <= LIMITS.string ? s : cut(s, LIMITS.string);
}

/** Bind parameters: their count, then each the record keeps (what it leaves out is counted, not queued). */
function encodeParams(w: JsonBytes, params: unknown): void {
  if (!Array.isArray(params)) bad('params');
  u32(w, params.length);
  for (let i = 0; i < Math.min(params.length, LIMITS.params); i++) {
    const v: unknown = params[i];
    if (v === null) u8(w, P_NULL);
    else if (typeof v === 'string' && v.length <= LIMITS.param) {
      u8(w, P_TEXT);
      str(w, v, 'a parameter');
    } else {
      if (typeof v !== 'string' && (typeof v !== 'object' || v === null)) bad('a parameter');
      u8(w, P_VALUE);
      str(w, JSON.stringify(paramValue(v as string | Uint8Array)), 'a parameter');
    }
  }
}

/** Declared parameter types (OIDs): their count, then each the record keeps. */
function encodeTypes(w: JsonBytes, types: unknown): void {
  if (!Array.isArray(types)) bad('paramTypes');
  u32(w, types.length);
  for (let i = 0; i < Math.min(types.length, LIMITS.params); i++) {
    const t: unknown = types[i];
    if (typeof t !== 'number' || t >>> 0 !== t) bad('a parameter type');
    u32(w, t);
  }
}

/** What a statement runs by name: their count, then each the record keeps (its text cut at LIMITS.runText, with length and hash). */
function encodeRuns(w: JsonBytes, runs: unknown): void {
  if (!Array.isArray(runs)) bad('runs');
  u32(w, runs.length);
  for (let i = 0; i < Math.min(runs.length, LIMITS.runs); i++) {
    const r = runs[i] as RunInput;
    if (typeof r !== 'object' || r === null || typeof r.text !== 'string') bad('a run');
    const textCut = textCutOf(r, LIMITS.runText);
    const params = r.params ?? null;
    const types = r.paramTypes != null && (!Array.isArray(r.paramTypes) || r.paramTypes.length > 0) ? r.paramTypes : null;
    u8(w, (params !== null ? R_PARAMS : 0) | (types !== null ? R_TYPES : 0) | (textCut !== null ? R_TEXT_CUT : 0));
    str(w, textCut !== null ? cut(r.text, LIMITS.runText) : r.text, 'a run');
    if (textCut !== null) {
      f64(w, textCut.length, 'a run');
      str(w, textCut.sha256, 'a run');
    }
    if (params !== null) encodeParams(w, params);
    if (types !== null) encodeTypes(w, types);
  }
}

/** Appends the encoding of one statement to `w`. Throws UnencodableStatement (`w.pos` is then undefined: the caller rewinds). */
export function encodeStatement(w: JsonBytes, session: string, at: number, s: StatementInput): void {
  str(w, session, 'session');
  f64(w, at, 'at');
  const params = s.params ?? null;
  const rows = s.rows ?? null;
  const masked = s.masked ?? null;
  const limit = s.limit ?? null;
  const error = s.error ?? null;
  const timing = s.timing ?? null;
  if (typeof s.text !== 'string') bad('text');
  // a text longer than its record keeps is cut here, with its length and hash: what is queued
  // stays bounded whatever the client sent
  const textCut = textCutOf(s);
  let mask = 0;
  if (s.query !== undefined) mask |= F_QUERY;
  if (s.index !== undefined) mask |= F_INDEX;
  if (s.protocol !== undefined) mask |= F_PROTOCOL;
  if (params !== null) mask |= F_PARAMS;
  if (s.fingerprint != null) mask |= F_FINGERPRINT;
  if (s.approval != null) mask |= F_APPROVAL;
  if (rows !== null) mask |= F_ROWS;
  if (masked !== null) mask |= F_MASKED;
  if (limit !== null) mask |= F_LIMIT;
  if (error !== null) mask |= F_ERROR;
  if (timing !== null) mask |= F_TIMING;
  if (textCut !== null) mask |= F_TEXT_CUT;
  if (s.paramTypes != null && (!Array.isArray(s.paramTypes) || s.paramTypes.length > 0)) mask |= F_PARAM_TYPES;
  if (s.runs != null && (!Array.isArray(s.runs) || s.runs.length > 0)) mask |= F_RUNS;
  u32(w, mask);
  if (mask & F_QUERY) f64(w, s.query, 'query');
  if (mask & F_INDEX) f64(w, s.index, 'index');
  if (mask & F_PROTOCOL) u8(w, s.protocol === 'simple' ? 0 : s.protocol === 'extended' ? 1 : bad('protocol'));
  str(w, textCut !== null ? cut(s.text, LIMITS.text) : s.text, 'text');
  if (textCut !== null) {
    f64(w, textCut.length, 'textCut');
    str(w, textCut.sha256, 'textCut');
  }
  if (params !== null) encodeParams(w, params);
  if (mask & F_PARAM_TYPES) encodeTypes(w, s.paramTypes!);
  if (mask & F_RUNS) encodeRuns(w, s.runs!);
  if (mask & F_FINGERPRINT) str(w, s.fingerprint, 'fingerprint');
  const facts = s.facts;
  if (!Array.isArray(facts)) bad('facts');
  u32(w, facts.length);
  for (let i = 0; i < Math.min(facts.length, LIMITS.facts); i++) {
    const f = facts[i];
    str(w, f.action, 'a fact');
    str(w, short(f.resource, 'a fact'), 'a fact');
    u8(w, f.unbounded === true ? 1 : 0);
  }
  const d = DECISIONS.indexOf(s.decision);
  u8(w, d >= 0 ? d : bad('decision'));
  const rules = s.rules;
  if (!Array.isArray(rules)) bad('rules');
  // the record keeps as many rules as facts, and leaves the rest out without a count
  const nr = Math.min(rules.length, LIMITS.facts);
  u32(w, nr);
  for (let i = 0; i < nr; i++) f64(w, rules[i], 'a rule');
  if (mask & F_APPROVAL) str(w, s.approval, 'approval');
  const o = OUTCOMES.indexOf(s.outcome);
  u8(w, o >= 0 ? o : bad('outcome'));
  if (rows !== null) {
    u8(w, (rows.returned !== undefined ? 1 : 0) | (rows.affected !== undefined ? 2 : 0) | (rows.command !== undefined ? 4 : 0));
    if (rows.returned !== undefined) f64(w, rows.returned, 'rows');
    if (rows.affected !== undefined) f64(w, rows.affected, 'rows');
    if (rows.command !== undefined) str(w, rows.command, 'rows');
  }
  if (masked !== null) {
    if (!Array.isArray(masked)) bad('masked');
    // the record keeps LIMITS.masked names, and leaves the rest out without a count
    const nm = Math.min(masked.length, LIMITS.masked);
    u32(w, nm);
    for (let i = 0; i < nm; i++) str(w, short(masked[i], 'a masked column'), 'a masked column');
  }
  if (limit !== null) {
    f64(w, limit.rows, 'limit');
    f64(w, limit.rule, 'limit');
    u8(w, limit.reached ? 1 : 0);
  }
  if (error !== null) {
    str(w, short('sqlstate' in error ? error.sqlstate : (error as { code?: unknown }).code, 'error'), 'error');
    // a server's message can quote the statement's values whole: cut as the record cuts it
    str(w, short(error.message, 'error'), 'error');
  }
  if (timing !== null) {
    const t = timing;
    u8(w, (t.startedAt !== undefined ? 1 : 0) | (t.decideUs !== undefined ? 2 : 0) | (t.waitMs !== undefined ? 4 : 0) | (t.executeMs !== undefined ? 8 : 0) | (t.totalMs !== undefined ? 16 : 0));
    if (t.startedAt !== undefined) f64(w, t.startedAt, 'timing');
    if (t.decideUs !== undefined) f64(w, t.decideUs, 'timing');
    if (t.waitMs !== undefined) f64(w, t.waitMs, 'timing');
    if (t.executeMs !== undefined) f64(w, t.executeMs, 'timing');
    if (t.totalMs !== undefined) f64(w, t.totalMs, 'timing');
  }
}

/** `key` and how many of `total` items a list left out, when it left any out. */
function omitted(w: JsonBytes, key: string, total: number, kept: number): void {
  if (total <= kept) return;
  w.ascii(key);
  w.num(total - kept);
}

/** Bytes written from other bytes, kept to be written again when the same bytes come. */
class ByteMemo {
  private valid = false;
  private tag = 0;
  private key: Buffer = Buffer.alloc(0);
  private json: Buffer = Buffer.alloc(0);

  /** Writes what `src[from, to)` with `tag` was written as last time, when it is what was kept. */
  reuse(w: JsonBytes, tag: number, src: Buffer, from: number, to: number): boolean {
    const key = this.key;
    if (!this.valid || tag !== this.tag || to - from !== key.length || src.compare(key, 0, key.length, from, to) !== 0) return false;
    w.bytes(this.json);
    return true;
  }

  /** Keeps `w`'s bytes from `jsonFrom` on as what `src[from, to)` with `tag` is written as; a long key is not kept. */
  keep(w: JsonBytes, jsonFrom: number, tag: number, src: Buffer, from: number, to: number): void {
    this.valid = to - from <= MEMO_KEY_BYTES;
    if (!this.valid) return;
    this.tag = tag;
    this.key = Buffer.from(src.subarray(from, to));
    this.json = Buffer.from(w.buf.subarray(jsonFrom, w.pos));
  }

  drop(): void {
    this.valid = false;
  }
}

/** the longest encoding of a text, or of facts and rules, whose JSON is kept for the next record */
const MEMO_KEY_BYTES = 8192;

/**
 * Writes the JSON body of a statement record (`{"ts":…,"kind":"statement",…}`) straight from what
 * encodeStatement wrote: no strings or objects in between. The text, and the facts with the
 * decision and rules, are most often the previous record's: their JSON is then copied. The bytes
 * are exactly JSON.stringify of the plain reference object (test/unit/audit/statement-reference.ts).
 */
export class StatementTranscoder {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  /** whether the string skipStr passed last is UTF-16 */
  private wide = false;
  private readonly text = new ByteMemo();
  private readonly facts = new ByteMemo();

  /**
   * Writes the body of the statement encoded in `buf[pos, end)` into `w`. Throws when those
   * bytes are not one statement's encoding (`w.pos` is then undefined: the caller rewinds).
   */
  write(w: JsonBytes, buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    const session = this.pos;
    this.skipStr();
    const at = this.f64();
    const mask = this.u32();
    w.ascii('{"ts":"');
    w.ascii(isoTime(at));
    w.ascii('","kind":"statement","session":');
    this.strAt(w, session);
    if (mask & F_QUERY) this.numField(w, ',"query":');
    if (mask & F_INDEX) this.numField(w, ',"index":');
    this.textPart(w, mask);
    if (mask & F_PARAMS) this.params(w);
    if (mask & F_PARAM_TYPES) this.types(w);
    if (mask & F_RUNS) this.runs(w);
    if (mask & F_FINGERPRINT) {
      w.ascii(',"fingerprint":');
      this.str(w);
    }
    this.factsPart(w);
    if (mask & F_APPROVAL) {
      w.ascii(',"approval":');
      this.str(w);
    }
    w.ascii(',"outcome":"');
    w.ascii(OUTCOMES[this.u8()] ?? this.bad());
    w.byte(0x22);
    if (mask & F_ROWS) {
      w.ascii(',"rows":{');
      const b = this.u8();
      let first = true;
      if (b & 1) first = this.numField(w, '"returned":');
      if (b & 2) first = this.numField(w, first ? '"affected":' : ',"affected":');
      if (b & 4) {
        w.ascii(first ? '"command":' : ',"command":');
        this.str(w);
      }
      w.byte(0x7d);
    }
    if (mask & F_MASKED) {
      const n = this.u32();
      if (n > 0) {
        w.ascii(',"masked":[');
        for (let i = 0; i < n; i++) {
          if (i > 0) w.byte(0x2c);
          this.str(w);
        }
        w.byte(0x5d);
      }
    }
    if (mask & F_LIMIT) {
      this.numField(w, ',"limit":{"rows":');
      this.numField(w, ',"rule":');
      w.ascii(this.u8() === 1 ? ',"reached":true}' : ',"reached":false}');
    }
    if (mask & F_ERROR) {
      w.ascii(',"error":{"code":');
      this.str(w);
      w.ascii(',"message":');
      this.str(w);
      w.byte(0x7d);
    }
    if (mask & F_TIMING) {
      w.ascii(',"timing":{');
      const b = this.u8();
      let first = true;
      for (let i = 0; i < TIMINGS.length; i++) {
        if (b & (1 << i)) first = this.numField(w, first ? TIMINGS[i] : TIMINGS_AFTER[i]);
      }
      w.byte(0x7d);
    }
    w.byte(0x7d);
    if (this.pos !== end) this.bad();
  }

  /** `,"protocol":…,"text":…` (and `textTruncated`), copied when the protocol and text are the last ones written whole. */
  private textPart(w: JsonBytes, mask: number): void {
    const from = this.pos;
    const protocol = mask & F_PROTOCOL ? this.u8() : -1;
    const textAt = this.pos;
    this.skipStr();
    const cut = (mask & F_TEXT_CUT) !== 0;
    const tag = mask & F_PROTOCOL;
    if (!cut && this.text.reuse(w, tag, this.buf, from, this.pos)) return;
    const jsonFrom = w.pos;
    if (protocol > 1) this.bad();
    if (protocol >= 0) w.ascii(protocol === 0 ? ',"protocol":"simple"' : ',"protocol":"extended"');
    w.ascii(',"text":');
    this.strAt(w, textAt);
    if (cut) {
      this.text.drop();
      this.numField(w, ',"textTruncated":{"length":');
      w.ascii(',"sha256":');
      this.str(w);
      w.byte(0x7d);
    } else this.text.keep(w, jsonFrom, tag, this.buf, from, this.pos);
  }

  private params(w: JsonBytes): void {
    const total = this.u32();
    const n = Math.min(total, LIMITS.params);
    w.ascii(',"params":[');
    for (let i = 0; i < n; i++) {
      if (i > 0) w.byte(0x2c);
      const tag = this.u8();
      if (tag === P_NULL) w.ascii('null');
      else if (tag === P_TEXT) this.str(w);
      else if (tag === P_VALUE) w.utf8(this.string()); // already JSON
      else this.bad();
    }
    w.byte(0x5d);
    omitted(w, ',"paramsOmitted":', total, n);
  }

  private types(w: JsonBytes): void {
    const total = this.u32();
    const n = Math.min(total, LIMITS.params);
    w.ascii(',"paramTypes":[');
    for (let i = 0; i < n; i++) {
      if (i > 0) w.byte(0x2c);
      w.num(this.u32());
    }
    w.byte(0x5d);
    omitted(w, ',"paramTypesOmitted":', total, n);
  }

  private runs(w: JsonBytes): void {
    const total = this.u32();
    const n = Math.min(total, LIMITS.runs);
    w.ascii(',"runs":[');
    for (let i = 0; i < n; i++) {
      const flags = this.u8();
      if (flags > (R_PARAMS | R_TYPES | R_TEXT_CUT)) this.bad();
      w.ascii(i > 0 ? ',{"text":' : '{"text":');
      this.str(w);
      if (flags & R_TEXT_CUT) {
        this.numField(w, ',"textTruncated":{"length":');
        w.ascii(',"sha256":');
        this.str(w);
        w.byte(0x7d);
      }
      if (flags & R_PARAMS) this.params(w);
      if (flags & R_TYPES) this.types(w);
      w.byte(0x7d);
    }
    w.byte(0x5d);
    omitted(w, ',"runsOmitted":', total, n);
  }

  /** `,"facts":[…]` (and `factsOmitted`), `,"decision":…,"rules":[…]`, copied when they are the last ones. */
  private factsPart(w: JsonBytes): void {
    const from = this.pos;
    const total = this.u32();
    const n = Math.min(total, LIMITS.facts);
    for (let i = 0; i < n; i++) {
      this.skipStr();
      this.skipStr();
      this.pos++;
    }
    this.pos++;
    const rules = this.u32();
    this.pos += 8 * rules;
    const to = this.pos;
    if (to > this.end) this.bad();
    if (total === n && this.facts.reuse(w, 0, this.buf, from, to)) return;
    this.pos = from + 4;
    const jsonFrom = w.pos;
    w.ascii(',"facts":[');
    for (let i = 0; i < n; i++) {
      w.ascii(i > 0 ? ',{"action":' : '{"action":');
      this.str(w);
      w.ascii(',"resource":');
      this.str(w);
      w.ascii(this.u8() === 1 ? ',"unbounded":true}' : '}');
    }
    w.byte(0x5d);
    omitted(w, ',"factsOmitted":', total, n);
    w.ascii(',"decision":"');
    w.ascii(DECISIONS[this.u8()] ?? this.bad());
    w.ascii('","rules":[');
    const nr = this.u32();
    for (let i = 0; i < nr; i++) {
      if (i > 0) w.byte(0x2c);
      w.num(this.f64());
    }
    w.byte(0x5d);
    if (total > n) this.facts.drop();
    else this.facts.keep(w, jsonFrom, 0, this.buf, from, to);
  }

  /** `key` and the number that comes next; false (no longer the first field). */
  private numField(w: JsonBytes, key: string): false {
    w.ascii(key);
    w.num(this.f64());
    return false;
  }

  private bad(): never {
    throw new UnencodableStatement('the bytes are not a statement encoding');
  }

  private u8(): number {
    if (this.pos >= this.end) this.bad();
    return this.buf[this.pos++];
  }

  private u32(): number {
    if (this.pos + 4 > this.end) this.bad();
    const n = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return n;
  }

  private f64(): number {
    if (this.pos + 8 > this.end) this.bad();
    const n = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return n;
  }

  /** Passes over a string and returns where its bytes begin; they end at `this.pos`. */
  private skipStr(): number {
    const h = this.u32();
    const from = this.pos;
    this.wide = (h & 1) === 1;
    this.pos += this.wide ? (h >>> 1) * 2 : h >>> 1;
    if (this.pos > this.end) this.bad();
    return from;
  }

  /** A string as JSON: from its Latin-1 bytes as they are, a wide one through a string. */
  private str(w: JsonBytes): void {
    const from = this.skipStr();
    if (this.wide) w.str(this.buf.toString('utf16le', from, this.pos));
    else w.latin1(this.buf, from, this.pos);
  }

  /** The string at `at` as JSON, leaving the position where it is. */
  private strAt(w: JsonBytes, at: number): void {
    const pos = this.pos;
    this.pos = at;
    this.str(w);
    this.pos = pos;
  }

  /** A string as a string. */
  private string(): string {
    const from = this.skipStr();
    return this.buf.toString(this.wide ? 'utf16le' : 'latin1', from, this.pos);
  }
}
