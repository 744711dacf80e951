// A statement's input as compact bytes: the gateway's thread encodes it at the call (a copy that
// shares nothing with the caller and leaves no objects behind for the garbage collector), the
// writer thread decodes it and writes the JSON record (spec/audit.md §5.2).
//
// Layout: the session, the time, a field mask, then each field present in a fixed order. Strings
// are length-prefixed, Latin-1 when every code unit fits a byte and UTF-16LE otherwise, so every
// string comes back exactly as it went in (lone surrogates too). Numbers are float64. A binary
// parameter becomes its record's value at the call (its base64, or its length and hash).

import { cut, LIMITS, paramValue, textCutOf } from './build.ts';
import type { JsonBytes } from './json-bytes.ts';
import type { ParamValue, StatementInput } from './records.ts';

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

const P_NULL = 0;
const P_TEXT = 1;
const P_VALUE = 2;

const DECISIONS = ['allow', 'deny', 'approve'] as const;
const OUTCOMES = ['ok', 'error', 'denied', 'rejected', 'expired', 'cancelled', 'refused', 'unknown'] as const;

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

/** Items of a list the caller already left out (`StatementInput.omitted`). */
function omitted(s: StatementInput, list: 'params' | 'facts'): number {
  const n = s.omitted?.[list] ?? 0;
  return Number.isInteger(n) && n >= 0 ? n : bad('omitted');
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
  u32(w, mask);
  if (mask & F_QUERY) f64(w, s.query, 'query');
  if (mask & F_INDEX) f64(w, s.index, 'index');
  if (mask & F_PROTOCOL) u8(w, s.protocol === 'simple' ? 0 : s.protocol === 'extended' ? 1 : bad('protocol'));
  str(w, textCut !== null && !s.textCut ? cut(s.text, LIMITS.text) : s.text, 'text');
  if (textCut !== null) {
    f64(w, textCut.length, 'textCut');
    str(w, textCut.sha256, 'textCut');
  }
  if (params !== null) {
    if (!Array.isArray(params)) bad('params');
    // what the record leaves out is counted, not queued: what a statement queues stays bounded
    u32(w, params.length + omitted(s, 'params'));
    for (let i = 0; i < Math.min(params.length, LIMITS.params); i++) {
      const v = params[i];
      if (v === null) u8(w, P_NULL);
      else if (typeof v === 'string' && v.length <= LIMITS.param) {
        u8(w, P_TEXT);
        str(w, v, 'a parameter');
      } else {
        if (typeof v !== 'string' && (typeof v !== 'object' || v === null)) bad('a parameter');
        u8(w, P_VALUE);
        str(w, JSON.stringify(paramValue(v)), 'a parameter');
      }
    }
  }
  if (mask & F_FINGERPRINT) str(w, s.fingerprint, 'fingerprint');
  const facts = s.facts;
  if (!Array.isArray(facts)) bad('facts');
  u32(w, facts.length + omitted(s, 'facts'));
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

/** Reads what encodeStatement wrote, from `pos`. */
export class StatementReader {
  pos = 0;
  constructor(private buf: Buffer) {}

  reset(buf: Buffer, pos: number): void {
    this.buf = buf;
    this.pos = pos;
  }

  private u8(): number {
    return this.buf[this.pos++];
  }

  private u32(): number {
    const n = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return n;
  }

  private f64(): number {
    const n = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return n;
  }

  private str(): string {
    const h = this.u32();
    const n = h >>> 1;
    const from = this.pos;
    if (h & 1) {
      this.pos += n * 2;
      return this.buf.toString('utf16le', from, this.pos);
    }
    this.pos += n;
    return this.buf.toString('latin1', from, this.pos);
  }

  /** the last statement text read, and its encoding: a statement run again is not decoded again */
  private lastText = '';
  private lastTextBytes = Buffer.alloc(0);
  private lastTextHead = -1;

  private text(): string {
    const h = this.buf.readUInt32LE(this.pos);
    const size = (h >>> 1) * (h & 1 ? 2 : 1);
    const from = this.pos + 4;
    if (h === this.lastTextHead && this.buf.compare(this.lastTextBytes, 0, size, from, from + size) === 0) {
      this.pos = from + size;
      return this.lastText;
    }
    const s = this.str();
    if (size <= 4096) {
      this.lastText = s;
      this.lastTextHead = h;
      this.lastTextBytes = Buffer.from(this.buf.subarray(from, from + size));
    }
    return s;
  }

  read(): { session: string; at: number; input: StatementInput } {
    const session = this.str();
    const at = this.f64();
    const mask = this.u32();
    const s: StatementInput = { text: '', facts: [], decision: 'allow', rules: [], outcome: 'ok' };
    if (mask & F_QUERY) s.query = this.f64();
    if (mask & F_INDEX) s.index = this.f64();
    if (mask & F_PROTOCOL) s.protocol = this.u8() === 0 ? 'simple' : 'extended';
    s.text = this.text();
    if (mask & F_TEXT_CUT) s.textCut = { length: this.f64(), sha256: this.str() };
    let omitted: { params: number; facts: number } | null = null;
    if (mask & F_PARAMS) {
      const total = this.u32();
      const n = Math.min(total, LIMITS.params);
      if (total > n) omitted = { params: total - n, facts: 0 };
      const params: ParamValue[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const tag = this.u8();
        params[i] = tag === P_NULL ? null : tag === P_TEXT ? this.str() : (JSON.parse(this.str()) as ParamValue);
      }
      s.params = params;
    }
    if (mask & F_FINGERPRINT) s.fingerprint = this.str();
    const totalFacts = this.u32();
    const nf = Math.min(totalFacts, LIMITS.facts);
    if (totalFacts > nf) omitted = { params: omitted?.params ?? 0, facts: totalFacts - nf };
    if (omitted !== null) s.omitted = omitted;
    const facts: { action: string; resource: string; unbounded?: boolean }[] = new Array(nf);
    for (let i = 0; i < nf; i++) {
      const action = this.str();
      const resource = this.str();
      facts[i] = this.u8() === 1 ? { action, resource, unbounded: true } : { action, resource };
    }
    s.facts = facts;
    s.decision = DECISIONS[this.u8()];
    const nr = this.u32();
    const rules: number[] = new Array(nr);
    for (let i = 0; i < nr; i++) rules[i] = this.f64();
    s.rules = rules;
    if (mask & F_APPROVAL) s.approval = this.str();
    s.outcome = OUTCOMES[this.u8()];
    if (mask & F_ROWS) {
      const b = this.u8();
      s.rows = {
        returned: b & 1 ? this.f64() : undefined,
        affected: b & 2 ? this.f64() : undefined,
        command: b & 4 ? this.str() : undefined,
      };
    }
    if (mask & F_MASKED) {
      const n = this.u32();
      const masked: string[] = new Array(n);
      for (let i = 0; i < n; i++) masked[i] = this.str();
      s.masked = masked;
    }
    if (mask & F_LIMIT) s.limit = { rows: this.f64(), rule: this.f64(), reached: this.u8() === 1 };
    if (mask & F_ERROR) s.error = { sqlstate: this.str(), message: this.str() };
    if (mask & F_TIMING) {
      const b = this.u8();
      s.timing = {
        startedAt: b & 1 ? this.f64() : undefined,
        decideUs: b & 2 ? this.f64() : undefined,
        waitMs: b & 4 ? this.f64() : undefined,
        executeMs: b & 8 ? this.f64() : undefined,
        totalMs: b & 16 ? this.f64() : undefined,
      };
    }
    return { session, at, input: s };
  }
}
