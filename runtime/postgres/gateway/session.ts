// One agent session through the gateway, after authentication: every client message is read,
// every statement classified and decided before anything of it reaches the server, and every
// server message is matched to what the client asked (spec/gateway.md).
//
// Client → server: allowed messages are forwarded as they came (raw bytes). A denied message is
// replaced by a DO block that raises the policy's error on the server (denial.ts); in the
// extended protocol the messages after it are dropped until Sync, as the server itself would
// skip them after an error. Nothing is ever answered locally that the server should answer.
//
// Server → client: a queue of expectations, one per forwarded message, says what each reply
// belongs to. It confirms registry entries (ParseComplete, BindComplete, CommandComplete of
// PREPARE / DECLARE), drops the replies to the gateway's own injected messages, turns the
// injected denial's error into the policy's clean error, and attributes rows and timings.
// Every result message the client receives (RowDescription, DataRow, COPY OUT data) passes
// through one method, `relayResult`: the place where masking hooks in.
//
// Every event handler is guarded: whatever goes wrong while handling one session's bytes ends
// that session with a FATAL, never the gateway process.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KeyParam } from '../../sql/statement-key.ts';
import { decide, type Decision, type Relatives } from '../../policy/decide.ts';
import type { LoadedPolicy } from '../../policy/load.ts';
import { createPrincipal, type Identity, type Principal } from '../../policy/principal.ts';
import { classifyCached, withFacts } from '../../sql/classify.ts';
import type { ClassifiedStatement, Fact } from '../../sql/facts.ts';
import type { Logger } from '../../gateway/log.ts';
import type { GatewayMetrics } from '../../gateway/metrics.ts';
import {
  BackendMessageType as B,
  BackendReader,
  buildError,
  decodeBind,
  decodeFunctionCall,
  formatAt,
  type FormatCode,
  type Bind,
  decodeClose,
  decodeCommandComplete,
  decodeDescribe,
  decodeErrorResponse,
  decodeExecute,
  decodeParameterStatus,
  decodeParse,
  decodeQuery,
  decodeCopyOutResponse,
  decodeNoticeResponse,
  decodeReadyForQuery,
  decodeRowDescription,
  describeFields,
  encodeCommandComplete,
  encodeCopyData,
  encodeErrorResponse,
  encodeNoticeResponse,
  errorFields,
  buildNotice,
  parseCommandTag,
  writeDescribe,
  type FieldDescription,
  type NoticeFields,
  encodeTerminate,
  FrontendMessageType as F,
  FrontendReader,
  Writer,
  writeBind,
  writeClose,
  writeExecute,
  writeParse,
  writeQuery,
  type Frame,
  type ProtocolError,
  type TransactionStatus,
} from '../protocol/index.ts';
import { DENIAL_NAME, denialError, denialSql, isOurDenial, RESERVED_NAME_PREFIX, type DenialText } from './denial.ts';
import { describeDenial } from './denial-text.ts';
import { boundStatements, declaredTypes, lastBound, portalReads, entryCost, heldByAllSessions, NameRegistry, statementsOf, waysOf, type Entry, type Way } from './registry.ts';
import { Outgoing } from './outgoing.ts';
import { pinnedSettingBroken } from './startup-params.ts';
import type { CatalogSnapshot } from '../masking/catalog.ts';
import type { ColumnMask } from '../masking/plan.ts';
import { CopyMasker, RowArena, RowMasker } from '../masking/rows.ts';
import type { MaskContext } from '../masking/strategies.ts';
import { copyFormat, SessionMasking, type StatementMasks } from './result-masks.ts';
import type { Approvals } from '../../approvals/service.ts';
import type { ApprovalRequest } from '../../approvals/store.ts';
import type { Recorder } from '../../audit/recorder.ts';
import type { RunInput, StatementInput } from '../../audit/records.ts';
import { gate, requirementsSignature, settledDenial } from './approval-gate.ts';
import { Frame as FrameClass } from '../protocol/index.ts';

const NO_RELATIVES: readonly string[] = [];

/** The policy as the gateway holds it; replaced on reload. */
export interface PolicyView {
  loaded: LoadedPolicy;
  version: number;
}

export interface SessionOptions {
  id: string;
  targetName: string;
  identity: Identity;
  /** the policy now in force (read on every decision, so reloads apply to open sessions) */
  policy: () => PolicyView;
  log: Logger;
  metrics: GatewayMetrics;
  /** called once when the session has ended */
  onEnd: (session: PgSession) => void;
  /** sends a CancelRequest for the upstream's running query; settles once the server has it */
  cancelUpstream: () => Promise<void> | void;
  /** the target's catalog snapshot for masking (null until one is loaded) */
  catalog?: () => CatalogSnapshot | null;
  /** the latest catalog snapshot, even one DDL made stale (partitions and inheritance for decisions) */
  lastCatalog?: () => CatalogSnapshot | null;
  /** a statement with DDL completed: the catalog snapshot is out of date */
  invalidateCatalog?: () => void;
  /** the target's hash key for `hash` masks */
  maskContext?: () => MaskContext;
  /** approval requests (spec/approvals.md) */
  approvals?: Approvals;
  /** session records (spec/audit.md), and this session's id in them */
  recorder?: () => Recorder | null;
  auditId?: string | null;
  /** the upstream socket reads into slabs: told when nothing refers to what it read any more */
  upstreamReads?: { release(): void } | null;
}

/** What the session record of a statement needs, kept with its expectation until it completes. */
interface StatementAudit {
  /** the query's number in the session */
  query: number;
  text: string;
  statements: readonly ClassifiedStatement[];
  rules: readonly number[];
  decision: 'allow' | 'approve';
  approval: string | null;
  params: (string | Uint8Array | null)[] | null;
  /** the parameter types the Parse of an Execute's statement declared */
  paramTypes: readonly number[] | undefined;
  /** what each statement runs by name (null: none does) */
  runs: (RunInput[] | null)[] | null;
  /** epoch ms when it arrived, and its decision's cost */
  startedAt: number;
  decideUs: number;
  /** waiting for approval */
  waitMs: number;
}

/** A statement that did not run, as its record keeps it (refused, or its approval not given). */
interface Unrun {
  text: string;
  statements: readonly ClassifiedStatement[];
  protocol: 'simple' | 'extended';
  decision: 'allow' | 'deny' | 'approve';
  rules: readonly number[];
  approval: string | null;
  params?: (string | Uint8Array | null)[] | null;
  paramTypes?: readonly number[];
  /** what it runs by name, when taken before now (undefined: taken from the statements now) */
  runs?: RunInput[] | null;
}

/** What the gateway does to the rows of one result set: masks, row limit, COPY rewriting. */
interface ResultState {
  /** the column masks, once the result's shape is known (null: not yet known) */
  masks: ColumnMask[] | null;
  /** the result's fields when known (names of masked columns for the session record) */
  fields: readonly FieldDescription[] | null;
  /** the masks compiled for its rows (made at the first row) */
  masker: RowMasker | null;
  /** rows forwarded in this result set */
  rows: number;
  /** rows were dropped past the row limit */
  truncated: boolean;
  /** the row limit of a simple query's result (undefined: not looked up yet) */
  limit: number | null | undefined;
  /** the portal a simple query's FETCH reads, whose rows count together (looked up with `limit`) */
  cursor: Entry | null;
  copy: CopyMasker | null;
  /** the result is a COPY TO stream (its command tag counts rows sent, not written) */
  copyOut: boolean;
}

/** relayRow's answer for a row it wrote into the session's row arena (sent with what follows). */
const APPENDED = Buffer.alloc(0);

/** command tags of statements whose rows count as returned (the others' as affected) */
const RETURNS_ROWS = /^(SELECT|FETCH|SHOW|EXPLAIN)/;

/** client bytes buffered behind a held statement before its socket is paused */
const HELD_BUFFER_BYTES = 1 << 20;

/**
 * What prepared statements and portals (their texts, bind parameters and classifications) one
 * session, and all of them together, may make the gateway hold: a client that prepares without
 * end would otherwise exhaust the memory every session shares (spec/gateway.md §5).
 */
export const MAX_HELD_PER_SESSION = 32 * 1024 * 1024;
export const MAX_HELD_BY_ALL = 1024 * 1024 * 1024;

/** The text of an error or notice that could quote masked values (spec/masking.md §6). */
const WITHHELD_TEXT = 'pamc: the error text is withheld because it could quote masked values';

const newResult = (): ResultState => ({ masks: null, fields: null, masker: null, rows: 0, truncated: false, limit: undefined, cursor: null, copy: null, copyOut: false });

/**
 * What the server will answer to one forwarded message. `copyEnds` (on the messages that can
 * start a COPY, and on Sync) counts the CopyDone/CopyFail messages forwarded before it: the
 * server swallows a Sync it reads while in COPY IN (see dropSyncsSwallowedByCopy).
 */
type Expect =
  | { k: 'parse'; name: string; entry: Entry }
  | { k: 'bind'; name: string; statement: string; entry: Entry }
  | {
      k: 'describe';
      /** the statement or portal entries the description may be for (what the name may hold when it is sent) */
      entries: readonly Entry[];
      portal: boolean;
      /** the name described (null: the gateway's own Describe of `entries[0]`) */
      name: string | null;
      /** sent by the gateway itself (to learn a portal's shape before masking it): not relayed */
      internal: boolean;
    }
  | {
      k: 'execute';
      entry: Entry | null;
      /** what it runs: the statements of every way it may run until the server's replies tell which (resolveRun) */
      statements: readonly ClassifiedStatement[];
      /** the ways it may run when its portal or statement name held several things when it was sent; null once one */
      ways: Way[] | null;
      /** the way it ran, once resolved (resolveRun) */
      ran: Way | null;
      /** names its statements create, pending until it completes */
      creates: Creation[] | null;
      started: number;
      rows: number;
      copyEnds: number;
      copyIn: boolean;
      masks: StatementMasks[] | null;
      result: ResultState;
      /** rows the row limit still allows from this portal (null: no limit) */
      remaining: number | null;
      /** rows this Execute asked the server for, counted against the limit until it completes */
      reserved: number;
      /** what its rows count against (null: no limit) */
      limitKey: Entry | null;
      portal: string;
      audit: StatementAudit | null;
    }
  | { k: 'close'; which: 'S' | 'P'; name: string }
  | { k: 'sync'; copyEnds: number }
  | {
      k: 'query';
      statements: readonly ClassifiedStatement[];
      index: number;
      started: number;
      rows: number;
      failed: boolean;
      /** set when this Query is the gateway's DO block standing in for a denied message */
      denial: DenialText | null;
      copyEnds: number;
      copyIn: boolean;
      masks: StatementMasks[] | null;
      result: ResultState;
      /** the gateway cancelled the server's query at the row limit; its 57014 is replaced */
      cancelledForLimit: boolean;
      audit: StatementAudit | null;
      failedRecorded?: boolean;
      /** names its statements create, pending until each completes */
      creates: Creation[] | null;
    }
  | { k: 'suppress'; type: number }
  | { k: 'denied'; denial: DenialText };

/** Actions whose statements may change session settings on the server out of the gateway's sight. */
const OPAQUE_ACTIONS = new Set(['call', 'do', 'set']);

/** Text that every ASCII-compatible encoding and either string-literal mode read the same way. */
const PLAIN_TEXT = /^[\x00-\x5b\x5d-\x7f]*$/;

const FORBIDDEN_UNKNOWN = (detail: string): Fact => ({ action: 'forbidden', resource: '', detail });

/** Statements with only these facts read: cancelling them at the row limit loses nothing. */
const READ_ONLY_ACTIONS = new Set(['select', 'compute', 'cursor', 'show']);

/** The cursor a lone FETCH reads (its rows count against the row limit together), or null. */
function fetchCursor(statements: readonly ClassifiedStatement[]): string | null {
  if (statements.length !== 1) return null;
  for (const e of statements[0].effects) if (e.kind === 'fetch' && statements[0].nodeType === 'FetchStmt') return e.name;
  return null;
}

