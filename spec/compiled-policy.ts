// TypeScript declarations of the compiled policy: the only contract between the compiler and
// the runtime. compiled-policy.schema.json is the normative JSON Schema of the same shape;
// both are versioned by `format`/`version`. Types only: nothing here runs.

export const COMPILED_FORMAT = 'pamc.compiled';
export const COMPILED_VERSION = 1;

export interface CompiledPolicy {
  format: typeof COMPILED_FORMAT;
  version: typeof COMPILED_VERSION;
  /** the name from the `policy` header */
  policy: string;
  /** sha256 over the sources' paths and contents: two compilations of the same text agree */
  digest: string;
  /** the files the policy was compiled from, paths relative to the policy root, sorted */
  sources: CompiledSource[];
  identity: CompiledIdentity;
  /** bit positions of identity groups; index 0 is `*`, every authenticated identity */
  groups: string[];
  /** conditions referenced by index from entries */
  conditions: CompiledCondition[];
  /** every rule, by id (= index); entries and masks point here for provenance */
  rules: CompiledRule[];
  targets: Record<string, CompiledTarget>;
  /** session records (spec/audit.md); absent when the policy has no `audit` block */
  audit?: CompiledAudit;
  /** how approval requests reach approvers; absent when the policy has no `approvals` block */
  approvals?: CompiledApprovals;
}

/** The `audit` block (spec/language.md §7.1, spec/audit.md). */
export interface CompiledAudit {
  /** the directory of the segment files, relative to the policy root unless absolute */
  dir: string;
  /** the gateway's checkpoint signing key: a private JWK or a PKCS#8 PEM */
  key: SecretSource;
  /** a segment is closed and a new one begun when it reaches this size or this age */
  rotate: { maxBytes: number; maxAgeSeconds: number };
  /** a signed checkpoint is written after this much time or this many records, whichever first */
  checkpoint: { everySeconds: number; everyRecords: number };
  /** when records cannot be written: refuse new statements, or continue with an alert */
  onFailure: 'refuse' | 'continue';
  /** live forwarding to a Splunk HEC-compatible collector */
  forward: { url: string; token: SecretSource; ca: string | null } | null;
}

/** The `approvals` block (spec/language.md §7.2). */
export interface CompiledApprovals {
  /** the approvals HTTP API: null listen means the gateway's admin listener */
  api: { listen: string | null; url: string | null; tls: { cert: string; key: SecretSource } | null };
  webhooks: CompiledWebhook[];
  /** where retry-mode grants are kept across restarts (relative to the policy root), or null: in memory */
  dir: string | null;
}

export interface CompiledWebhook {
  /** the URL as written, or a reference to a secret holding it (a Slack URL carries its token) */
  url: string | SecretSource;
  /** HMAC-SHA-256 key of the signature header; required for `json` */
  secret: SecretSource | null;
  format: 'json' | 'slack';
}

export interface CompiledSource {
  path: string;
  sha256: string;
}

export interface SourceLocation {
  /** index into `sources` */
  file: number;
  /** 1-based */
  line: number;
  /** 1-based, in UTF-16 code units */
  column: number;
  /** offsets of the rule's text */
  start: number;
  end: number;
}

export type SecretSource = { env: string } | { file: string };

export interface CompiledIdentity {
  issuer: string;
  audiences: string[];
  jwks: { file: string } | { url: string };
  algorithms: string[];
  groupsClaim: string;
  agentClaim: string | null;
  clockSkewSeconds: number;
}

export type RuleEffect = 'allow' | 'deny' | 'approve' | 'mask' | 'limit';

export interface CompiledRule {
  id: number;
  effect: RuleEffect;
  /** the identity group the rule belongs to, or null for a target-wide rule (every identity) */
  group: string | null;
  target: string;
  /** the rule as the formatter writes it, one line */
  text: string;
  /** null for rules the compiler adds itself (the baseline) */
  source: SourceLocation | null;
}

export type CompiledCondition =
  | { kind: 'property'; property: 'unbounded' | 'limited'; negated: boolean }
  | {
      kind: 'during';
      /** 0 = Sunday ... 6 = Saturday; all seven when the rule names no days */
      days: number[];
      /** minutes after midnight; from > to wraps past midnight; from = 0, to = 1440 all day */
      from: number;
      to: number;
      /** IANA time zone */
      tz: string;
    }
  | { kind: 'claim'; claim: string; op: 'in' | 'not in'; values: string[] };

export interface ApprovalRequirement {
  /** the identity group whose members may approve */
  group: string;
  quorum: number;
  withinSeconds: number;
  mode: 'hold' | 'retry';
  /** retry mode: how many runs one approval grants */
  uses: number;
}

export interface Entry {
  /** group bit positions the entry applies to */
  groups: number[];
  /** the rule that produced it */
  rule: number;
  /** condition indices that must all hold */
  when?: number[];
  /** approve entries only */
  approval?: ApprovalRequirement;
}

export interface Cell {
  deny?: Entry[];
  approve?: Entry[];
  allow?: Entry[];
}

export type MaskStrategy =
  | { name: 'redact' }
  | { name: 'null' }
  | { name: 'hash' }
  | { name: 'email' }
  | { name: 'keep_first'; n: number }
  | { name: 'keep_last'; n: number };

export interface MaskEntry {
  groups: number[];
  rule: number;
  strategy: MaskStrategy;
}

export interface LimitEntry {
  groups: number[];
  rule: number;
  rows: number;
}

export interface MaskingOptions {
  /** COPY ... TO STDOUT of a relation with masked columns: refuse, or mask the stream */
  copy: 'deny' | 'mask';
  /** an output derived from a masked column (expressions, aggregates): mask it whole, or refuse */
  derived: 'mask' | 'deny';
  /** masked columns in WHERE / JOIN / ORDER BY / GROUP BY / HAVING: allowed, or refused */
  predicates: 'allow' | 'deny';
  hashKey: SecretSource | null;
}

export type Connection =
  | { embedded: true; seed: string | null }
  | {
      embedded: false;
      host: string;
      port: number;
      database: string;
      user: string;
      password: SecretSource | null;
      tls: { mode: 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'; ca: string | null };
    };

export interface ListenerOptions {
  /** `host:port`, or null for the gateway's default */
  address: string | null;
  tls: { mode: 'off' | 'prefer' | 'require'; cert: string | null; key: SecretSource | null };
}

export interface CompiledTarget {
  kind: 'postgres' | 'ssh' | 'kubernetes';
  /** source location of the target declaration */
  source: SourceLocation;
  /** postgres: how the gateway reaches the server; null for kinds that do not have it yet */
  connection: Connection | null;
  listener: ListenerOptions;
  /** schemas searched for unqualified names (after pg_catalog), as the gateway pins them */
  searchPath: string[];
  masking: MaskingOptions;
  /**
   * action → resource key → cell. Keys are exact resources, `schema.*`, `kind *` and `*`;
   * each cell already holds the entries of the wildcards above it (see spec/language.md §6),
   * so the runtime looks up the exact key, then its parent wildcard, then `*`, and stops at
   * the first hit.
   */
  actions: Record<string, Record<string, Cell>>;
  /** relation key → column name (or `*` for every column) → mask entries */
  masks: Record<string, Record<string, MaskEntry[]>>;
  limits: LimitEntry[];
}
