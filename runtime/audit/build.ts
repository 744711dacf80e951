// The gateway's inputs → the bodies of records (everything but `seq` and `prev`), as JSON text.
// A record is a snapshot of the call: the caller may reuse its arrays afterwards. Most bodies are
// serialised at once; a statement's input is encoded at the call (statement-codec.ts) and its
// body written by the writer, with the others of its batch. Long values are cut to fixed
// limits, with the full length and a SHA-256 of what was cut away, so a record stays bounded and
// still pins what happened.

import { sha256Hex } from './chain.ts';
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
  /** what one statement runs by name (EXECUTE, FETCH): candidates of a name not yet settled */
  runs: 4,
  /**
   * the text of what it runs, UTF-16 units: a record repeats it at each EXECUTE or FETCH of a
   * name, from a message of a few bytes, so it is cut shorter than a statement's own text
   */
  runText: 4096,
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

/** How the statement's text is cut in its record: null when it is written whole. */
export function textCutOf(s: Pick<StatementInput, 'text'>, max: number = LIMITS.text): { length: number; sha256: string } | null {
  return s.text.length <= max ? null : { length: s.text.length, sha256: sha256Hex(s.text) };
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