export class PgSession {
  private readonly fr: FrontendReader;
  private readonly br = new BackendReader();
  private readonly statements = new NameRegistry();
  private readonly portals = new NameRegistry();
  /** every schema an unqualified name may resolve in: the pinned path, plus any SET search_path seen */
  private searchPath: string[];
  private readonly expect: Expect[] = [];
  private head = 0;
  /** dropping client messages until Sync, after a denial in the extended protocol */
  private skipping = false;
  private principalCache: { version: number; principal: Principal | null } = { version: -1, principal: null };
  private ended = false;
  /** the gateway is shutting down: end the session at the next idle ReadyForQuery */
  private draining = false;
  /** the client sent Terminate: its earlier messages are still answered, nothing after it is read */
  private terminating = false;
  /** the server sent a FATAL error: its closing the connection is no surprise to the client */
  private upstreamFatal = false;
  /** CopyDone and CopyFail messages forwarded so far */
  private copyEnds = 0;
  /** counts the widenings of the session's search path (prepared statements note the one they were classified under) */
  private pathVersion = 0;
  /** the client sent CopyData and has not ended that COPY yet (CopyDone, CopyFail) */
  private copyDataOpen = false;
  /**
   * ReadyForQuery messages expected (Query and Sync forwarded) and received so far, and the one
   * after which a statement that may change settings out of sight (a function call, a DO
   * block) has been reported on: until then the server may read text differently.
   */
  private rfqPushed = 0;
  private rfqSeen = 0;
  private settledAt = 0;
  /** masks of the principal, lineage of statements */
  private readonly masking: SessionMasking;
  /** masked rows waiting to be sent, in order with the messages around them */
  private readonly rowArena = new RowArena();
  /**
   * Rows forwarded, and rows asked for by Executes still in flight, per portal: the entry of a
   * Bind or a DECLARE (each makes a new one), however it is read — Executes, FETCHes — and for
   * as long as it lives: the row limit counts a result fetched in pieces, pipelined or not,
   * together. Weak: a portal the registries forget takes its counts with it.
   */
  private readonly limitUsed = new WeakMap<Entry, number>();
  private readonly limitPending = new WeakMap<Entry, number>();
  /** how many schemas the pinned search path has (more: the session set another) */
  private readonly pinnedPathLength: number;
  /** a statement held for approval: nothing after it is read until its request settles */
  private held: { request: ApprovalRequest; frame: Frame; since: number; record: Unrun } | null = null;
  /** re-handling a held statement whose request was approved */
  private resumed: { request: string; waitMs: number; requirements: string } | null = null;
  /** the last decision, for the record of the statement it decided */
  private lastDecision: { decision: Decision | null; us: number } = { decision: null, us: 0 };
  /** the last RowDescription a Describe got (a copy) and its fields: the same statement described again reuses them */
  private lastDescribed: { body: Buffer; fields: readonly FieldDescription[] } | null = null;
  private readonly labels: { target: string };
  /** row-limit cancel requests not yet delivered to the server (the client's messages wait) */
  private limitCancels = 0;
  private readonly decisionLabels: Record<Decision['effect'], { target: string; decision: string }>;
  /** the replies built from the server chunk being handled, not yet written (onServerData) */
  private serverOut: Outgoing | null = null;
  /** records of statements completed in the server data being handled (flushRecords) */
  private readonly pendingRecords: StatementInput[] = [];
  /** A relation's partitions and inheritance relatives, from the target's catalog (null: none loaded yet). */
  private readonly relatives: Relatives | undefined;
  transactionStatus: TransactionStatus = 'I';
  readonly startedAt = Date.now();
  statementsDecided = 0;
  statementsDenied = 0;

  constructor(
    readonly client: Socket | TLSSocket,
    readonly upstream: Socket,
    private readonly opts: SessionOptions,
    clientReader: FrontendReader,
    pinnedSearchPath: readonly string[],
  ) {
    this.fr = clientReader;
    this.labels = { target: opts.targetName };
    // one label object per decision: the metrics key a label set they have seen without rebuilding it
    this.decisionLabels = {
      allow: { target: opts.targetName, decision: 'allow' },
      deny: { target: opts.targetName, decision: 'deny' },
      approve: { target: opts.targetName, decision: 'approve' },
    };
    const lastCatalog = opts.lastCatalog;
    if (lastCatalog) {
      this.relatives = (relation) => {
        const snapshot = lastCatalog();
        return snapshot === null ? null : (snapshot.byKey.get(relation)?.related ?? NO_RELATIVES);
      };
    }
    this.searchPath = [...pinnedSearchPath];
    this.pinnedPathLength = pinnedSearchPath.length;
    this.masking = new SessionMasking({
      principal: () => this.principal(),
      snapshot: () => this.opts.catalog?.() ?? null,
      searchPath: () => this.searchPath,
      exactPath: () => this.searchPath.length === this.pinnedPathLength,
      options: () => this.principal()?.target.compiled.masking ?? null,
      related: (st) => this.relatedStatements(st),
    });
  }

  start(): void {
    this.client.on('data', (chunk: Buffer) => this.guard(() => this.onClientData(chunk)));
    this.upstream.on('data', (chunk: Buffer) => this.guard(() => this.onServerData(chunk)));
    this.client.on('drain', () => this.upstream.resume());
    this.upstream.on('drain', () => this.client.resume());
    this.client.on('error', (e) => this.end('client-error', e.message));
    this.upstream.on('error', (e) => this.end('upstream-error', e.message));
    this.client.on('close', () => this.end('client-closed'));
    this.upstream.on('close', () => this.upstreamClosed());
    // A client that left while the gateway logged in upstream closed before these listeners:
    // its session ends now, and the upstream session with it (else it would stay open for good).
    if (this.client.destroyed) {
      this.end('client-closed');
      return;
    }
    if (this.upstream.destroyed) {
      this.upstreamClosed();
      return;
    }
    this.upstream.resume();
    this.client.resume();
    // Messages the client sent right after its password are already in the reader.
    this.guard(() => this.drainClient());
  }

  /** Runs a handler; anything it throws ends this session (with a generic FATAL), never the process. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.opts.log.error('session-internal-error', { session: this.opts.id, error: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack?.split('\n').slice(0, 6).join(' | ') });
      this.fatalToClient('XX000', 'pamc: internal error in the gateway; the session is closed');
    }
  }

  // ------------------------------------------------------------------------------------------
  // Policy

  private principal(): Principal | null {
    const view = this.opts.policy();
    if (this.principalCache.version !== view.version) {
      const target = view.loaded.targets.get(this.opts.targetName);
      this.principalCache = {
        version: view.version,
        principal: target && target.kind === 'postgres' ? createPrincipal(view.loaded, target, this.opts.identity) : null,
      };
    }
    return this.principalCache.principal;
  }

  /**
   * Decides statements with the policy in force now. `counted`: this is the decision that
   * runs them (Query, Execute), not a check at Parse or Bind, so it goes into the metrics.
   */
  private decideStatements(statements: readonly ClassifiedStatement[], counted: boolean): { decision: Decision | null; denial: DenialText | null } {
    // timed only where it is recorded and counted: the checks at Parse and Bind run on every
    // extended-protocol statement
    const started = counted ? performance.now() : 0;
    const p = this.principal();
    if (p === null) {
      return { decision: null, denial: { message: `pamc: target "${this.opts.targetName}" is no longer in the policy`, hint: 'reconnect after the policy is fixed' } };
    }
    const d = decide(p, statements, Date.now(), this.relatives);
    const seconds = counted ? (performance.now() - started) / 1000 : 0;
    this.lastDecision = { decision: d, us: Math.round(seconds * 1e6) };
    if (counted) {
      this.opts.metrics.decisionSeconds.observe(this.labels, seconds);
      this.opts.metrics.statements.inc(this.decisionLabels[d.effect]);
      this.statementsDecided++;
    }
    // `approve` is no denial: Parse and Bind run nothing, Query and Execute go through the gate.
    if (d.effect !== 'deny') return { decision: d, denial: null };
    return { decision: d, denial: describeDenial(p.policy, d, statements) };
  }

  private classify(sql: string): readonly ClassifiedStatement[] {
    const c = classifyCached(sql, {
      searchPath: this.searchPath,
      prepared: (name) => this.preparedLookup(name),
    });
    return this.withRegistryFacts(c.statements);
  }

