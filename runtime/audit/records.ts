// The session record: what the gateway tells the recorder (the inputs) and what one line of a
// segment file holds (the records). spec/audit.md is the normative description and
// spec/audit-record.schema.json the JSON Schema of a line; this file is the TypeScript view.

/** Every line: `{"seq":…,"prev":"…","ts":"…","kind":"…", …fields of the kind}`, in that order. */
export interface RecordHead {
  /** 0 for the first record of the log, then +1 per record, across segments */
  seq: number;
  /** SHA-256 (hex) of the previous line's bytes; for seq 0, the log's genesis hash */
  prev: string;
  /** when the event happened, RFC 3339 UTC with milliseconds */
  ts: string;
}

export type AuditRecord =
  | OpenRecord
  | CheckpointRecord
  | ConnectRecord
  | StatementRecord
  | ApprovalRecord
  | DisconnectRecord
  | PolicyRecord
  | OutageRecord
  | GapRecord;

export type RecordKind = AuditRecord['kind'];

export const RECORD_KINDS: readonly RecordKind[] = [
  'open',
  'checkpoint',
  'connect',
  'statement',
  'approval',
  'disconnect',
  'policy',
  'outage',
  'gap',
];

export interface GatewayInfo {
  host: string;
  pid: number;
  /** random id of this gateway process */
  run: string;
  version: string | null;
}

/** The first record of every segment. */
export interface OpenRecord extends RecordHead {
  kind: 'open';
  log: string;
  segment: number;
  /** create: the first segment of the log; start: a gateway (re)started; rotate: size or age; recover: after a write failure that left a torn tail */
  reason: 'create' | 'start' | 'rotate' | 'recover';
  /** how the previous segment ended; null for the first segment */
  previous: {
    segment: number;
    /** seq of its last complete record */
    lastSeq: number;
    /** it ended with a `rotate` or `close` checkpoint */
    closed: boolean;
    /** bytes after its last complete record (a torn last line), 0 when none */
    tailBytes: number;
  } | null;
  gateway: GatewayInfo;
}

export type CheckpointReason = 'interval' | 'count' | 'rotate' | 'close' | 'manual';

/** A signed checkpoint: `jws` signs the payload below; the other fields repeat it. */
export interface CheckpointRecord extends RecordHead {
  kind: 'checkpoint';
  reason: CheckpointReason;
  /** compact JWS over CheckpointPayload */
  jws: string;
}

/** What a checkpoint signs: the record just before it, and how many records precede it. */
export interface CheckpointPayload {
  log: string;
  segment: number;
  /** seq of the last record covered (the checkpoint's seq − 1) */
  seq: number;
  /** hash of that record's line (the checkpoint's `prev`) */
  hash: string;
  /** records in the log before the checkpoint (= the checkpoint's seq) */
  count: number;
  /** the checkpoint record's `ts` */
  ts: string;
  reason: CheckpointReason;
}

export interface IdentityInfo {
  subject: string;
  groups: string[];
  agent: string | null;
  issuer?: string;
}

export interface ConnectRecord extends RecordHead {
  kind: 'connect';
  session: string;
  outcome: 'accepted' | 'rejected';
  /** null when the token could not be verified */
  identity: IdentityInfo | null;
  client: { address: string; port?: number };
  target: { name: string; kind: string; database?: string; user?: string };
  tls: { protocol: string; cipher?: string } | null;
  application?: string;
  policy?: { name: string; digest: string };
  error?: ErrorInfo;
}

export interface ErrorInfo {
  /** SQLSTATE, or a gateway code such as `token_expired` */
  code: string;
  message: string;
}

/** A bind parameter: text, bytes (binary format), NULL, or what is left of a long value. */
export type ParamValue = string | null | { base64: string } | { truncated: true; length: number; sha256: string };

/** `unknown`: forwarded to the server, but the session ended before the server answered (it may have run) */
export type StatementOutcome = 'ok' | 'error' | 'denied' | 'rejected' | 'expired' | 'cancelled' | 'refused' | 'unknown';

/** How a statement was bound: its parameters and the types its Parse declared, each list cut with a count of what it left out. */
export interface BindingRecord {
  params?: ParamValue[];
  /** present when more parameters were sent than recorded */
  paramsOmitted?: number;
  /** the parameter types (OIDs) the statement's Parse declared, trailing unspecified (0) ones left out */
  paramTypes?: number[];
  /** present when more types were declared than recorded */
  paramTypesOmitted?: number;
}

export interface StatementRecord extends RecordHead, BindingRecord {
  kind: 'statement';
  session: string;
  /** the query's number in the session (the statements of one simple Query share it) */
  query?: number;
  /** the statement's index in its query */
  index?: number;
  protocol?: 'simple' | 'extended';
  text: string;
  /** present when `text` was cut: the full length (UTF-16 units) and SHA-256 of the full text */
  textTruncated?: { length: number; sha256: string };
  /** what an EXECUTE or a FETCH (or MOVE) in the statement runs: the prepared statement, the cursor or the protocol portal */
  runs?: RunRecord[];
  /** present when it may run more of them than recorded (a name parsed again, not yet settled by the server) */
  runsOmitted?: number;
  fingerprint?: string;
  facts: { action: string; resource: string; unbounded?: true }[];
  factsOmitted?: number;
  decision: 'allow' | 'deny' | 'approve';
  rules: number[];
  approval?: string;
  outcome: StatementOutcome;
  rows?: { returned?: number; affected?: number; command?: string };
  masked?: string[];
  limit?: { rows: number; rule: number; reached: boolean };
  error?: ErrorInfo;
  timing?: StatementTiming;
}

