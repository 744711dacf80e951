// The abstract syntax tree of a .pam file: tagged unions (`kind`) with source offsets.
// The grammar is in spec/language.md. The AST holds what was written, not what it means:
// identifiers keep their spelling (folding is the compiler's business), and nothing is
// resolved or checked here.

import type { Span } from './diagnostic.ts';

export type { Span };

// ---------------------------------------------------------------------------------------------
// Leaves

/** An identifier. Unquoted identifiers keep their spelling; quoted ones are unescaped. */
export interface Ident {
  kind: 'Ident';
  value: string;
  quoted: boolean;
  span: Span;
}

/** `*` in a resource path. */
export interface Star {
  kind: 'Star';
  span: Span;
}

export interface StringLit {
  kind: 'String';
  /** the unescaped value */
  value: string;
  span: Span;
}

export interface IntegerLit {
  kind: 'Integer';
  value: number;
  /** the digits as written, for integers beyond Number.MAX_SAFE_INTEGER the compiler reports */
  text: string;
  span: Span;
}

/** `15m`, `1h30m`, `90s`, `2d`, `500ms`. */
export interface DurationLit {
  kind: 'Duration';
  text: string;
  /** milliseconds */
  ms: number;
  span: Span;
}

/** `64MiB`, `512KiB`, `4096B`. */
export interface SizeLit {
  kind: 'Size';
  text: string;
  bytes: number;
  span: Span;
}

/** `09:00`. */
export interface TimeLit {
  kind: 'Time';
  text: string;
  /** minutes after midnight; 24:00 is 1440 */
  minutes: number;
  span: Span;
}

/** A secret reference: `env "NAME"`, `file "path"`, or a literal string (which the compiler refuses). */
export interface SecretRef {
  kind: 'Secret';
  source: 'env' | 'file' | 'literal';
  value: StringLit;
  span: Span;
}

// ---------------------------------------------------------------------------------------------
// Resources

/** `public.orders`, `public.*`, `*`, `customers.email`, `public."Order Items"`, `"/srv/x.csv"` */
export interface Path {
  kind: 'Path';
  parts: (Ident | Star)[];
  span: Span;
}

/** A resource in a rule or set: an optional object kind word (`schema analytics`) and a path. */
export interface Resource {
  kind: 'Resource';
  objectKind?: Ident;
  path: Path;
  span: Span;
}

// ---------------------------------------------------------------------------------------------
// Top-level items

export interface PolicyFile {
  kind: 'File';
  path: string;
  items: Item[];
  comments: Comment[];
  span: Span;
  /**
   * Offsets at which the source's lines start, set by the parser. The printer uses them to keep
   * comments and blank lines where they were; renderers can turn offsets into line:column.
   * Absent on a tree built by hand: the printer then keeps no blank lines and puts every comment
   * on its own line.
   */
  lineStarts?: number[];
}

/** `# ...` to the end of the line. `text` excludes the newline and includes the `#`. */
export interface Comment {
  kind: 'Comment';
  text: string;
  span: Span;
}

export type Item = PolicyDecl | IdentityBlock | TargetDecl | SetDecl | GroupBlock | OnBlock | AuditBlock | ApprovalsBlock;

export interface PolicyDecl {
  kind: 'Policy';
  name: StringLit;
  span: Span;
}

export interface IdentityBlock {
  kind: 'Identity';
  settings: IdentitySetting[];
  span: Span;
}

export type IdentitySetting =
  | { kind: 'Issuer'; value: StringLit; span: Span }
  | { kind: 'Audience'; values: StringLit[]; span: Span }
  | { kind: 'Jwks'; source: 'file' | 'url'; value: StringLit; span: Span }
  | { kind: 'ClaimMapping'; field: 'groups' | 'agent'; claim: StringLit; span: Span }
  | { kind: 'Algorithms'; values: Ident[]; span: Span }
  | { kind: 'ClockSkew'; value: DurationLit; span: Span };