  /**
   * Prepared statements classified under an earlier search path are classified again under the
   * current one: PostgreSQL re-resolves a prepared statement's names when search_path changed
   * (`PREPARE p AS SELECT … FROM a`, then `SET search_path = evil`: EXECUTE p reads evil.a).
   */
  private freshen(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.pathVersion === undefined || e.pathVersion === this.pathVersion) continue;
      e.statements = this.classify(e.text);
      e.pathVersion = this.pathVersion;
    }
  }

  /** A SQL-level EXECUTE of a name: every statement the server may hold under it, as one. */
  private preparedLookup(name: string): ClassifiedStatement | undefined {
    const entries = this.statements.possible(name);
    this.freshen(entries);
    if (entries.length === 0) return undefined;
    const facts: Fact[] = [];
    let limited = true;
    for (const e of entries) {
      for (const s of e.statements) {
        facts.push(...s.facts);
        limited &&= s.limited;
      }
    }
    const first = entries[0].statements[0];
    return first ? withFacts(first, facts, limited) : undefined;
  }

  /**
   * Facts the session adds to what the classifier read: FETCH and MOVE carry the facts of the
   * cursor they read (an unknown cursor is refused), and SQL-level names in the gateway's
   * reserved namespace, and a PREPARE or DECLARE past the bounds of what sessions hold, are refused.
   */
  private withRegistryFacts(statements: readonly ClassifiedStatement[]): readonly ClassifiedStatement[] {
    let out: ClassifiedStatement[] | null = null;
    statements.forEach((s, i) => {
      for (const e of s.effects) {
        const extra: Fact[] = [];
        if ('name' in e && typeof e.name === 'string' && e.name.startsWith(RESERVED_NAME_PREFIX)) {
          extra.push(FORBIDDEN_UNKNOWN(`names starting with "${RESERVED_NAME_PREFIX}" are reserved by the gateway`));
        }
        if (e.kind === 'prepare' || e.kind === 'declare') {
          const tooMuch = this.holdsTooMuch(entryCost(s));
          if (tooMuch) extra.push(FORBIDDEN_UNKNOWN(tooMuch.message.replace(/^pamc: /, '')));
        }
        if (e.kind === 'fetch') {
          const cursors = e.name === null ? [] : this.portals.possible(e.name);
          if (cursors.length === 0) extra.push(FORBIDDEN_UNKNOWN(`cursor ${e.name === null ? '(unnamed)' : `"${e.name}"`} is not one the gateway saw declared`));
          else extra.push(...cursors.flatMap((c) => c.statements.flatMap((cs) => cs.facts)));
        }
        if (extra.length === 0) continue;
        out ??= [...statements];
        out[i] = withFacts(out[i], [...out[i].facts, ...extra]);
      }
    });
    return out ?? statements;
  }

  /** Whether running these may change a setting on the server that the gateway cannot see coming. */
  private static opaque(statements: readonly ClassifiedStatement[]): boolean {
    for (const s of statements) for (const f of s.facts) if (OPAQUE_ACTIONS.has(f.action)) return true;
    return false;
  }

  /** Refuses a new prepared statement or portal that would hold more than the bounds allow. */
  private holdsTooMuch(cost: number): DenialText | null {
    const mine = this.statements.held + this.portals.held + cost;
    if (mine <= MAX_HELD_PER_SESSION && heldByAllSessions() + cost <= MAX_HELD_BY_ALL) return null;
    const all = mine > MAX_HELD_PER_SESSION ? 'this session' : 'the sessions of this gateway';
    return {
      sqlstate: '54000',
      message: `pamc: ${all} would hold more prepared statements and portals than the gateway allows (${mine > MAX_HELD_PER_SESSION ? MAX_HELD_PER_SESSION >> 20 : MAX_HELD_BY_ALL >> 20} MiB of text and parameters)`,
      hint: 'deallocate prepared statements and close portals the session no longer needs',
    };
  }

  /**
   * While a function call or DO block runs, it may have changed how the server reads text
   * (set_config of client_encoding or standard_conforming_strings) before its ParameterStatus
   * can tell: text sent in the same pipeline is only let through if it reads the same either way.
   */
  private unsettledText(sql: string): DenialText | null {
    if (this.rfqSeen >= this.settledAt || PLAIN_TEXT.test(sql)) return null;
    return {
      message: 'pamc: refused: statement text with backslashes or non-ASCII characters cannot be pipelined behind a function call or DO block',
      hint: 'wait for the earlier statement to finish, or pass the value as a parameter',
    };
  }

  /** A statement that may change settings out of sight was forwarded: unsettled until the next ReadyForQuery. */
  private markOpaque(mode: 'query' | 'extended'): void {
    this.settledAt = Math.max(this.settledAt, mode === 'query' ? this.rfqPushed : this.rfqPushed + 1);
  }

  // ------------------------------------------------------------------------------------------
  // Masks and row limits (spec/masking.md)

  /**
   * How what the statements run was bound, beside their text (an approval shows it and its key
   * covers it): the bind parameters of the protocol portals they FETCH from, and the parameter
   * types declared at Parse, one line each — the statement's own (`own`, an Execute's), a
   * protocol-prepared statement an EXECUTE runs, the statement a FETCHed portal was bound to.
   * `unkept`: a portal read was bound with parameters not kept (bound under an earlier policy).
   */
  private bindings(statements: readonly ClassifiedStatement[], own: readonly number[] | undefined): { bound: KeyParam[][]; declared: string[]; unkept: boolean } {
    const bound: KeyParam[][] = [];
    const declared: string[] = [];
    let unkept = false;
    const typed = (what: string, types: readonly number[] | undefined) => {
      if (types) declared.push(`${what}: ${types.join(', ')}`);
    };
    typed('the statement', own);
    for (const st of statements) {
      for (const e of st.effects) {
        if (e.kind === 'execute') for (const x of this.statements.possible(e.name)) typed(`prepared statement "${e.name}"`, x.paramTypes);
        if (e.kind !== 'fetch' || e.name === null) continue;
        for (const x of this.portals.possible(e.name)) {
          const reads = portalReads(x);
          if (!reads.bound) continue;
          if (x.params) bound.push(keyParams(x.params));
          else unkept = true;
          const what = x.cursor ? `the DECLARE of cursor "${e.name}"` : `the statement of portal "${e.name}"`;
          for (const s of reads.runs) typed(what, s.paramTypes);
        }
      }
    }
    return { bound, declared, unkept };
  }

  /**
   * What each statement runs by name, as its record keeps it: the prepared statement an EXECUTE
   * runs, the cursor or protocol portal a FETCH or MOVE reads (its bind parameters, and the types
   * its statement's Parse declared). A name prepared or declared earlier in the same query is
   * what that statement made; any other is every entry the server may hold under it (null: no
   * statement runs anything by name).
   */
  private runsOf(statements: readonly ClassifiedStatement[]): (RunInput[] | null)[] | null {
    let out: (RunInput[] | null)[] | null = null;
    let made: Map<string, RunInput[]> | null = null;
    for (let i = 0; i < statements.length; i++) {
      const st = statements[i];
      let runs: RunInput[] | null = null;
      for (const e of st.effects) {
        let found: RunInput[] | undefined;
        if (e.kind === 'execute') found = made?.get(`S${e.name}`) ?? this.statements.possible(e.name).map((x) => ({ text: x.text, paramTypes: x.paramTypes }));
        else if (e.kind === 'fetch' && e.name !== null) found = made?.get(`P${e.name}`) ?? this.portals.possible(e.name).flatMap((x) => portalRuns(x));
        else if (e.kind === 'prepare') (made ??= new Map()).set(`S${e.name}`, [{ text: e.statement.text }]);
        else if (e.kind === 'declare') (made ??= new Map()).set(`P${e.name}`, [{ text: st.text }]);
        if (found !== undefined) (runs ??= []).push(...found);
      }
      if (runs !== null) (out ??= new Array<RunInput[] | null>(statements.length).fill(null))[i] = runs;
    }
    return out;
  }

  /** What a FETCH (its cursor) or an EXECUTE (its prepared statement) reads. */
  private relatedStatements(st: ClassifiedStatement): readonly ClassifiedStatement[] | null {
    for (const e of st.effects) {
      if (e.kind === 'fetch' && e.name !== null) return this.portals.possible(e.name).flatMap((x) => x.statements);
      // a registry entry holds the prepared statement itself, or a PREPARE carrying it
      if (e.kind === 'execute') {
        const entries = this.statements.possible(e.name);
        this.freshen(entries);
        return entries.flatMap((x) => x.statements.map((p) => preparedBody(p)));
      }
    }
    return null;
  }

  /**
   * Refusals that come from masks and row limits, before anything runs; and what masking will
   * need per statement (null when the identity has no masks).
   */
  private maskCheck(statements: readonly ClassifiedStatement[]): { denial: DenialText | null; masks: StatementMasks[] | null } {
    const p = this.principal();
    if (p?.limit) {
      // the limit cuts results: a COPY stream and a DO block's notices are not results
      if (statements.some((st) => st.facts.some((f) => f.action === 'copy_out'))) {
        return {
          denial: { message: `pamc: permission denied: COPY … TO STDOUT is refused for an identity with a row limit (${p.limit.rows} rows)`, hint: 'read with SELECT' },
          masks: null,
        };
      }
      if (statements.some((st) => st.nodeType === 'DoStmt')) {
        return {
          denial: { message: `pamc: permission denied: DO blocks are refused for an identity with a row limit (${p.limit.rows} rows): a block can send rows as notices`, hint: 'read with SELECT' },
          masks: null,
        };
      }
    }
    // Their transaction ends at the next ReadyForQuery at the earliest.
    const c = this.masking.check(statements, this.rfqPushed + 1);
    if (!c) return { denial: null, masks: null };
    if (c.deny) return { denial: { message: `pamc: permission denied: ${c.deny}`, hint: 'this identity has masked columns on the target (spec/masking.md)' }, masks: null };
    return { denial: null, masks: c.masks };
  }

  private limitRule(): string {
    const p = this.principal();
    const l = p?.limit;
    if (!p || !l) return '';
    const r = p.policy.rules[l.rule];
    return r.source ? ` (rule ${p.policy.compiled.sources[r.source.file].path}:${r.source.line}:${r.source.column})` : '';
  }

  /** The notice and completion the client gets for a result cut at the row limit. */
  private truncatedCompletion(command: string, rows: number): Buffer {
    const limit = this.principal()?.limit?.rows ?? rows;
    return Buffer.concat([
      buildNotice('01000', `pamc: result limited to ${limit} rows by policy${this.limitRule()}`),
      encodeCommandComplete(command === 'INSERT' ? `INSERT 0 ${rows}` : `${command} ${rows}`),
    ]);
  }

  /** Masks a DataRow and applies the row limit; null drops the row. */
  private relayRow(m: Frame, e: Extract<Expect, { k: 'execute' | 'query' }>): Buffer | null {
    const r = e.result;
    let limit: number | null;
    let cursor: Entry | null = null;
    if (e.k === 'execute') limit = e.remaining;
    else {
      if (r.limit === undefined) {
        r.limit = this.principal()?.limit?.rows ?? null;
        // A portal is one result fetched in pieces: FETCHes count with its Executes.
        const st = r.limit !== null ? e.statements[e.index] : undefined;
        const name = st ? fetchCursor([st]) : null;
        r.cursor = name !== null ? this.portals.current(name) : null;
      }
      limit = r.limit;
      cursor = r.cursor;
    }
    const used = cursor !== null ? (this.limitUsed.get(cursor) ?? 0) : r.rows;
    if (limit !== null && used >= limit) {
      if (!r.truncated) {
        r.truncated = true;
        // Outside a transaction block, with nothing else in flight, stop the server's work —
        // for a statement that only reads (cancelling a write would roll it back); otherwise
        // the rest is read and dropped, so the transaction stays as the server has it.
        if (
          e.k === 'query' &&
          e.statements.length === 1 &&
          this.transactionStatus === 'I' &&
          this.expect.length - this.head === 1 &&
          e.statements[0].facts.every((f) => READ_ONLY_ACTIONS.has(f.action))
        ) {
          e.cancelledForLimit = true;
          this.cancelForLimit();
        }
      }
      return null;
    }
    r.rows++;
    e.rows++;
    if (cursor !== null) this.limitUsed.set(cursor, used + 1);
    if (r.masks === null) r.masks = this.lateMasks(e, m);
    // Masks are planned for a shape: a row of another shape means the gateway paired the reply
    // with the wrong statement, and nothing of it may go out (fail closed).
    if (e.masks && r.fields !== null && m.raw.length >= 7 && ((m.raw[5] << 8) | m.raw[6]) !== r.fields.length) {
      throw new Error(`a DataRow of ${(m.raw[5] << 8) | m.raw[6]} columns in a result described with ${r.fields.length}`);
    }
    if (r.masks.length === 0) return m.raw;
    r.masker ??= new RowMasker(r.masks, this.opts.maskContext?.() ?? { hashKey: null });
    if (!r.masker.maskInto(m.raw, this.rowArena)) throw new Error('a DataRow from the server could not be read for masking');
    return APPENDED;
  }

  /**
   * Cancels the server's query at the row limit. Until the server has the cancel request, the
   * client's next messages wait: forwarded earlier, the next statement could be running when
   * the cancel lands and be cancelled in its place. Once the request is delivered, a query that
   * already ended leaves the server waiting for a command, and it ignores a cancel then.
   */
  private cancelForLimit(): void {
    this.limitCancels++;
    const settled = () => {
      this.limitCancels--;
      if (this.limitCancels > 0 || this.ended) return;
      if (this.client.isPaused() && !this.upstream.writableNeedDrain) this.client.resume();
      this.guard(() => this.drainClient());
    };
    Promise.resolve(this.opts.cancelUpstream()).then(settled, settled);
  }

  /** The masks of an execution whose RowDescription came earlier (Describe) or never. */
  private lateMasks(e: Extract<Expect, { k: 'execute' | 'query' }>, row: Frame): ColumnMask[] {
    if (!e.masks) return [];
    if (e.k === 'query') return this.masking.plan(e.masks[e.index], this.unknownFields(row), null);
    const entry = e.entry;
    const fields = entry?.fields ?? entry?.statement?.fields ?? this.unknownFields(row);
    e.result.fields = fields;
    const formats = entry?.fieldsFromPortal ? null : (entry?.formats ?? []);
    return this.masking.plan(e.masks[0], fields, formats);
  }

  /**
   * The fields of a RowDescription, null when it cannot be read. Drivers run and describe the
   * same statements over and over (pgbench -M prepared describes before every execution): the
   * same bytes as last time reuse the fields decoded then.
   */
  private describedFields(body: Buffer): readonly FieldDescription[] | null {
    const last = this.lastDescribed;
    if (last !== null && last.body.equals(body)) return last.fields;
    const rd = decodeRowDescription(body);
    if (rd.kind === 'ProtocolError') return null;
    this.lastDescribed = { body: Buffer.from(body), fields: rd.fields };
    return rd.fields;
  }

  /** Fields of a result the gateway never saw described: their types are unknown (masked as NULL). */
  private unknownFields(row: Frame): FieldDescription[] {
    const n = row.body.length >= 2 ? row.body.readInt16BE(0) : 0;
    return Array.from({ length: Math.max(0, n) }, () => ({ name: '', tableOid: 0, columnNumber: 0, typeOid: 0, typeSize: -1, typeModifier: -1, format: 0 }));
  }

  /** Errors and notices that could quote masked values (spec/masking.md §6): withheld. */
  private redacted(m: Frame, e: Expect | undefined): Buffer {
    // Only what runs reads data: errors at Parse and Bind quote the client's own text and values.
    // A Sync commits an implicit transaction, checking deferred constraints on what it wrote.
    if (!e) return m.raw;
    if (e.k === 'query' || e.k === 'execute' ? !this.withholds(e) : e.k !== 'sync' || !this.masking.changingData()) return m.raw;
    const isError = m.type === B.ErrorResponse;
    const d = isError ? decodeErrorResponse(m.body) : decodeNoticeResponse(m.body);
    if (d.kind === 'ProtocolError') return m.raw;
    const f: NoticeFields = {
      severity: d.fields.severity,
      ...(d.fields.severityNonLocalized ? { severityNonLocalized: d.fields.severityNonLocalized } : {}),
      code: d.fields.code,
      message: WITHHELD_TEXT,
    };
    return isError ? encodeErrorResponse(f) : encodeNoticeResponse(f);
  }

  // ------------------------------------------------------------------------------------------
  // Approvals (spec/approvals.md) and session records (spec/audit.md)

  private recorder(): Recorder | null {
    return this.opts.recorder?.() ?? null;
  }

  /** The session's id in records and approval requests. */
  private get auditSession(): string {
    return this.opts.auditId ?? this.opts.id;
  }

  /** When records cannot be written and the policy says refuse, statements are refused. */
  private recordsRefuse(): DenialText | null {
    const r = this.recorder();
    if (!r || r.admits()) return null;
    return { sqlstate: '58030', message: 'pamc: session records cannot be written; statements are refused until they can', hint: 'the gateway operator has been alerted' };
  }

  /**
   * A statement whose decision is `approve`: the approval it runs under (a resumed hold or a
   * retry grant), a denial (retry mode, or no approvals here), or 'hold' — the statement waits,
   * the client was told, and nothing after it is read until the request settles.
   */
  private approvalGate(
    m: Frame,
    statements: readonly ClassifiedStatement[],
    decision: Decision | null,
    sql: string,
    params: (string | Uint8Array | null)[] | null,
    ownTypes: readonly number[] | undefined = undefined,
  ): { denial: DenialText | null; approval: string | null } | 'hold' {
    if (!decision || decision.effect !== 'approve') return { denial: null, approval: null };
    if (this.resumed) {
      // decided again under the policy in force: the approval must still be what it asks for
      if (requirementsSignature(decision.approvals.map((a) => a.approval)) !== this.resumed.requirements) {
        return {
          denial: { message: `pamc: the policy changed while request ${this.resumed.request} waited: the statement now needs another approval`, hint: 'run it again to make a new request' },
          approval: this.resumed.request,
        };
      }
      return { denial: null, approval: this.resumed.request };
    }
    const p = this.principal();
    if (!p) return { denial: { message: 'pamc: approval required, but the target is no longer in the policy' }, approval: null };
    const { bound, declared, unkept } = this.bindings(statements, ownTypes);
    // an approver must see the values a portal read was bound with; one bound while no approval
    // and no record needed them did not keep them (bound under an earlier policy)
    if (unkept) {
      return {
        denial: {
          message: 'pamc: approval required, but a portal the statement reads was bound under an earlier policy, and its parameters were not kept',
          hint: 'bind the portal again, then run the statement',
        },
        approval: null,
      };
    }
    const g = gate({
      approvals: this.opts.approvals,
      policy: p.policy,
      session: this.auditSession,
      target: this.opts.targetName,
      identity: this.opts.identity,
      sql,
      params: keyParams(params ?? []),
      statements,
      related: statements.flatMap((st) => this.relatedStatements(st) ?? []),
      bound,
      declared,
      decision,
    });
    if (g.kind === 'proceed') return { denial: null, approval: g.request };
    if (g.kind === 'deny') return { denial: g.denial, approval: g.request };
    this.held = {
      request: g.request,
      frame: new FrameClass(m.type, Buffer.from(m.raw), 5),
      since: Date.now(),
      // the record of the statement should it not run: what it is, as decided now (what it runs
      // by name too: the session may end, and its names go, before the request settles)
      record: {
        text: sql,
        statements,
        protocol: m.type === F.Execute ? 'extended' : 'simple',
        decision: 'approve',
        rules: decision.rules,
        approval: g.request.id,
        params,
        paramTypes: ownTypes,
        runs: this.recorder() ? this.flatRuns(statements) : null,
      },
    };
    this.opts.log.info('statement-held', { session: this.opts.id, request: g.request.id, subject: this.opts.identity.subject });
    if (!this.client.destroyed) this.client.write(g.notice);
    void this.opts.approvals!.settled(g.request.id).then((r) => this.guard(() => this.onSettled(r)));
    return 'hold';
  }

  /** A held statement's request settled: it runs (approved) or fails; then reading goes on. */
  private onSettled(r: ApprovalRequest): void {
    const held = this.held;
    if (this.ended || !held || held.request.id !== r.id) return;
    this.held = null;
    const out = new Writer(256);
    const forward = new Outgoing();
    const waitMs = Date.now() - held.since;
    if (r.status === 'approved') {
      this.resumed = { request: r.id, waitMs, requirements: requirementsSignature(r.requirements) };
      let raw: ReturnType<PgSession['handleClientMessage']>;
      try {
        raw = this.handleClientMessage(held.frame, out);
      } finally {
        this.resumed = null;
      }
      if (raw === 'fatal' || raw === 'terminate') return;
      if (out.length > 0) forward.push(out.toBuffer());
      if (raw instanceof Buffer) forward.push(raw);
    } else {
      const denial = settledDenial(r);
      const outcome = r.status === 'rejected' ? 'rejected' : r.status === 'expired' ? 'expired' : 'cancelled';
      this.recordOutcome(held.record, outcome, { sqlstate: denial.sqlstate ?? '42501', message: denial.message }, waitMs);
      this.deny(out, denial, held.frame.type === F.Execute ? 'extended' : 'query');
      if (out.length > 0) forward.push(out.toBuffer());
    }
    this.writeUpstream(forward);
    this.client.resume();
    this.drainClient();
  }

  /** A held statement's request ends without a decision (the client cancelled, the session ends). */
  private withdrawHeld(why: string): void {
    if (this.held) this.opts.approvals?.store.withdraw(this.held.request.id, why);
  }

  /** What the record of an allowed statement needs, kept until it completes (null: no records). */
  private auditFor(
    text: string,
    statements: readonly ClassifiedStatement[],
    decision: Decision | null,
    approval: string | null,
    params: (string | Uint8Array | null)[] | null,
    decideUs: number,
    paramTypes?: readonly number[],
  ): StatementAudit | null {
    if (!this.recorder()) return null;
    return {
      query: this.statementsDecided,
      text,
      statements,
      rules: decision?.rules ?? [],
      decision: decision?.effect === 'approve' ? 'approve' : 'allow',
      approval,
      params,
      paramTypes,
      runs: this.runsOf(statements),
      startedAt: Date.now(),
      decideUs,
      waitMs: this.resumed?.waitMs ?? 0,
    };
  }

  private recordOutcome(o: Unrun, outcome: 'denied' | 'refused' | 'rejected' | 'expired' | 'cancelled', error: { sqlstate: string; message: string }, waitMs = 0): void {
    this.statementsDenied++;
    const rec = this.recorder();
    if (!rec) return;
    const { text, statements, approval } = o;
    rec.statement(this.auditSession, {
      query: this.statementsDecided,
      protocol: o.protocol,
      text,
      params: o.params,
      paramTypes: o.paramTypes,
      runs: o.runs !== undefined ? o.runs : this.flatRuns(statements),
      // libpg_query's fingerprint costs as much as the parse: recorded where it decided something
      // (an approval's grant); anywhere else it is derived from the text (pamc audit export)
      fingerprint: approval ? (statements[0]?.fingerprint ?? null) : null,
      facts: statements.flatMap((st) => st.facts),
      decision: o.decision,
      rules: o.rules,
      approval,
      outcome,
      error,
      timing: { decideUs: this.lastDecision.us, ...(waitMs ? { waitMs } : {}) },
    });
  }

  /** The record of a statement refused before it ran. */
  private recordRefused(
    text: string,
    statements: readonly ClassifiedStatement[],
    protocol: 'simple' | 'extended',
    decision: Decision | null,
    denial: DenialText,
    approval: string | null,
    params: (string | Uint8Array | null)[] | null = null,
    paramTypes?: readonly number[],
  ): void {
    const byPolicy = decision?.effect === 'deny';
    this.recordOutcome(
      { text, statements, protocol, decision: byPolicy ? 'deny' : (decision?.effect ?? 'deny'), rules: decision?.rules ?? [], approval, params, paramTypes },
      byPolicy ? 'denied' : 'refused',
      { sqlstate: denial.sqlstate ?? '42501', message: denial.message },
    );
  }

  /** What each statement runs by name, as one list (null: nothing). */
  private flatRuns(statements: readonly ClassifiedStatement[]): RunInput[] | null {
    return allRuns(this.runsOf(statements));
  }

  /** An error's message as the record keeps it: withheld like the client's when it may quote masked values. */
  private recordedError(f: NoticeFields, e: Extract<Expect, { k: 'execute' | 'query' }>): string {
    return this.withholds(e) ? WITHHELD_TEXT : f.message;
  }

  /**
   * Whether the statement running may quote masked values in errors and notices. An Execute not
   * known to have run one way (its Bind failed, say) may if any of its ways may.
   */
  private withholds(e: Extract<Expect, { k: 'execute' | 'query' }>): boolean {
    if (this.masking.changingData()) return true;
    const masks = e.masks;
    if (!masks || masks.length === 0) return false;
    if (e.k === 'execute' && !this.resolveRun(e)) return masks.some((x) => x.redact);
    return masks[Math.min(e.k === 'query' ? e.index : 0, masks.length - 1)].redact;
  }

  /**
   * The record of a statement that ran: its rows, masked columns, error, timings. Kept until the
   * server's reply is on its way to the client (flushRecords), so recording is not on its path.
   */
  private recordDone(e: Extract<Expect, { k: 'execute' | 'query' }>, index: number, tag: string | null, error: { sqlstate: string; message: string } | null, unanswered = false): void {
    const a = e.audit;
    if (!a || !this.recorder()) return;
    const st = e.k === 'query' ? a.statements[index] : undefined;
    // an Execute records what ran: the statement bound into the portal the server ran
    let text = a.text;
    let params = a.params;
    let paramTypes = a.paramTypes;
    if (e.k === 'execute' && this.resolveRun(e) && e.ran !== null) {
      text = e.ran.statement?.text ?? e.ran.portal.text;
      params = e.ran.portal.params ?? null;
      if (e.ran.statement) paramTypes = e.ran.statement.paramTypes;
    }
    const statements = e.k === 'execute' ? e.statements : a.statements;
    const parsed = tag ? parseCommandTag(tag) : null;
    const r = e.result;
    // COPY's tag counts the rows it sent (TO) or wrote (FROM)
    const copyOut = parsed !== null && parsed.command === 'COPY' && r.copyOut;
    const returning = parsed !== null && (copyOut || RETURNS_ROWS.test(parsed.command));
    const limit = this.principal()?.limit;
    let rows: StatementInput['rows'] = null;
    if (parsed !== null) {
      if (returning) rows = { command: parsed.command, returned: copyOut ? (parsed.rows ?? 0) : r.rows };
      else if (parsed.rows !== null) rows = { command: parsed.command, affected: parsed.rows };
      else rows = { command: parsed.command };
    }
    this.pendingRecords.push({
      query: a.query,
      protocol: e.k === 'query' ? 'simple' : 'extended',
      index: e.k === 'query' && a.statements.length > 1 ? index : undefined,
      text: st ? st.text : text,
      params,
      paramTypes,
      runs: e.k === 'query' ? (a.runs?.[index] ?? null) : allRuns(a.runs),
      fingerprint: a.approval ? ((st ?? statements[0])?.fingerprint ?? null) : null,
      facts: st ? st.facts : statements.length === 1 ? statements[0].facts : statements.flatMap((x) => x.facts),
      decision: a.decision,
      rules: a.rules,
      approval: a.approval,
      outcome: unanswered ? 'unknown' : error ? 'error' : 'ok',
      rows,
      masked: r.masks && r.masks.length > 0 ? r.masks.map((mk) => r.fields?.[mk.index]?.name ?? `column ${mk.index + 1}`) : null,
      limit: limit ? { rows: limit.rows, rule: limit.rule, reached: r.truncated } : null,
      error,
      timing: { startedAt: a.startedAt, decideUs: a.decideUs, waitMs: a.waitMs || undefined, executeMs: Math.round((performance.now() - e.started) * 1000) / 1000 },
    });
  }

  /**
   * The session ends: statements forwarded that the server has not answered yet may still run
   * (a statement queued behind a cancelled one does, before the server reads the Terminate).
   * Each gets its record, outcome `unknown`; what a failed query's later statements were
   * (skipped by the server) gets none, as when the server answers.
   */
  private recordUnanswered(): void {
    if (!this.recorder()) return;
    for (let i = this.head; i < this.expect.length; i++) {
      const x = this.expect[i];
      if (x.k === 'query' && x.audit && !x.failed) {
        for (let index = x.index; index < x.audit.statements.length; index++) this.recordDone(x, index, null, null, true);
      } else if (x.k === 'execute' && x.audit) this.recordDone(x, 0, null, null, true);
    }
  }

  /** Hands the records of completed statements to the recorder. */
  private flushRecords(): void {
    if (this.pendingRecords.length === 0) return;
    const rec = this.recorder();
    if (rec) for (const s of this.pendingRecords) rec.statement(this.auditSession, s);
    this.pendingRecords.length = 0;
  }

  // ------------------------------------------------------------------------------------------
  // Client → server

  private onClientData(chunk: Buffer): void {
    if (this.ended || this.terminating) return;
    this.fr.push(chunk);
    // Behind a held statement the client's messages wait; past a bound, so does its socket.
    if ((this.held || this.limitCancels > 0) && this.fr.bufferedBytes > HELD_BUFFER_BYTES) this.client.pause();
    this.drainClient();
  }

  private drainClient(): void {
    const out = new Writer(256);
    const forward = new Outgoing();
    const flush = () => {
      if (out.length > 0) {
        forward.push(out.toBuffer());
        out.reset();
      }
    };
    if (this.limitCancels > 0) return; // cancelForLimit drains when the server has the cancel
    for (let m = this.held ? null : this.fr.next(); m !== null; m = this.held ? null : this.fr.next()) {
      if (this.ended) return;
      if (m.kind === 'ProtocolError') {
        flush();
        this.writeUpstream(forward);
        this.protocolFailure(m);
        return;
      }
      const raw = this.handleClientMessage(m, out);
      if (raw === 'terminate') {
        // The server answers what came before Terminate, then closes: relay it all, then end.
        flush();
        forward.push(m.raw, m.chunk);
        this.writeUpstream(forward);
        this.terminating = true;
        if (this.idle) this.end('terminated');
        else setTimeout(() => this.end('terminated'), 30_000).unref();
        return;
      }
      if (raw === 'fatal') return;
      if (raw === 'hold') break; // what came before it goes now; what comes after waits
      if (raw !== null) {
        flush();
        forward.push(raw, raw === m.raw ? m.chunk : null);
      }
    }
    flush();
    this.writeUpstream(forward);
  }

  /**
   * Handles one client message: returns its raw bytes to forward, null when it was consumed
   * (dropped, or replaced by what it wrote into `out`), or an instruction.
   */
  private handleClientMessage(m: Frame, out: Writer): Buffer | null | 'terminate' | 'fatal' | 'hold' {
    const type = m.type;
    if (this.skipping && type !== F.Sync && type !== F.CopyData && type !== F.CopyDone && type !== F.CopyFail && type !== F.Terminate) {
      return null;
    }
    switch (type) {
      case F.Query:
        return this.onQuery(m, out);
      case F.Parse:
        return this.onParse(m, out);
      case F.Bind:
        return this.onBind(m, out);
      case F.Describe: {
        const d = decodeDescribe(m.body);
        if (d.kind === 'ProtocolError') {
          this.protocolFailure(d);
          return 'fatal';
        }
        this.push({ k: 'describe', entries: (d.target === 'S' ? this.statements : this.portals).possible(d.name), portal: d.target === 'P', name: d.name, internal: false });
        return m.raw;
      }
      case F.Execute:
        return this.onExecute(m, out);
      case F.Close:
        return this.onClose(m, out);
      case F.Sync:
        // Inside COPY data the server reads a Sync or not depending on whether the COPY failed
        // before it (it swallows it while copying, answers it after a failure): the gateway
        // cannot tell which, and must know every reply to come. No real client sends one there.
        if (this.copyDataOpen || this.copyQueryOutstanding()) {
          this.fatalToClient('08P01', 'pamc: a Sync inside COPY data is refused: end the COPY with CopyDone or CopyFail first', 'protocol-violation');
          return 'fatal';
        }
        this.skipping = false;
        this.push({ k: 'sync', copyEnds: this.copyEnds });
        this.rfqPushed++;
        return m.raw;
      case F.CopyDone:
      case F.CopyFail:
        this.copyEnds++;
        this.copyDataOpen = false;
        return m.raw;
      case F.CopyData:
        this.copyDataOpen = true;
        return m.raw;
      case F.Flush:
        return m.raw;
      case F.FunctionCall: {
        // The fast-path function call names a function by OID with no SQL to classify: refused;
        // the records say which function was asked for, with which arguments.
        const call = decodeFunctionCall(m.body);
        if (call.kind === 'ProtocolError') {
          this.protocolFailure(call);
          return 'fatal';
        }
        const what = `(FunctionCall message: function OID ${call.functionOid})`;
        this.opts.metrics.statements.inc(this.decisionLabels.deny);
        this.opts.log.info('statement', { session: this.opts.id, target: this.opts.targetName, subject: this.opts.identity.subject, decision: 'deny', sql: what });
        const args = this.recorder() ? paramValues(call.argFormats, call.args) : null;
        this.recordRefused(what, [], 'extended', null, { message: 'pamc: the FunctionCall protocol message is refused' }, null, args);
        this.deny(out, { message: 'pamc: the FunctionCall protocol message is refused', hint: 'call functions with SQL, e.g. SELECT f(...)' }, 'query');
        return null;
      }
      case F.Terminate:
        return 'terminate';
      default:
        this.protocolFailure({ kind: 'ProtocolError', code: 'unexpected-message', message: `unexpected message type 0x${type.toString(16)} from the client`, sqlstate: '08P01' } as ProtocolError);
        return 'fatal';
    }
  }

  private onQuery(m: Frame, out: Writer): Buffer | null | 'fatal' | 'hold' {
    const q = decodeQuery(m.body);
    if (q.kind === 'ProtocolError') {
      this.protocolFailure(q);
      return 'fatal';
    }
    const statements = this.classify(q.sql);
    const decided = this.decideStatements(statements, true);
    let denial = decided.denial;
    const decideUs = this.lastDecision.us;
    let approval: string | null = null;
    if (!denial) {
      const g = this.approvalGate(m, statements, decided.decision, q.sql, null);
      if (g === 'hold') return 'hold';
      ({ denial, approval } = g);
    }
    denial ??= this.unsettledText(q.sql);
    denial ??= this.recordsRefuse();
    let masks: StatementMasks[] | null = null;
    // a statement behind a SET search_path of the same text is traced with the widened path (a
    // refusal below leaves the path wider than the server's: more candidates, never fewer)
    if (!denial && statements.length > 1) this.widenSearchPath(statements);
    if (!denial) ({ denial, masks } = this.maskCheck(statements));
    this.logStatement(q.sql, denial);
    if (denial) {
      this.recordRefused(q.sql, statements, 'simple', decided.decision, denial, approval);
      this.deny(out, denial, 'query');
      return null;
    }
    const audit = this.auditFor(q.sql, statements, decided.decision, approval, null, decideUs);
    this.push({
      k: 'query',
      statements,
      index: 0,
      started: performance.now(),
      rows: 0,
      failed: false,
      denial: null,
      copyEnds: this.copyEnds,
      copyIn: false,
      masks,
      result: newResult(),
      cancelledForLimit: false,
      audit,
      creates: this.pendingCreations(statements),
    });
    this.rfqPushed++;
    this.widenSearchPath(statements);
    if (PgSession.opaque(statements)) this.markOpaque('query');
    return m.raw;
  }

  /**
   * The approval of an Execute. An approver must see exactly what will run: a Parse holds one
   * statement, so candidates with the same text and parameters (the unnamed statement parsed
   * again) are one statement; candidates that differ (a pending Parse or Bind the server may
   * refuse, the earlier one then running), or whose parameters are unknown (bound under an
   * earlier policy), cannot be approved until the server has settled them.
   */
  private executeApproval(
    m: Frame,
    possible: readonly Entry[],
    statements: readonly ClassifiedStatement[],
    decision: Decision,
    params: (string | Uint8Array | null)[] | null,
  ): ReturnType<PgSession['approvalGate']> {
    const one = distinctStatements(statements);
    // the parameter types the server resolves the text with: one list, whichever statement runs
    const ran = possible.flatMap((p) => boundStatements(p));
    const types = new Set(ran.map((s) => String(s.paramTypes ?? '')));
    if (one.length > 1 || types.size > 1 || !possible.every((p) => p.params !== undefined && sameParams(p.params, params))) {
      return {
        denial: {
          message: 'pamc: approval required, but the portal may run one of several statements or bindings (not yet confirmed by the server, or bound under an earlier policy)',
          hint: 'send Sync after Parse and Bind, before executing a statement that needs approval',
        },
        approval: null,
      };
    }
    return this.approvalGate(m, one, decision, one[0]?.text ?? possible[0].text, params, ran[0]?.paramTypes);
  }

  private onParse(m: Frame, out: Writer): Buffer | null | 'fatal' {
    const p = decodeParse(m.body);
    if (p.kind === 'ProtocolError') {
      this.protocolFailure(p);
      return 'fatal';
    }
    if (p.name.startsWith(RESERVED_NAME_PREFIX)) {
      const reserved = { message: `pamc: statement names starting with "${RESERVED_NAME_PREFIX}" are reserved by the gateway` };
      this.recordRefused(p.query, [], 'extended', null, reserved, null);
      this.deny(out, reserved, 'extended');
      return null;
    }
    const statements = this.classify(p.query);
    const decided = this.decideStatements(statements, false);
    let denial = decided.denial;
    denial ??= this.unsettledText(p.query);
    denial ??= this.maskCheck(statements).denial;
    const entry: Entry = { text: p.query, statements, pathVersion: this.pathVersion };
    const types = declaredTypes(p.paramTypes);
    if (types) entry.paramTypes = types;
    denial ??= this.holdsTooMuch(entryCost(entry));
    if (denial) {
      this.logStatement(p.query, denial);
      this.opts.metrics.statements.inc(this.decisionLabels.deny);
      // the statement is refused here, at its Parse: the Bind and Execute behind it are skipped
      this.recordRefused(p.query, statements, 'extended', decided.decision, denial, null, null, entry.paramTypes);
      this.deny(out, denial, 'extended');
      return null;
    }
    this.statements.addPending(p.name, entry);
    this.push({ k: 'parse', name: p.name, entry });
    return m.raw;
  }

  private onBind(m: Frame, out: Writer): Buffer | null | 'fatal' {
    const b = decodeBind(m.body);
    if (b.kind === 'ProtocolError') {
      this.protocolFailure(b);
      return 'fatal';
    }
    if (b.portal.startsWith(RESERVED_NAME_PREFIX) || b.statement.startsWith(RESERVED_NAME_PREFIX)) {
      const reserved = { message: `pamc: names starting with "${RESERVED_NAME_PREFIX}" are reserved by the gateway` };
      this.recordRefused(`(Bind of portal "${b.portal}" to statement "${b.statement}")`, [], 'extended', null, reserved, null);
      this.deny(out, reserved, 'extended');
      return null;
    }
    const possible = this.statements.possible(b.statement);
    this.freshen(possible);
    if (possible.length === 0) {
      const unknown = { message: `pamc: prepared statement "${b.statement}" is not one the gateway saw prepared` };
      this.recordRefused(`(Bind of portal "${b.portal}" to statement "${b.statement}")`, [], 'extended', null, unknown, null);
      this.deny(out, unknown, 'extended');
      return null;
    }
    const statements = statementsOf(possible);
    // what the Bind binds when the server has it: the last Parse of the name (its text names the statement)
    const last = possible[possible.length - 1];
    const { decision, denial } = this.decideStatements(statements, false);
    if (denial) {
      this.logStatement(last.text, denial);
      this.opts.metrics.statements.inc(this.decisionLabels.deny);
      this.recordRefused(last.text, statements, 'extended', decision, denial, null, this.recorder() ? bindParamValues(b) : null, last.paramTypes);
      this.deny(out, denial, 'extended');
      return null;
    }
    const entry: Entry = { text: last.text, statements, formats: b.resultFormats };
    if (possible.length === 1) {
      entry.statement = possible[0];
      if (possible[0].fields) entry.fields = possible[0].fields;
      if (possible[0].cursor) entry.cursor = true;
    } else entry.candidates = possible.slice();
    // the parameters go into the session record, and into an approval (shown to the approver,
    // part of the statement a retry grant covers); none is none whatever comes later
    if (this.recorder() || decision?.effect === 'approve' || b.params.length === 0) entry.params = bindParamValues(b);
    const tooMuch = this.holdsTooMuch(entryCost(entry));
    if (tooMuch) {
      this.recordRefused(last.text, statements, 'extended', null, tooMuch, null, entry.params ?? null, last.paramTypes);
      this.deny(out, tooMuch, 'extended');
      return null;
    }
    // A Bind pipelined behind a Parse of the same name binds the new statement if that Parse
    // succeeds, and what the name held before if it fails (42P05 for a name in use) or is skipped
    // after an error: the decision covers every candidate; the BindComplete tells which it was.
    this.portals.addPending(b.portal, entry);
    this.push({ k: 'bind', name: b.portal, statement: b.statement, entry });
    return m.raw;
  }

  private onExecute(m: Frame, out: Writer): Buffer | null | 'fatal' | 'hold' {
    const e = decodeExecute(m.body);
    if (e.kind === 'ProtocolError') {
      this.protocolFailure(e);
      return 'fatal';
    }
    const possible = this.portals.possible(e.portal);
    if (possible.length === 0) {
      const unknown = { message: `pamc: portal "${e.portal}" is not one the gateway saw bound` };
      this.recordRefused(`(Execute of portal "${e.portal}")`, [], 'extended', null, unknown, null);
      this.deny(out, unknown, 'extended');
      return null;
    }
    const statements = this.withRegistryFacts(statementsOf(possible));
    // The server runs the portal of the last Bind, bound to the statement of the last Parse (a
    // failed Parse or Bind skips this Execute): its text, parameters and masks are the record's.
    const last = possible[possible.length - 1];
    const decided = this.decideStatements(statements, true);
    let denial = decided.denial;
    const decideUs = this.lastDecision.us;
    let approval: string | null = null;
    const params = last.params ?? null;
    // the parameter types the server resolves the text with: those of the statement bound last
    const paramTypes = lastBound(last)?.paramTypes;
    if (!denial && decided.decision?.effect === 'approve') {
      const g = this.executeApproval(m, possible, statements, decided.decision, params);
      if (g === 'hold') return 'hold';
      ({ denial, approval } = g);
    }
    denial ??= this.recordsRefuse();
    let masks: StatementMasks[] | null = null;
    if (!denial) ({ denial, masks } = this.maskCheck(statements));
    this.logStatement(last.text, denial);
    if (denial) {
      this.recordRefused(last.text, statements, 'extended', decided.decision, denial, approval, params, paramTypes);
      this.deny(out, denial, 'extended');
      return null;
    }
    const entry: Entry = possible.length === 1 ? possible[0] : { text: last.text, statements };
    const audit = this.auditFor(last.text, statements, decided.decision, approval, params, decideUs, paramTypes);
    // Masking needs the result's shape: a portal never described is described by the gateway.
    if (masks && !entry.fields && !entry.statement?.fields) {
      writeDescribe(out, 'P', e.portal);
      this.push({ k: 'describe', entries: [entry], portal: true, name: null, internal: true });
    }
    // The row limit: fetch at most what is left (one more, to know the result was cut).
    const limit = this.principal()?.limit?.rows ?? null;
    let remaining: number | null = null;
    let reserved = 0;
    let key: Entry | null = null;
    let raw: Buffer | null = m.raw;
    if (limit !== null) {
      // the portal of the last Bind, if the name may hold several (resolveRun corrects it)
      key = this.limitKey(last, statements, false);
      remaining = Math.max(0, limit - (this.limitUsed.get(key) ?? 0) - (this.limitPending.get(key) ?? 0));
      reserved = e.maxRows;
      if (e.maxRows === 0 || e.maxRows > remaining) {
        writeExecute(out, e.portal, remaining + 1);
        reserved = remaining + 1;
        raw = null;
      }
      this.reserve(key, reserved);
    }
    this.push({
      k: 'execute',
      entry,
      statements,
      ways: possible.length > 1 || possible[0].candidates ? waysOf(possible) : null,
      ran: null,
      creates: this.pendingCreations(statements, last),
      started: performance.now(),
      rows: 0,
      copyEnds: this.copyEnds,
      copyIn: false,
      masks,
      result: newResult(),
      remaining,
      reserved,
      limitKey: key,
      portal: e.portal,
      audit,
    });
    this.widenSearchPath(statements);
    if (PgSession.opaque(statements)) this.markOpaque('extended');
    return raw;
  }

  private onClose(m: Frame, out: Writer): Buffer | null | 'fatal' {
    const c = decodeClose(m.body);
    if (c.kind === 'ProtocolError') {
      this.protocolFailure(c);
      return 'fatal';
    }
    if (c.name.startsWith(RESERVED_NAME_PREFIX)) {
      const reserved = { message: `pamc: names starting with "${RESERVED_NAME_PREFIX}" are reserved by the gateway` };
      this.recordRefused(`(Close of ${c.target === 'S' ? 'statement' : 'portal'} "${c.name}")`, [], 'extended', null, reserved, null);
      this.deny(out, reserved, 'extended');
      return null;
    }
    this.push({ k: 'close', which: c.target, name: c.name });
    return m.raw;
  }

  /**
   * Sends the server a DO block raising the denial in place of the denied message. In the
   * extended protocol: close-then-reuse a reserved statement and portal name, parse, bind and
   * execute it; the replies to the first four are dropped, the error is the client's.
   */
  private deny(out: Writer, denial: DenialText, mode: 'query' | 'extended'): void {
    const sql = denialSql(denial);
    if (mode === 'query') {
      writeQuery(out, sql);
      this.push({
        k: 'query',
        statements: [],
        index: 0,
        started: performance.now(),
        rows: 0,
        failed: false,
        denial,
        copyEnds: this.copyEnds,
        copyIn: false,
        masks: null,
        result: newResult(),
        cancelledForLimit: false,
        audit: null,
        creates: null,
      });
      this.rfqPushed++;
      return;
    }
    writeClose(out, 'S', DENIAL_NAME);
    writeClose(out, 'P', DENIAL_NAME);
    writeParse(out, DENIAL_NAME, sql);
    writeBind(out, { portal: DENIAL_NAME, statement: DENIAL_NAME });
    writeExecute(out, DENIAL_NAME, 0);
    this.push({ k: 'suppress', type: B.CloseComplete });
    this.push({ k: 'suppress', type: B.CloseComplete });
    this.push({ k: 'suppress', type: B.ParseComplete });
    this.push({ k: 'suppress', type: B.BindComplete });
    this.push({ k: 'denied', denial });
    this.skipping = true;
  }

  private writeUpstream(chunks: Outgoing): void {
    const data = chunks.take();
    if (data === null || this.ended) return;
    if (!this.upstream.write(data)) this.client.pause();
  }

  // ------------------------------------------------------------------------------------------
  // Server → client

  private push(e: Expect): void {
    if (this.head > 1024 && this.head * 2 > this.expect.length) {
      this.expect.splice(0, this.head);
      this.head = 0;
    }
    this.expect.push(e);
  }

  private current(): Expect | undefined {
    return this.expect[this.head];
  }

  private pop(): void {
    const e = this.expect[this.head];
    // what its statements would have created and did not is gone (a failure, a skip)
    if ((e.k === 'execute' || e.k === 'query') && e.creates !== null) for (const c of e.creates) c.names.fail(c.name, c.entry);
    this.head++;
    if (this.head === this.expect.length) {
      this.expect.length = 0;
      this.head = 0;
    }
  }

  /** Nothing forwarded is still waiting for its answer. */
  private get idle(): boolean {
    return this.head >= this.expect.length;
  }

  private onServerData(chunk: Buffer): void {
    if (this.ended) return;
    this.br.push(chunk);
    const out = new Outgoing();
    // what this chunk has produced so far goes out ahead of a fatal error found later in it
    this.serverOut = out;
    try {
      this.relayServerMessages(out);
    } finally {
      this.serverOut = null;
    }
  }

  private relayServerMessages(out: Outgoing): void {
    for (let m = this.br.next(); m !== null; m = this.br.next()) {
      // a fatal error: fatalToClient has written what `out` holds, then the error, and ended the session
      if (m.kind === 'ProtocolError') {
        this.opts.log.error('upstream-protocol-error', { session: this.opts.id, error: m.message });
        this.fatalToClient('08006', 'pamc: the target sent a malformed message');
        return;
      }
      const reply = this.handleServerMessage(m);
      if (reply === APPENDED) continue; // a masked row, already in the row arena
      if (reply === 'fatal') return;
      if (reply !== null) {
        if (this.rowArena.pending) this.rowArena.take(out);
        out.push(reply, reply === m.raw ? m.chunk : null);
      }
      if (this.draining && this.idle && this.transactionStatus === 'I') {
        this.fatalToClient('57P01', 'pamc: the gateway is shutting down', 'gateway-shutdown');
        return;
      }
    }
    this.sendClient(out);
    // Every message of the chunk is handled and the client's socket took every byte (nothing
    // queued; what the session keeps it copied): the masked-row arena and the upstream socket's
    // read slab can be written over again.
    if (this.client.writableLength === 0) {
      this.rowArena.recycle();
      this.opts.upstreamReads?.release();
    }
    this.flushRecords();
  }

  private sendClient(out: Outgoing): void {
    if (this.rowArena.pending) this.rowArena.take(out);
    // Bytes queued behind a slow client wait as a copy: a view of a read would keep its whole
    // slab of server replies alive (slab-reads.ts).
    const data = out.take(this.client.writableLength > 0);
    if (data === null || this.ended) return;
    if (!this.client.write(data)) this.upstream.pause();
  }

  /** Returns the bytes to send the client for one server message (often its raw bytes), or null. */
  private handleServerMessage(m: Frame): Buffer | null | 'fatal' {
    const type = m.type;
    // Asynchronous messages may arrive at any time.
    if (type === B.NotificationResponse) return m.raw;
    if (type === B.NoticeResponse) return this.redacted(m, this.current());
    if (type === B.ParameterStatus) {
      const ps = decodeParameterStatus(m.body);
      if (ps.kind !== 'ProtocolError' && pinnedSettingBroken(ps.name, ps.value)) {
        this.opts.log.error('pinned-setting-changed', { session: this.opts.id, setting: ps.name, value: ps.value });
        this.fatalToClient('42501', `pamc: the session changed ${ps.name}, which the gateway pins; the session is closed`);
        return 'fatal';
      }
      return m.raw;
    }
    const e = this.current();
    if (type === B.ErrorResponse) return this.onServerError(m, e);
    if (e === undefined) {
      this.opts.log.error('unexpected-server-message', { session: this.opts.id, type: String.fromCharCode(type) });
      this.fatalToClient('08P01', 'pamc: the target sent a message the gateway did not expect');
      return 'fatal';
    }
    switch (e.k) {
      case 'suppress':
        if (type === e.type) {
          this.pop();
          return null;
        }
        return this.unexpected(type, e.k);
      case 'parse':
        if (type === B.ParseComplete) {
          this.statements.confirm(e.name, e.entry);
          this.pop();
          return m.raw;
        }
        return this.unexpected(type, e.k);
      case 'bind':
        if (type === B.BindComplete) {
          // every reply before this one is in: the statement name holds what the Bind bound
          const bound = this.statements.current(e.statement);
          const cands = e.entry.candidates;
          if (cands) {
            if (!e.entry.statement && bound !== null && cands.includes(bound)) e.entry.statement = bound;
          } else if (e.entry.statement !== bound) {
            // not the statement its Bind was decided for: the results of its Executes end the session
            e.entry.candidates = e.entry.statement ? [e.entry.statement] : [];
            e.entry.statement = undefined;
          }
          this.portals.confirm(e.name, e.entry);
          this.pop();
          return m.raw;
        }
        return this.unexpected(type, e.k);
      case 'close':
        if (type === B.CloseComplete) {
          (e.which === 'S' ? this.statements : this.portals).remove(e.name);
          this.pop();
          return m.raw;
        }
        return this.unexpected(type, e.k);
      case 'describe':
        if (type === B.ParameterDescription) return e.internal ? null : m.raw;
        if (type === B.RowDescription || type === B.NoData) {
          // Kept for masking executions that come without a description (postgres.js, pgjdbc).
          let fields: readonly FieldDescription[] = [];
          if (type === B.RowDescription) {
            const described = this.describedFields(m.body);
            if (described === null) return this.unexpected(type, e.k);
            fields = described;
          }
          // The server answered, so every message before the Describe succeeded: it described what
          // the name holds now as far as the replies tell, not the other entries the name might
          // have held when it was sent (a statement closed and parsed again, whose old portal
          // lives on, must keep its own shape).
          const held = e.name === null ? null : (e.portal ? this.portals : this.statements).current(e.name);
          for (const entry of e.entries) {
            if (e.name !== null && entry !== held) continue;
            entry.fields = fields;
            entry.fieldsFromPortal = e.portal;
          }
          this.pop();
          return e.internal ? null : m.raw;
        }
        return this.unexpected(type, e.k);
      case 'execute':
        return this.onExecuteReply(m, e);
      case 'sync':
        if (type === B.ReadyForQuery) {
          this.readyForQuery(m);
          this.pop();
          return m.raw;
        }
        return this.unexpected(type, e.k);
      case 'query':
        return this.onQueryReply(m, e);
      case 'denied':
        return this.unexpected(type, e.k);
    }
  }

  /**
   * Every result the client receives passes here: a simple query's RowDescription, DataRow, and
   * COPY OUT's CopyOutResponse and CopyData. `source` is the expectation it answers (its
   * `entry` or `statements` say which statement produced it). Masks and row limits apply here;
   * null drops the message.
   */
  private relayResult(m: Frame, source: Extract<Expect, { k: 'execute' | 'query' }>): Buffer | null {
    switch (m.type) {
      case B.RowDescription: {
        source.result = newResult();
        if (!source.masks || source.k !== 'query') return m.raw;
        const fields = this.describedFields(m.body);
        if (fields === null) throw new Error('a RowDescription from the server could not be read');
        source.result.masks = this.masking.plan(source.masks[source.index], fields, null);
        source.result.fields = fields;
        return m.raw;
      }
      case B.DataRow:
        return this.relayRow(m, source);
      case B.CopyOutResponse: {
        source.result = newResult();
        source.result.copyOut = true;
        if (!source.masks) return m.raw;
        const cr = decodeCopyOutResponse(m.body);
        if (cr.kind === 'ProtocolError') throw new Error('a CopyOutResponse from the server could not be read');
        const index = source.k === 'query' ? source.index : 0;
        const st = source.statements[index];
        const masks = this.masking.planCopy(source.masks[index], cr.columnFormats.length, st);
        if (masks.length > 0) {
          const format = st ? copyFormat(st.text) : copyFormat('');
          source.result.copy = new CopyMasker(format, masks, this.opts.maskContext?.() ?? { hashKey: null });
        }
        return m.raw;
      }
      case B.CopyData: {
        const copy = source.result.copy;
        if (!copy) return m.raw;
        const out = copy.push(Buffer.from(m.body));
        return out.length > 0 ? encodeCopyData(out) : null;
      }
      default:
        return m.raw;
    }
  }

  /** CopyDone: what a COPY masker still holds goes out first. */
  private copyDone(m: Frame, r: ResultState): Buffer {
    if (!r.copy) return m.raw;
    const tail = r.copy.end();
    r.copy = null;
    return tail.length > 0 ? Buffer.concat([encodeCopyData(tail), m.raw]) : m.raw;
  }

  /**
   * Which way an Execute ran, once the server's replies before its result are in: the portal its
   * name holds, and the statement confirmed into that portal at its BindComplete. When its names
   * were ambiguous as it was sent, its masks, effects and record follow the way it ran. False
   * when the replies name none of the ways its decision covered.
   */
  private resolveRun(e: Extract<Expect, { k: 'execute' }>): boolean {
    if (e.ran !== null) return true;
    const portal = this.portals.current(e.portal);
    if (portal === null) return false;
    const unbound = portal.candidates !== undefined && portal.statement === undefined;
    const ways = e.ways;
    if (ways === null) {
      // one way when it was sent: that portal, bound as its Bind was decided
      if (portal !== e.entry || unbound) return false;
      e.ran = { portal, statement: portal.statement, from: 0, to: e.statements.length };
      this.settleLimit(e);
      return true;
    }
    const way = unbound ? undefined : ways.find((w) => w.portal === portal && (w.statement === undefined || w.statement === portal.statement));
    if (way === undefined) return false;
    e.ways = null;
    e.ran = way;
    e.statements = e.statements.slice(way.from, way.to);
    if (e.masks) e.masks = e.masks.slice(way.from, way.to);
    this.settleLimit(e);
    return true;
  }

  /**
   * An Execute's share of the row limit once its result comes: every earlier reading of its
   * portal has completed (by Execute or FETCH), so the rows left are the limit less what they
   * read — never more than it reserved when it was sent. When the portal that runs is another
   * than the one it reserved on (its name was ambiguous), the reservation moves to it.
   */
  private settleLimit(e: Extract<Expect, { k: 'execute' }>): void {
    const key = e.limitKey;
    if (e.remaining === null || key === null || e.ran === null) return;
    const ran = this.limitKey(e.ran.portal, e.statements, true);
    if (ran !== key) {
      this.reserve(key, -e.reserved);
      e.limitKey = ran;
      this.reserve(ran, e.reserved);
    }
    const limit = this.principal()?.limit?.rows ?? e.remaining;
    e.remaining = Math.min(e.remaining, Math.max(0, limit - (this.limitUsed.get(ran) ?? 0)));
  }

  /**
   * What an Execute's rows count against: the portal of the SQL cursor a FETCH reads (what the
   * name holds when the result comes, or the last thing it may hold when it is sent), or its own.
   */
  private limitKey(portal: Entry, statements: readonly ClassifiedStatement[], atReply: boolean): Entry {
    const cursor = fetchCursor(statements);
    if (cursor === null) return portal;
    if (atReply) return this.portals.current(cursor) ?? portal;
    const held = this.portals.possible(cursor);
    return held.length > 0 ? held[held.length - 1] : portal;
  }

  private onExecuteReply(m: Frame, e: Extract<Expect, { k: 'execute' }>): Buffer | null | 'fatal' {
    if (e.ran === null && !this.resolveRun(e)) {
      // a result of something the decision did not cover: nothing of it reaches the client
      this.opts.log.error('unresolved-execution', { session: this.opts.id, portal: e.portal });
      this.fatalToClient('XX000', 'pamc: the gateway cannot tell which statement the target ran; the session is closed');
      return 'fatal';
    }
    switch (m.type) {
      case B.DataRow:
        e.rows++;
        return this.relayResult(m, e);
      case B.CopyOutResponse:
      case B.CopyData:
        return this.relayResult(m, e);
      case B.CopyInResponse:
        e.copyIn = true;
        return m.raw;
      case B.CopyDone:
        return this.copyDone(m, e.result);
      case B.CommandComplete: {
        const base = e.ran?.from ?? 0;
        for (let i = 0; i < e.statements.length; i++) this.applyEffects(e.statements[i], base + i, e.creates);
        if (e.copyIn) this.dropSyncsSwallowedByCopy(e);
        if (e.audit) {
          const t = decodeCommandComplete(m.body);
          this.recordDone(e, 0, t.kind === 'ProtocolError' ? null : t.tag, null);
        }
        this.finishStatement(e.started, e.rows);
        this.countPortalRows(e);
        this.pop();
        if (!e.result.truncated) return m.raw;
        const tag = decodeCommandComplete(m.body);
        return this.truncatedCompletion(tag.kind === 'ProtocolError' ? 'SELECT' : parseCommandTag(tag.tag).command, e.result.rows);
      }
      case B.PortalSuspended:
        if (e.audit) this.recordDone(e, 0, `SELECT ${e.result.rows}`, null);
        this.finishStatement(e.started, e.rows);
        this.countPortalRows(e);
        this.pop();
        // Suspended because the row limit's extra row came: the client's result ends here.
        return e.result.truncated ? this.truncatedCompletion('SELECT', e.result.rows) : m.raw;
      case B.EmptyQueryResponse:
        if (e.audit) this.recordDone(e, 0, null, null);
        this.finishStatement(e.started, e.rows);
        this.countPortalRows(e);
        this.pop();
        return m.raw;
      default:
        // CopyBothResponse (replication) among them: never expected through the gateway.
        return this.unexpected(m.type, 'execute');
    }
  }

  private onQueryReply(m: Frame, e: Extract<Expect, { k: 'query' }>): Buffer | null | 'fatal' {
    switch (m.type) {
      case B.RowDescription:
      case B.CopyOutResponse:
      case B.CopyData:
      case B.DataRow:
        return this.relayResult(m, e);
      case B.CopyInResponse:
        e.copyIn = true;
        return m.raw;
      case B.CopyDone:
        return this.copyDone(m, e.result);
      case B.EmptyQueryResponse:
        return m.raw;
      case B.CommandComplete: {
        const s = e.statements[e.index];
        if (s && !e.failed) this.applyEffects(s, e.index, e.creates);
        if (e.copyIn) {
          this.dropSyncsSwallowedByCopy(e);
          e.copyIn = false;
        }
        if (e.audit) {
          const t = decodeCommandComplete(m.body);
          this.recordDone(e, e.index, t.kind === 'ProtocolError' ? null : t.tag, null);
        }
        e.index++;
        if (!e.result.truncated) {
          e.result = newResult();
          return m.raw;
        }
        const tag = decodeCommandComplete(m.body);
        const rows = e.result.rows;
        e.result = newResult();
        return this.truncatedCompletion(tag.kind === 'ProtocolError' ? 'SELECT' : parseCommandTag(tag.tag).command, rows);
      }
      case B.ReadyForQuery:
        this.finishStatement(e.started, e.rows);
        this.readyForQuery(m);
        this.pop();
        return m.raw;
      default:
        return this.unexpected(m.type, 'query');
    }
  }

  /**
   * The server reads COPY IN's data in a loop that ignores Sync and Flush (libpq sends a Sync
   * right behind an extended-protocol COPY and another after CopyDone). Syncs the client sent
   * between the COPY and the CopyDone/CopyFail that ended it get no ReadyForQuery.
   */
  /** Whether a simple Query that copies in (COPY … FROM STDIN) is still unanswered. */
  private copyQueryOutstanding(): boolean {
    for (let i = this.head; i < this.expect.length; i++) {
      const x = this.expect[i];
      if (x.k === 'query' && x.statements.some((st) => st.facts.some((f) => f.action === 'copy_in'))) return true;
    }
    return false;
  }

  private dropSyncsSwallowedByCopy(e: { copyEnds: number }): void {
    for (let i = this.head + 1; i < this.expect.length; ) {
      const x = this.expect[i];
      if (x.k === 'sync' && x.copyEnds === e.copyEnds) {
        this.expect.splice(i, 1);
        this.rfqSeen++;
        continue;
      }
      if ((x.k === 'sync' || x.k === 'execute' || x.k === 'query') && x.copyEnds > e.copyEnds) break;
      i++;
    }
  }

  private onServerError(m: Frame, e: Expect | undefined): Buffer | null | 'fatal' {
    const err = decodeErrorResponse(m.body);
    if (err.kind === 'ProtocolError') {
      this.fatalToClient('08006', 'pamc: the target sent a malformed error');
      return 'fatal';
    }
    const sev = err.fields.severityNonLocalized ?? err.fields.severity;
    if (sev === 'FATAL' || sev === 'PANIC') {
      this.upstreamFatal = true;
      this.opts.log.warn('upstream-fatal', { session: this.opts.id, error: describeFields(err.fields) });
      return this.redacted(m, e); // the server closes the connection next
    }
    if (e === undefined) return m.raw;
    if (e.k === 'query') {
      if (e.cancelledForLimit && err.fields.code === '57014') {
        // The gateway stopped the query at the row limit: the client's result simply ends.
        e.cancelledForLimit = false;
        const rows = e.result.rows;
        const command = e.statements[e.index]?.nodeType === 'FetchStmt' ? 'FETCH' : 'SELECT';
        // what the client got is the statement's outcome: its rows up to the limit
        if (e.audit) this.recordDone(e, e.index, `${command} ${rows}`, null);
        e.result = newResult();
        e.index++;
        return this.truncatedCompletion(command, rows);
      }
      e.failed = true;
      if (e.copyIn) {
        this.dropSyncsSwallowedByCopy(e);
        e.copyIn = false;
      }
      if (e.audit && !e.failedRecorded) {
        e.failedRecorded = true;
        this.recordDone(e, e.index, null, { sqlstate: err.fields.code, message: this.recordedError(err.fields, e) });
      }
      if (e.denial) return isOurDenial(err.fields, e.denial) ? denialError(e.denial) : m.raw;
      return this.redacted(m, e);
    }
    if (e.k === 'execute' && e.copyIn) this.dropSyncsSwallowedByCopy(e);
    // Extended protocol: the server skips everything up to Sync; so do the expectations.
    let reply: Buffer = this.redacted(m, e);
    while (this.head < this.expect.length) {
      const x = this.expect[this.head];
      if (x.k === 'sync') break;
      if (x.k === 'denied') {
        if (isOurDenial(err.fields, x.denial)) reply = denialError(x.denial);
      } else if (x.k === 'parse') this.statements.fail(x.name, x.entry);
      else if (x.k === 'bind') this.portals.fail(x.name, x.entry);
      else if (x.k === 'execute') {
        if (x.audit && x === e) this.recordDone(x, 0, null, { sqlstate: err.fields.code, message: this.recordedError(err.fields, x) });
        this.finishStatement(x.started, x.rows);
        this.countPortalRows(x);
      }
      this.pop();
    }
    // No Sync forwarded yet: the server skips whatever comes until one, Query messages included,
    // so the gateway must not expect answers to them (nor forward them).
    if (this.head >= this.expect.length) this.skipping = true;
    return reply;
  }

  private unexpected(type: number, expecting: string): 'fatal' {
    this.opts.log.error('unexpected-server-message', { session: this.opts.id, type: String.fromCharCode(type), expecting });
    this.fatalToClient('08P01', 'pamc: the target sent a message the gateway did not expect');
    return 'fatal';
  }

  private readyForQuery(m: Frame): void {
    this.rfqSeen++;
    const r = decodeReadyForQuery(m.body);
    if (r.kind === 'ProtocolError') return;
    this.transactionStatus = r.status;
    // DDL committed or rolled back: the catalog snapshot must be taken again after it.
    if (r.status === 'I' && this.masking.transactionEnded(this.rfqSeen)) this.opts.invalidateCatalog?.();
    // Portals live until the end of their transaction; cursors declared WITH HOLD survive it,
    // and a cursor the gateway forgets is refused on FETCH, so cursors are kept until CLOSE.
    if (r.status === 'I') this.portals.clearProtocolPortals();
  }

  /** Moves an Execute's reservation to another key of the row limit. */
  private reserve(key: Entry, rows: number): void {
    const pending = (this.limitPending.get(key) ?? 0) + rows;
    if (pending > 0) this.limitPending.set(key, pending);
    else this.limitPending.delete(key);
  }

  /** An Execute finished (or was skipped): its rows are counted, its reservation released. */
  private countPortalRows(e: Extract<Expect, { k: 'execute' }>): void {
    const key = e.limitKey;
    if (e.remaining === null || key === null) return;
    this.limitUsed.set(key, (this.limitUsed.get(key) ?? 0) + e.result.rows);
    this.reserve(key, -e.reserved);
    e.remaining = null;
  }

  /**
   * The names statements about to be forwarded create (SQL PREPARE and DECLARE, in a query or
   * through Execute of `portal`, whose Bind's parameters and Parse's types it reads), pending from now on: a Bind, Execute or FETCH pipelined behind them is
   * decided for what the name held before and for the new one, and what runs is told by the
   * replies (resolveRun). Confirmed when the statement completes, dropped when it does not.
   */
  private pendingCreations(statements: readonly ClassifiedStatement[], portal?: Entry): Creation[] | null {
    let out: Creation[] | null = null;
    for (let at = 0; at < statements.length; at++) {
      const s = statements[at];
      for (const eff of s.effects) {
        let c: Creation;
        if (eff.kind === 'prepare') c = { at, names: this.statements, name: eff.name, entry: { text: eff.statement.text, statements: [eff.statement], pathVersion: this.pathVersion } };
        else if (eff.kind === 'declare') c = { at, names: this.portals, name: eff.name, entry: declared(s, portal) };
        else continue;
        c.names.addPending(c.name, c.entry);
        (out ??= []).push(c);
      }
    }
    return out;
  }

  /** What a completed statement (at `at` among its message's) did to the session's names, settings and the target's catalog. */
  private applyEffects(s: ClassifiedStatement, at: number, creates: Creation[] | null): void {
    if (s.facts.some((f) => f.action === 'create' || f.action === 'alter' || f.action === 'drop')) this.opts.invalidateCatalog?.();
    for (const eff of s.effects) {
      switch (eff.kind) {
        case 'prepare':
        case 'declare': {
          const c = creates?.find((x) => x.at === at && x.name === eff.name);
          if (c !== undefined) c.names.confirm(c.name, c.entry);
          break;
        }
        case 'deallocate':
          if (eff.name === null) this.statements.clear();
          else this.statements.remove(eff.name);
          break;
        case 'close':
          if (eff.name === null) this.portals.clearCursors();
          else this.portals.remove(eff.name);
          break;
        case 'discard':
          if (eff.what.toUpperCase() === 'ALL') {
            this.statements.clear();
            this.portals.clear();
          }
          break;
        default:
          break;
      }
    }
  }

  /**
   * After SET search_path, unqualified names may resolve in the new schemas too (conservatively,
   * in all). Done when the statement is forwarded, not when the server confirms it: the server
   * resolves whatever is pipelined behind the SET under the new path, so it must be classified
   * with it (a SET that then fails only leaves more candidates).
   */
  private widenSearchPath(statements: readonly ClassifiedStatement[]): void {
    for (const s of statements) {
      for (const e of s.effects) {
        if (e.kind !== 'set' || e.setting !== 'search_path' || e.value === null) continue;
        for (const part of splitSearchPath(e.value)) {
          if (this.searchPath.includes(part)) continue;
          this.searchPath.push(part);
          this.pathVersion++;
        }
      }
    }
  }

  private finishStatement(started: number, rows: number): void {
    this.opts.metrics.roundtripSeconds.observe(this.labels, (performance.now() - started) / 1000);
    void rows;
  }

  private logStatement(sql: string, denial: DenialText | null): void {
    if (!this.opts.log.enabled('info')) return;
    this.opts.log.info('statement', {
      session: this.opts.id,
      target: this.opts.targetName,
      subject: this.opts.identity.subject,
      agent: this.opts.identity.agent,
      decision: denial === null ? (this.lastDecision.decision?.effect ?? 'allow') : 'deny',
      sql: sql.length > 2000 ? `${sql.slice(0, 2000)}…` : sql,
      ...(denial ? { reason: denial.message } : {}),
    });
  }

  /** A CancelRequest from the client: cancel what the server runs for this session. */
  cancel(): void {
    if (this.held) this.withdrawHeld('cancelled by the client');
    else if (!this.idle) this.opts.cancelUpstream();
  }

  /**
   * The gateway is shutting down: an idle session ends now (FATAL 57P01, as a server shutting
   * down says); one that is running a statement or is inside a transaction block ends at its
   * next idle ReadyForQuery (or when the gateway's grace period is over).
   */
  shutdown(): void {
    if (this.ended) return;
    this.draining = true;
    // A held statement fails now (57014); the session ends at the ReadyForQuery after it.
    if (this.held) {
      this.withdrawHeld('the gateway is shutting down');
      return;
    }
    if (this.idle && this.transactionStatus === 'I') this.fatalToClient('57P01', 'pamc: the gateway is shutting down', 'gateway-shutdown');
  }

  // ------------------------------------------------------------------------------------------
  // Ending

  private upstreamClosed(): void {
    if (this.ended) return;
    // A FATAL from the server has already told the client why; otherwise say it here.
    if (this.terminating) this.end('terminated');
    else if (!this.upstreamFatal) this.fatalToClient('08006', 'pamc: the connection to the target was lost', 'upstream-closed');
    else this.end('upstream-closed');
  }

  private protocolFailure(e: ProtocolError): void {
    this.opts.metrics.protocolErrors.inc({ target: this.opts.targetName });
    this.opts.log.warn('client-protocol-error', { session: this.opts.id, error: e.message });
    // PostgreSQL reports every framing problem (a length beyond its limit included) as 08P01.
    this.fatalToClient('08P01', `pamc: ${e.message}`);
  }

  private fatalToClient(sqlstate: string, message: string, reason = 'fatal'): void {
    if (this.ended) return;
    // the replies of the server's chunk handled before the failure are the client's: they go first
    const pending = this.serverOut;
    this.serverOut = null;
    if (pending !== null) this.sendClient(pending);
    try {
      if (!this.client.destroyed) this.client.write(buildError(sqlstate, message, { severity: 'FATAL' }));
    } catch {
      // the client is gone
    }
    this.end(reason, message);
  }

  /** Ends the session: the upstream query is cancelled if one runs, both sockets close. */
  end(reason: string, detail?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.statements.release();
    this.portals.release();
    const held = this.held;
    if (held) {
      this.held = null;
      this.recordOutcome(held.record, 'cancelled', { sqlstate: '57014', message: 'pamc: the session ended while the statement waited for approval' }, Date.now() - held.since);
      this.opts.approvals?.store.withdraw(held.request.id, 'the session ended');
    }
    if (!this.idle && !this.terminating) this.opts.cancelUpstream();
    try {
      if (this.upstream.destroyed) {
        // gone already
      } else if (this.terminating) this.upstream.end();
      else this.upstream.end(encodeTerminate());
    } catch {
      // already closed
    }
    try {
      this.client.end();
    } catch {
      // already closed
    }
    // Whatever the peers still owe us is not wanted: stop buffering it.
    this.upstream.resume();
    setTimeout(() => {
      this.upstream.destroy();
      this.client.destroy();
    }, 1000).unref();
    this.opts.log.info('disconnect', {
      session: this.opts.id,
      target: this.opts.targetName,
      subject: this.opts.identity.subject,
      reason,
      ...(detail ? { detail } : {}),
      statements: this.statementsDecided,
      seconds: (Date.now() - this.startedAt) / 1000,
    });
    this.recordUnanswered();
    this.flushRecords();
    const why = disconnectReason(reason);
    this.recorder()?.disconnect(this.auditSession, {
      reason: why,
      ...(detail && (why === 'error' || why === 'server') ? { error: { code: reason, message: detail } } : {}),
      statements: this.statementsDecided,
      denied: this.statementsDenied,
    });
    this.opts.onEnd(this);
  }
}