/**
 * What a statement runs by name: the text of the prepared statement an EXECUTE runs (a PREPARE's
 * whole text, or a protocol Parse's), of the cursor's DECLARE or the protocol portal's statement
 * a FETCH reads; a protocol portal with the parameters it was bound with; a Parse's declared types.
 */
export interface RunRecord extends BindingRecord {
  text: string;
  textTruncated?: { length: number; sha256: string };
}

export interface RunInput {
  text: string;
  params?: readonly (string | Uint8Array | ParamValue)[] | null;
  paramTypes?: readonly number[] | null;
}

export interface StatementTiming {
  /** epoch ms when the statement arrived */
  startedAt?: number;
  /** classification and decision, microseconds */
  decideUs?: number;
  /** waiting for approval, ms */
  waitMs?: number;
  /** upstream execution, ms */
  executeMs?: number;
  totalMs?: number;
}

export type ApprovalEvent = 'requested' | 'approved' | 'rejected' | 'expired' | 'withdrawn' | 'granted' | 'used';

export interface ApprovalRecord extends RecordHead {
  kind: 'approval';
  /** the session that asked, when known */
  session?: string;
  request: string;
  event: ApprovalEvent;
  /** the approver (approved, rejected) or the requester (requested) */
  by?: { subject: string; groups?: string[] };
  reason?: string;
  rule?: number;
  group?: string;
  quorum?: number;
  /** distinct approvals so far */
  approvals?: number;
  mode?: 'hold' | 'retry';
  expiresAt?: string;
  fingerprint?: string;
}

export interface DisconnectRecord extends RecordHead {
  kind: 'disconnect';
  session: string;
  reason: 'client' | 'server' | 'error' | 'shutdown' | 'timeout' | 'policy';
  error?: ErrorInfo;
  durationMs?: number;
  statements?: number;
  denied?: number;
  bytesIn?: number;
  bytesOut?: number;
}

/** The policy in force from here on (rule ids of later statements refer to it). */
export interface PolicyRecord extends RecordHead {
  kind: 'policy';
  name: string;
  digest: string;
  reason: 'start' | 'reload';
  version?: number;
}

/** Writing failed from `since` to `until` (written once writing works again). */
export interface OutageRecord extends RecordHead {
  kind: 'outage';
  since: string;
  until: string;
  error: ErrorInfo;
  onFailure: 'refuse' | 'continue';
}

/** Records that were never written: the in-memory queue was full. */
export interface GapRecord extends RecordHead {
  kind: 'gap';
  lost: number;
  /** lost records by kind */
  kinds: Record<string, number>;
  from: string;
  to: string;
}

// ---------------------------------------------------------------------------------------------
// Inputs: what the gateway passes. Times are epoch milliseconds (default: now).

export interface ConnectInput {
  /** null when authentication failed */
  identity: { subject: string; groups: readonly string[]; agent: string | null; issuer?: string } | null;
  client: { address: string; port?: number };
  target: { name: string; kind: string; database?: string; user?: string };
  tls: { protocol: string; cipher?: string } | null;
  /** the client's application_name */
  application?: string | null;
  outcome?: 'accepted' | 'rejected';
  error?: ErrorInfo | null;
  policy?: { name: string; digest: string } | null;
  at?: number;
}

export interface StatementInput {
  query?: number;
  index?: number;
  protocol?: 'simple' | 'extended';
  text: string;
  /** bind parameters: text-format values as strings, binary-format values as bytes (or already as the record's value) */
  params?: readonly (string | Uint8Array | ParamValue)[] | null;
  /** the parameter types its Parse declared (an extended-protocol statement) */
  paramTypes?: readonly number[] | null;
  /** what it runs by name (EXECUTE, FETCH, MOVE) */
  runs?: readonly RunInput[] | null;
  fingerprint?: string | null;
  facts: readonly { action: string; resource: string; unbounded?: boolean }[];
  decision: 'allow' | 'deny' | 'approve';
  rules: readonly number[];
  approval?: string | null;
  outcome: StatementOutcome;
  rows?: { returned?: number; affected?: number; command?: string } | null;
  /** output columns that were masked, e.g. `public.customers.email` */
  masked?: readonly string[] | null;
  limit?: { rows: number; rule: number; reached: boolean } | null;
  error?: { sqlstate: string; message: string } | null;
  timing?: StatementTiming | null;
  at?: number;
}

export interface ApprovalInput {
  request: string;
  event: ApprovalEvent;
  by?: { subject: string; groups?: readonly string[] } | null;
  reason?: string | null;
  rule?: number;
  group?: string;
  quorum?: number;
  approvals?: number;
  mode?: 'hold' | 'retry';
  /** epoch ms */
  expiresAt?: number;
  fingerprint?: string;
  at?: number;
}

export interface DisconnectInput {
  reason: DisconnectRecord['reason'];
  error?: ErrorInfo | null;
  statements?: number;
  denied?: number;
  bytesIn?: number;
  bytesOut?: number;
  at?: number;
}

export interface PolicyInput {
  name: string;
  digest: string;
  reason: 'start' | 'reload';
  version?: number;
  at?: number;
}