export interface TargetDecl {
  kind: 'Target';
  name: Ident;
  /** `postgres`, `ssh`, `kubernetes`; checked by the compiler */
  targetKind: Ident;
  settings: TargetSetting[];
  span: Span;
}

export type TargetSetting =
  | { kind: 'Host'; value: StringLit; span: Span }
  | { kind: 'Port'; value: IntegerLit; span: Span }
  | { kind: 'Database'; value: StringLit; span: Span }
  | { kind: 'Server'; value: StringLit; span: Span }
  | { kind: 'Listen'; value: StringLit; span: Span }
  | { kind: 'Login'; user: StringLit; credentials: Credential[]; span: Span }
  | { kind: 'Tls'; upstream: boolean; mode: Ident; options: TlsOption[]; span: Span }
  | { kind: 'Embedded'; seed?: StringLit; span: Span }
  | { kind: 'SearchPath'; schemas: Ident[]; span: Span }
  | { kind: 'Masking'; options: MaskingOption[]; span: Span };

/** `password env "X"`, `key file "id_ed25519"`, `token env "K8S_TOKEN"` */
export interface Credential {
  kind: 'Credential';
  /** `password`, `key`, `token`, `certificate`; checked by the compiler */
  name: Ident;
  secret: SecretRef;
  span: Span;
}

/** `cert "server.crt"`, `key file "server.key"`, `ca "ca.pem"` */
export type TlsOption =
  | { kind: 'TlsCert'; value: StringLit; span: Span }
  | { kind: 'TlsKey'; secret: SecretRef; span: Span }
  | { kind: 'TlsCa'; value: StringLit; span: Span };

/** Inside `masking { ... }`: `copy deny`, `derived mask`, `predicates deny`, `hash_key env "K"`. */
export type MaskingOption =
  | { kind: 'MaskingChoice'; name: Ident; value: Ident; span: Span }
  | { kind: 'HashKey'; secret: SecretRef; span: Span };

/** `audit { dir "…" key file "…" rotate size 64MiB every 1d … }`: where session records go. */
export interface AuditBlock {
  kind: 'Audit';
  settings: AuditSetting[];
  span: Span;
}

export type AuditSetting =
  /** `dir "/var/lib/pamc/audit"` */
  | { kind: 'AuditDir'; value: StringLit; span: Span }
  /** `key file "audit.jwk"`: the gateway's checkpoint signing key */
  | { kind: 'AuditKey'; secret: SecretRef; span: Span }
  /** `rotate size 64MiB every 1d` (either or both, in any order) */
  | { kind: 'Rotate'; size?: SizeLit; every?: DurationLit; span: Span }
  /** `checkpoint every 1m`, `checkpoint every 10000 records`, `checkpoint every 1m, 10000 records` */
  | { kind: 'Checkpoint'; every?: DurationLit; records?: IntegerLit; span: Span }
  /** `on_failure refuse`, `on_failure continue`; checked by the compiler */
  | { kind: 'OnFailure'; value: Ident; span: Span }
  /** `forward url "https://…" token env "HEC_TOKEN" [ca "ca.pem"]` */
  | { kind: 'Forward'; url: StringLit; token?: SecretRef; ca?: StringLit; span: Span };

/** `approvals { webhook … api … }`: how approval requests reach people. */
export interface ApprovalsBlock {
  kind: 'Approvals';
  settings: ApprovalsSetting[];
  span: Span;
}

export type ApprovalsSetting =
  /**
   * `webhook url "https://…" secret env "HMAC" format json`. The URL may itself be a secret
   * reference (`url env "SLACK_WEBHOOK_URL"`): a Slack webhook URL carries its token.
   */
  | { kind: 'Webhook'; url: SecretRef; secret?: SecretRef; format?: Ident; span: Span }
  /** `api listen "127.0.0.1:6481" url "https://pamc.example.com" cert "api.crt" key file "api.key"` */
  | { kind: 'Api'; listen?: StringLit; url?: StringLit; cert?: StringLit; key?: SecretRef; span: Span }
  /** `dir "state/approvals"`: where retry-mode grants are kept across restarts */
  | { kind: 'ApprovalsDir'; value: StringLit; span: Span };