/** A session's end as its disconnect record names it (spec/audit.md). */
function disconnectReason(reason: string): 'client' | 'server' | 'error' | 'shutdown' | 'timeout' | 'policy' {
  switch (reason) {
    case 'terminated':
    case 'client-closed':
    case 'client-error':
      return 'client';
    case 'upstream-closed':
    case 'upstream-error':
      return 'server';
    case 'gateway-shutdown':
      return 'shutdown';
    default:
      return 'error';
  }
}

/** `"$user", public, "My Schema"` → [`$user`, `public`, `My Schema`] with identifier folding. */
export function splitSearchPath(value: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^,\s]+))\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null && m[0] !== '') {
    out.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2].toLowerCase());
  }
  return out;
}

function sameParams(a: readonly (string | Uint8Array | null)[] | null, b: readonly (string | Uint8Array | null)[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => sameParam(x, b[i]));
}

/** A name a forwarded statement creates (SQL PREPARE, DECLARE): `at` is its place among its message's statements. */
interface Creation {
  at: number;
  names: NameRegistry;
  name: string;
  entry: Entry;
}

function sameParam(x: string | Uint8Array | null, y: string | Uint8Array | null): boolean {
  if (x instanceof Uint8Array && y instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(y);
  return x === y;
}

/**
 * The statements, each once (the candidates of a re-parsed name): the same text resolved to the
 * same relations and functions. One text classified under two search paths is two statements.
 */
function distinctStatements(statements: readonly ClassifiedStatement[]): readonly ClassifiedStatement[] {
  if (statements.length < 2) return statements;
  const byKey = new Map<string, ClassifiedStatement>();
  for (const st of statements) {
    const key = `${st.text}\u0000${st.facts.map((f) => `${f.action} ${f.resource}`).join('\u0001')}`;
    if (!byKey.has(key)) byKey.set(key, st);
  }
  return [...byKey.values()];
}

/** A Bind's parameters as the session keeps them: text, or the bytes of a binary one. */
function bindParamValues(b: Bind): (string | Uint8Array | null)[] {
  return paramValues(b.paramFormats, b.params);
}

/** Values sent with format codes (a Bind's parameters, a FunctionCall's arguments) as the record and an approval keep them: text as strings, binary as bytes. */
function paramValues(formats: readonly FormatCode[], values: readonly (Buffer | null)[]): (string | Uint8Array | null)[] {
  return values.map((v, i) => (v === null ? null : formatAt(formats, i) === 1 ? new Uint8Array(v) : v.toString('utf8')));
}

/** Parameters as an approval shows and keys them: a binary one as its bytes, never as text that could read as the same value. */
function keyParams(values: readonly (string | Uint8Array | null)[]): KeyParam[] {
  return values.map((v) => (v === null || typeof v === 'string' ? v : { base64: Buffer.from(v).toString('base64') }));
}

/** The runs of every statement as one list (null: none runs anything by name). */
function allRuns(runs: (RunInput[] | null)[] | null): RunInput[] | null {
  return runs && runs.flatMap((r) => r ?? []);
}

/** What reading a portal runs, as a record keeps it (portalReads): each text, with the portal's parameters and the declared types when bound ones go with it. */
function portalRuns(x: Entry): RunInput[] {
  const reads = portalReads(x);
  return reads.runs.map((s) => (reads.bound ? { text: s.text, params: x.params ?? null, paramTypes: s.paramTypes } : { text: s.text }));
}

/** The entry of a cursor a DECLARE makes; declared by an Execute of `portal`, it reads the Bind's parameters with the Parse's types. */
function declared(s: ClassifiedStatement, portal: Entry | undefined): Entry {
  const entry: Entry = { text: s.text, statements: [s], cursor: true };
  if (portal) {
    entry.declaredByBind = true;
    if (portal.params) entry.params = portal.params;
    const types = lastBound(portal)?.paramTypes;
    if (types) entry.paramTypes = types;
  }
  return entry;
}

function preparedBody(st: ClassifiedStatement): ClassifiedStatement {
  for (const e of st.effects) if (e.kind === 'prepare') return e.statement;
  return st;
}
