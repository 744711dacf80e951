// The gateway's inputs → the bodies of records (everything but `seq` and `prev`), as JSON text.
// A record is a snapshot of the call: the caller may reuse its arrays afterwards. Most bodies are
// serialised at once; a statement's input is encoded at the call (statement-codec.ts) and its
// body written by the writer thread, with the others of its batch. Long values are cut to fixed
// limits, with the full length and a SHA-256 of what was cut away, so a record stays bounded and
// still pins what happened.

import { sha256Hex } from './chain.ts';
import { JsonBytes } from './json-bytes.ts';
import type {
  ApprovalInput,
  ConnectInput,
  DisconnectInput,
  ErrorInfo,
  ParamValue,
  PolicyInput,
  StatementInput,
} from './records.ts';

export const LIMITS = {
  /** statement text, UTF-16 units */
  text: 64 * 1024,
  /** one text parameter, UTF-16 units */
  param: 4096,
  /** one binary parameter, bytes */
  binaryParam: 3072,
  params: 256,
  facts: 1000,
  masked: 1000,
  groups: 100,
  /** names, subjects, messages */
  string: 4096,
} as const;

/** `s` cut to `max` UTF-16 units, never inside a surrogate pair. */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}

function short(s: string): string {
  return s.length <= LIMITS.string ? s : cut(s, LIMITS.string);
}

function errorInfo(e: ErrorInfo | { sqlstate: string; message: string } | null | undefined): ErrorInfo | undefined {
  if (!e) return undefined;
  const code = 'sqlstate' in e ? e.sqlstate : e.code;
  return { code: short(code), message: short(e.message) };
}