/** `set pii = [customers.email, customers.ssn]` */
export interface SetDecl {
  kind: 'Set';
  name: Ident;
  members: Resource[];
  span: Span;
}

/** `group "crewai-analysts" { on shop { ... } }` */
export interface GroupBlock {
  kind: 'Group';
  name: StringLit;
  blocks: OnBlock[];
  span: Span;
}

/** `on shop { ... }`, `on shop, billing { ... }`; at top level it applies to every identity. */
export interface OnBlock {
  kind: 'On';
  targets: Ident[];
  rules: Rule[];
  span: Span;
}

// ---------------------------------------------------------------------------------------------
// Rules

export type Rule = AccessRule | MaskRule | LimitRule;

export type Effect = 'allow' | 'deny' | 'approve';

/** `allow read on public.*, catalog`, `approve delete on public.* when unbounded by "dba" within 15m` */
export interface AccessRule {
  kind: 'Access';
  effect: Effect;
  /** the effect keyword's own span, for diagnostics that point at it */
  effectSpan: Span;
  actions: Ident[];
  /** empty: every resource */
  resources: Resource[];
  conditions: Condition[];
  approval?: Approval;
  span: Span;
}

export interface Approval {
  kind: 'Approval';
  by: StringLit;
  quorum?: IntegerLit;
  within?: DurationLit;
  /** `hold` or `retry`; checked by the compiler */
  mode?: Ident;
  /** for `mode retry`: how many runs one approval grants */
  uses?: IntegerLit;
  span: Span;
}

export type Condition =
  /** `unbounded`, `limited`, or any other statement property word; `not unbounded` */
  | { kind: 'Property'; negated: boolean; name: Ident; span: Span }
  /** `during mon-fri 09:00-17:00 tz "Europe/Berlin"` */
  | { kind: 'During'; days?: DaySpec; from?: TimeLit; to?: TimeLit; tz?: StringLit; span: Span }
  /** `claim "env" = "prod"`, `claim "env" != "prod"`, `claim "team" in ["a", "b"]`, `claim "team" not in [...]` */
  | { kind: 'Claim'; claim: StringLit; op: '=' | '!=' | 'in' | 'not in'; values: StringLit[]; span: Span };

/** `mon-fri` (a range) or `sat, sun` (a list); day names are checked by the compiler */
export type DaySpec =
  | { kind: 'DayRange'; from: Ident; to: Ident; span: Span }
  | { kind: 'DayList'; days: Ident[]; span: Span };

/** `mask customers.email with email`, `mask pii with redact`, `mask customers.phone with keep_last(4)` */
export interface MaskRule {
  kind: 'Mask';
  /** columns (`customers.email`, `public.customers.*`) or names of sets of columns */
  columns: Path[];
  strategy: Strategy;
  span: Span;
}

export interface Strategy {
  kind: 'Strategy';
  name: Ident;
  argument?: IntegerLit;
  span: Span;
}

/** `limit rows 10000` */
export interface LimitRule {
  kind: 'Limit';
  rows: IntegerLit;
  span: Span;
}

export type AnyNode =
  | PolicyFile
  | Item
  | IdentitySetting
  | TargetSetting
  | Credential
  | TlsOption
  | MaskingOption
  | AuditSetting
  | ApprovalsSetting
  | Rule
  | Approval
  | Condition
  | DaySpec
  | Strategy
  | Resource
  | Path
  | Ident
  | Star
  | StringLit
  | IntegerLit
  | DurationLit
  | SizeLit
  | TimeLit
  | SecretRef
  | Comment;