/** A bind parameter as its record keeps it: text up to LIMITS.param, binary as base64, longer values as length and hash. */
export function paramValue(v: string | Uint8Array | ParamValue): ParamValue {
  if (v === null) return null;
  if (typeof v === 'string') {
    if (v.length <= LIMITS.param) return v;
    return { truncated: true, length: v.length, sha256: sha256Hex(v) };
  }
  if (!(v instanceof Uint8Array)) return v; // already a record's value (a snapshot's)
  if (v.length <= LIMITS.binaryParam) return { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return { truncated: true, length: v.length, sha256: sha256Hex(v) };
}

export function connectBody(session: string, ts: string, c: ConnectInput): string {
  const id = c.identity;
  return JSON.stringify({
    ts,
    kind: 'connect',
    session,
    outcome: c.outcome ?? 'accepted',
    identity: id
      ? {
          subject: short(id.subject),
          groups: id.groups.slice(0, LIMITS.groups).map(short),
          agent: id.agent === null ? null : short(id.agent),
          issuer: id.issuer === undefined ? undefined : short(id.issuer),
        }
      : null,
    client: { address: short(c.client.address), port: c.client.port },
    target: {
      name: short(c.target.name),
      kind: short(c.target.kind),
      database: c.target.database === undefined ? undefined : short(c.target.database),
      user: c.target.user === undefined ? undefined : short(c.target.user),
    },
    tls: c.tls ? { protocol: short(c.tls.protocol), cipher: c.tls.cipher === undefined ? undefined : short(c.tls.cipher) } : null,
    application: c.application == null ? undefined : short(c.application),
    policy: c.policy ? { name: short(c.policy.name), digest: short(c.policy.digest) } : undefined,
    error: errorInfo(c.error),
  });
}

/**
 * The parts of a statement record that repeat from one execution of a statement to the next,
 * kept as bytes with what they were written from: the next record reuses the bytes when its
 * inputs are equal (compared by value, so a caller changing its arrays afterwards changes nothing).
 */
const MEMO_MAX = 64;
const textMemo = { valid: false, protocol: undefined as string | undefined, text: '', bytes: Buffer.alloc(0) };
const factsMemo = { valid: false, decision: '', actions: [] as string[], resources: [] as string[], unbounded: [] as boolean[], rules: [] as number[], bytes: Buffer.alloc(0) };

/** How the statement's text is cut in its record: null when it is written whole. */
export function textCutOf(s: StatementInput): { length: number; sha256: string } | null {
  if (s.textCut) return s.textCut;
  return s.text.length <= LIMITS.text ? null : { length: s.text.length, sha256: sha256Hex(s.text) };
}

/** `,"protocol":…,"text":…` (and `textTruncated` when the text is cut). */
function textPart(w: JsonBytes, s: StatementInput): void {
  const m = textMemo;
  if (m.valid && m.text === s.text && m.protocol === s.protocol) {
    w.bytes(m.bytes);
    return;
  }
  // a text too long to be written whole is not kept (the memo would hold all of it)
  const truncated = textCutOf(s);
  const keep = truncated === null;
  const from = w.pos;
  const text = keep || s.textCut ? s.text : cut(s.text, LIMITS.text);
  if (s.protocol !== undefined) {
    w.ascii(',"protocol":');
    w.str(s.protocol);
  }
  w.ascii(',"text":');
  w.str(text);
  if (!keep) {
    w.ascii(',"textTruncated":{"length":');
    w.num(truncated.length);
    w.ascii(',"sha256":"');
    w.ascii(truncated.sha256);
    w.ascii('"}');
  }
  m.valid = keep;
  m.protocol = s.protocol;
  m.text = keep ? s.text : '';
  m.bytes = keep ? Buffer.from(w.buf.subarray(from, w.pos)) : Buffer.alloc(0);
}

/** Items of a list past its record's `limit`, and those the caller already left out (`StatementInput.omitted`). */
function omittedCount(length: number, limit: number, before = 0): number {
  return Math.max(0, length - limit) + before;
}

/** Whether the facts, decision and rules are those `factsMemo` was written from. */
function sameFacts(s: StatementInput): boolean {
  const m = factsMemo;
  const facts = s.facts;
  const rules = s.rules;
  if (!m.valid || s.omitted?.facts || m.decision !== s.decision || m.actions.length !== facts.length || m.rules.length !== rules.length) return false;
  for (let i = 0; i < facts.length; i++) {
    const f = facts[i];
    if (f.action !== m.actions[i] || f.resource !== m.resources[i] || (f.unbounded === true) !== m.unbounded[i]) return false;
  }
  for (let i = 0; i < rules.length; i++) if (rules[i] !== m.rules[i]) return false;
  return true;
}

/** `,"facts":[…]` (and `factsOmitted`), `,"decision":…,"rules":[…]`. */
function factsPart(w: JsonBytes, s: StatementInput): void {
  if (sameFacts(s)) {
    w.bytes(factsMemo.bytes);
    return;
  }
  const from = w.pos;
  const nf = Math.min(s.facts.length, LIMITS.facts);
  w.ascii(',"facts":[');
  for (let i = 0; i < nf; i++) {
    const f = s.facts[i];
    w.ascii(i > 0 ? ',{"action":' : '{"action":');
    w.str(f.action);
    w.ascii(',"resource":');
    w.str(short(f.resource));
    w.ascii(f.unbounded === true ? ',"unbounded":true}' : '}');
  }
  w.byte(0x5d);
  const omitted = omittedCount(s.facts.length, LIMITS.facts, s.omitted?.facts);
  if (omitted > 0) {
    w.ascii(',"factsOmitted":');
    w.num(omitted);
  }
  w.ascii(',"decision":');
  w.str(s.decision);
  w.ascii(',"rules":[');
  const nr = Math.min(s.rules.length, LIMITS.facts);
  for (let i = 0; i < nr; i++) {
    if (i > 0) w.byte(0x2c);
    w.num(s.rules[i]);
  }
  w.byte(0x5d);
  const m = factsMemo;
  m.valid = s.facts.length <= MEMO_MAX && s.rules.length <= MEMO_MAX && !s.omitted?.facts;
  if (m.valid) {
    m.decision = s.decision;
    m.actions = s.facts.map((f) => f.action);
    m.resources = s.facts.map((f) => f.resource);
    m.unbounded = s.facts.map((f) => f.unbounded === true);
    m.rules = s.rules.slice();
    m.bytes = Buffer.from(w.buf.subarray(from, w.pos));
  }
}

/** `,"name":value` (`"name":value` when first) for a number that may be absent, as JSON.stringify leaves out undefined. */
function numField(w: JsonBytes, first: boolean, name: string, n: number | undefined): boolean {
  if (n === undefined) return first;
  w.ascii(first ? '"' : ',"');
  w.ascii(name);
  w.ascii('":');
  w.num(n);
  return false;
}

/**
 * The statement record's body (`{"ts":…,"kind":"statement",…}`) as UTF-8, written field by
 * field into `w`: the hot path of recording. Byte for byte what JSON.stringify of
 * `statementObject` encodes to (a test holds the two together): every string and number is
 * written as JSON.stringify writes it, absent fields are left out as it leaves out undefined.
 * `ts` is RFC 3339 as `isoTime` writes it.
 */
export function writeStatementBody(w: JsonBytes, session: string, ts: string, s: StatementInput): void {
  w.ascii('{"ts":');
  w.str(ts);
  w.ascii(',"kind":"statement","session":');
  w.str(session);
  if (s.query !== undefined) {
    w.ascii(',"query":');
    w.num(s.query);
  }
  if (s.index !== undefined) {
    w.ascii(',"index":');
    w.num(s.index);
  }
  textPart(w, s);
  const params = s.params ?? null;
  if (params !== null) {
    const n = Math.min(params.length, LIMITS.params);
    w.ascii(',"params":[');
    for (let i = 0; i < n; i++) {
      if (i > 0) w.byte(0x2c);
      const p = params[i];
      if (p === null) w.ascii('null');
      else if (typeof p === 'string' && p.length <= LIMITS.param) w.str(p);
      else w.utf8(JSON.stringify(paramValue(p)));
    }
    w.byte(0x5d);
    const omitted = omittedCount(params.length, LIMITS.params, s.omitted?.params);
    if (omitted > 0) {
      w.ascii(',"paramsOmitted":');
      w.num(omitted);
    }
  }
  if (s.fingerprint != null) {
    w.ascii(',"fingerprint":');
    w.str(s.fingerprint);
  }
  factsPart(w, s);
  if (s.approval != null) {
    w.ascii(',"approval":');
    w.str(s.approval);
  }
  w.ascii(',"outcome":');
  w.str(s.outcome);
  if (s.rows) {
    const r = s.rows;
    w.ascii(',"rows":{');
    let first = numField(w, true, 'returned', r.returned);
    first = numField(w, first, 'affected', r.affected);
    if (r.command !== undefined) {
      w.ascii(first ? '"command":' : ',"command":');
      w.str(r.command);
    }
    w.byte(0x7d);
  }
  const masked = s.masked ?? null;
  if (masked !== null && masked.length > 0) {
    w.ascii(',"masked":[');
    const n = Math.min(masked.length, LIMITS.masked);
    for (let i = 0; i < n; i++) {
      if (i > 0) w.byte(0x2c);
      w.str(short(masked[i]));
    }
    w.byte(0x5d);
  }
  if (s.limit) {
    w.ascii(',"limit":{"rows":');
    w.num(s.limit.rows);
    w.ascii(',"rule":');
    w.num(s.limit.rule);
    w.ascii(s.limit.reached ? ',"reached":true}' : ',"reached":false}');
  }
  const error = errorInfo(s.error);
  if (error !== undefined) {
    w.ascii(',"error":{"code":');
    w.str(error.code);
    w.ascii(',"message":');
    w.str(error.message);
    w.byte(0x7d);
  }
  const t = s.timing ?? null;
  if (t !== null) {
    w.ascii(',"timing":{');
    let first = numField(w, true, 'startedAt', t.startedAt);
    first = numField(w, first, 'decideUs', t.decideUs);
    first = numField(w, first, 'waitMs', t.waitMs);
    first = numField(w, first, 'executeMs', t.executeMs);
    numField(w, first, 'totalMs', t.totalMs);
    w.byte(0x7d);
  }
  w.byte(0x7d);
}

/**
 * The statement record as an object: the reference for `writeStatementBody`, which writes the same
 * text without building the object (a test holds the two to the same bytes).
 */
export function statementObject(session: string, ts: string, s: StatementInput): Record<string, unknown> {
  const truncated = textCutOf(s);
  const text = truncated === null || s.textCut ? s.text : cut(s.text, LIMITS.text);
  const params = s.params ?? null;
  const facts = s.facts.length <= LIMITS.facts ? s.facts : s.facts.slice(0, LIMITS.facts);
  const masked = s.masked ?? null;
  const timing = s.timing ?? null;
  return {
    ts,
    kind: 'statement',
    session,
    query: s.query,
    index: s.index,
    protocol: s.protocol,
    text,
    textTruncated: truncated ?? undefined,
    params: params === null ? undefined : params.slice(0, LIMITS.params).map(paramValue),
    paramsOmitted: params === null ? undefined : omittedCount(params.length, LIMITS.params, s.omitted?.params) || undefined,
    fingerprint: s.fingerprint ?? undefined,
    facts: facts.map((f) => ({ action: f.action, resource: short(f.resource), unbounded: f.unbounded === true ? true : undefined })),
    factsOmitted: omittedCount(s.facts.length, LIMITS.facts, s.omitted?.facts) || undefined,
    decision: s.decision,
    rules: s.rules.slice(0, LIMITS.facts),
    approval: s.approval ?? undefined,
    outcome: s.outcome,
    rows: s.rows ? { returned: s.rows.returned, affected: s.rows.affected, command: s.rows.command } : undefined,
    masked: masked === null || masked.length === 0 ? undefined : masked.slice(0, LIMITS.masked).map(short),
    limit: s.limit ? { rows: s.limit.rows, rule: s.limit.rule, reached: s.limit.reached } : undefined,
    error: errorInfo(s.error),
    timing:
      timing === null
        ? undefined
        : {
            startedAt: timing.startedAt,
            decideUs: timing.decideUs,
            waitMs: timing.waitMs,
            executeMs: timing.executeMs,
            totalMs: timing.totalMs,
          },
  };
}

export function approvalBody(session: string | null, ts: string, a: ApprovalInput): string {
  return JSON.stringify({
    ts,
    kind: 'approval',
    session: session ?? undefined,
    request: short(a.request),
    event: a.event,
    by: a.by ? { subject: short(a.by.subject), groups: a.by.groups?.slice(0, LIMITS.groups).map(short) } : undefined,
    reason: a.reason == null ? undefined : short(a.reason),
    rule: a.rule,
    group: a.group === undefined ? undefined : short(a.group),
    quorum: a.quorum,
    approvals: a.approvals,
    mode: a.mode,
    expiresAt: a.expiresAt === undefined ? undefined : new Date(a.expiresAt).toISOString(),
    fingerprint: a.fingerprint,
  });
}

export function disconnectBody(session: string, ts: string, d: DisconnectInput, durationMs: number | undefined): string {
  return JSON.stringify({
    ts,
    kind: 'disconnect',
    session,
    reason: d.reason,
    error: errorInfo(d.error),
    durationMs,
    statements: d.statements,
    denied: d.denied,
    bytesIn: d.bytesIn,
    bytesOut: d.bytesOut,
  });
}

export function policyBody(ts: string, p: PolicyInput): string {
  return JSON.stringify({ ts, kind: 'policy', name: short(p.name), digest: short(p.digest), reason: p.reason, version: p.version });
}
