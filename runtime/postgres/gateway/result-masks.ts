// Masking in a session (spec/masking.md): which statements are refused before they run, the
// masks of each result once its shape is known, COPY formats, and the lineage cache. The
// session calls in at fixed points; this module holds no socket and sends nothing.

import type { MaskingOptions } from '../../../spec/compiled-policy.ts';
import type { Principal } from '../../policy/principal.ts';
import { setMembers } from '../../sql/catalog.ts';
import type { ClassifiedStatement } from '../../sql/facts.ts';
import { splitKey } from '../../sql/names.ts';
import { parseSql } from '../../sql/parser.ts';
import { lineageCatalog, snapshotFromRows, type CatalogSnapshot } from '../masking/catalog.ts';
import { statementLineage, type LineageCatalog, type StatementLineage } from '../masking/lineage.ts';
import { checkStatement, maskView, planColumns, type ColumnMask, type MaskView } from '../masking/plan.ts';
import { DEFAULT_TEXT_COPY, type CopyFormat } from '../masking/rows.ts';
import type { FieldDescription } from '../protocol/index.ts';

const SQL_FUNCTIONS = new Set(setMembers('functions', 'sql_functions'));
const MAX_CACHED = 512;

function lineageOf(outputs: StatementLineage['outputs'], opaque: boolean, reason: string | null): StatementLineage {
  return {
    outputs,
    reads: new Set(),
    predicates: new Set(),
    computed: new Set(),
    writesFrom: new Set(),
    writesOpaque: false,
    unmasks: new Set(),
    executes: null,
    opaque,
    opaqueReasons: reason ? [reason] : [],
  };
}

const CLEAN = lineageOf('clean', false, null);
const OPAQUE = lineageOf('opaque', true, 'the statement does not parse');

/** A catalog that knows no relation: what lineage sees while the catalog may have changed. */
function unknownCatalog(): LineageCatalog {
  const base = lineageCatalog(EMPTY_SNAPSHOT, []);
  return { ...base, relation: () => null, resolveRelation: () => null, viewLineage: () => null };
}
const EMPTY_SNAPSHOT = snapshotFromRows([], []);

/** Facts of statements that change the catalog (or may: DO blocks, procedures). */
const DDL_ACTIONS = new Set(['create', 'alter', 'drop', 'do']);
const isDdl = (s: ClassifiedStatement) => s.nodeType === 'CallStmt' || s.facts.some((f) => DDL_ACTIONS.has(f.action));

/**
 * Actions whose errors quote no stored row beyond what the statement reads (which its lineage
 * sees). Every other action writes or rebuilds data, and its errors may quote whole rows,
 * masked columns included, of the relations it writes or of others through foreign keys and
 * triggers: `Failing row contains (…)` of a constraint, `Key (…)=(…) is duplicated` of a unique
 * index built or rebuilt, an expression index or a generated column failing on a value, a
 * deferred constraint at COMMIT.
 */
const QUOTES_NO_ROWS = new Set(['select', 'copy_out', 'lock', 'set', 'show', 'discard', 'listen', 'unlisten', 'notify', 'compute', 'cursor']);
const mayQuoteRows = (s: ClassifiedStatement) => s.facts.some((f) => !QUOTES_NO_ROWS.has(f.action));
/** Transaction control quotes rows only of what the transaction wrote (deferred constraints at COMMIT). */
const writes = (s: ClassifiedStatement) => s.facts.some((f) => !QUOTES_NO_ROWS.has(f.action) && f.action !== 'transaction');

export interface MaskingDeps {
  principal(): Principal | null;
  /** the target's catalog snapshot, or null while there is none or it is out of date */
  snapshot(): CatalogSnapshot | null;
  searchPath(): readonly string[];
  /** the session has not changed its search path (so `searchPath` is exact, order included) */
  exactPath(): boolean;
  options(): MaskingOptions | null;
  /** the statements a FETCH (by cursor) or EXECUTE (by prepared name) reads */
  related(s: ClassifiedStatement): readonly ClassifiedStatement[] | null;
}

/** What masking knows about one statement of a result. */
export interface StatementMasks {
  lineage: StatementLineage;
  /** errors and notices of this statement are redacted */
  redact: boolean;
  /** the snapshot the lineage was computed with: a result planned with another is untraceable */
  snapshot: CatalogSnapshot | null;
}

export class SessionMasking {
  private viewCache: { principal: Principal | null; view: MaskView | null } = { principal: null, view: null };
  private readonly lineages = new Map<string, { snapshot: CatalogSnapshot | null; key: string; lineage: StatementLineage }>();
  /** a cursor's lineage as it was when it was declared (its plan is fixed then) */
  private readonly cursorLineages = new WeakMap<ClassifiedStatement, StatementLineage>();
  /** unqualified names of temporary relations the session created: they shadow the catalog */
  private readonly temporary = new Set<string>();
  /** DDL was forwarded and its transaction has not ended: the session's catalog is unknown */
  private ddlOpen = false;
  /** the ReadyForQuery (by count) at which the last DDL forwarded has finished, at the earliest */
  private ddlUntil = 0;
  /**
   * A statement that writes (mayQuoteRows, transaction control aside) was forwarded and its
   * transaction has not ended: what it wrote is checked again at COMMIT, at the implicit commit
   * of a query or a Sync, and by SET CONSTRAINTS, so every error and notice until then is withheld.
   */
  private changesOpen = false;
  private changesUntil = 0;

  constructor(private readonly deps: MaskingDeps) {}

  /** The principal's masks, or null when it has none (then nothing here runs). */
  view(): MaskView | null {
    const p = this.deps.principal();
    if (this.viewCache.principal !== p) {
      const v = p ? maskView(p) : null;
      this.viewCache = { principal: p, view: v && v.active ? v : null };
    }
    return this.viewCache.view;
  }

  /**
   * The session is idle outside a transaction block after its `seen`-th ReadyForQuery. True when
   * DDL forwarded earlier has now committed or rolled back: the catalog must be taken again (a
   * snapshot loaded meanwhile may predate the commit).
   */
  transactionEnded(seen: number): boolean {
    if (this.changesOpen && seen >= this.changesUntil) this.changesOpen = false;
    if (!this.ddlOpen || seen < this.ddlUntil) return false;
    this.ddlOpen = false;
    return true;
  }

  /** Errors and notices now may quote rows a statement of the open transaction wrote. */
  changingData(): boolean {
    return this.changesOpen;
  }

  private catalogFor(snapshot: CatalogSnapshot | null): LineageCatalog {
    if (!snapshot || this.ddlOpen) return unknownCatalog();
    return lineageCatalog(snapshot, this.deps.searchPath(), { exactPath: this.deps.exactPath(), temporary: this.temporary });
  }

  private parseLineage(text: string, snapshot: CatalogSnapshot | null): StatementLineage {
    const key = `${this.deps.searchPath().join('\u0001')}\u0002${this.deps.exactPath()}\u0002${[...this.temporary].join('\u0001')}\u0002${this.ddlOpen}`;
    const hit = this.lineages.get(text);
    if (hit && hit.snapshot === snapshot && hit.key === key) return hit.lineage;
    const parsed = parseSql(text);
    const stmt = parsed.tree?.stmts?.[0]?.stmt;
    const lineage = stmt ? statementLineage(stmt, this.catalogFor(snapshot)) : OPAQUE;
    if (this.lineages.size >= MAX_CACHED) this.lineages.clear();
    this.lineages.set(text, { snapshot, key, lineage });
    return lineage;
  }

  /** The lineage of what a FETCH or EXECUTE reads, over every statement its name may hold. */
  private relatedLineage(s: ClassifiedStatement, snapshot: CatalogSnapshot | null): StatementLineage {
    const related = this.deps.related(s);
    if (!related || related.length === 0) return OPAQUE;
    const ls = related.map((r) => this.cursorLineages.get(r) ?? this.lineage(r, snapshot));
    return ls.length === 1 ? ls[0] : mergeLineages(ls);
  }

  /** The lineage of one statement (FETCH and EXECUTE take the lineage of what they read). */
  lineage(s: ClassifiedStatement, snapshot: CatalogSnapshot | null = this.deps.snapshot()): StatementLineage {
    if (s.effects.some((e) => e.kind === 'fetch')) return this.relatedLineage(s, snapshot);
    if (s.nodeType === 'ParseError') return OPAQUE;
    if (s.facts.length === 0 && s.nodeType === 'TransactionStmt') return CLEAN;
    const own = this.parseLineage(s.text, snapshot);
    if (!own.executes) return own;
    return composeExecute(own, this.relatedLineage(s, snapshot));
  }

  /**
   * Before statements run: a reason to refuse them, and per statement what masking will need.
   * Null when the principal has no masks.
   */
  check(statements: readonly ClassifiedStatement[], endsAtReady: number): { deny: string | null; masks: StatementMasks[] } | null {
    const view = this.view();
    const options = this.deps.options();
    if (!view || !options) return null;
    const masks: StatementMasks[] = [];
    const snapshot = this.deps.snapshot();
    for (const s of statements) {
      const lineage = this.lineage(s, snapshot);
      const sqlFromStrings = s.facts.some((f) => f.action === 'call' && SQL_FUNCTIONS.has(f.resource));
      const copyOut = s.facts.some((f) => f.action === 'copy_out');
      const c = checkStatement(view, lineage, options, { copyOut, sqlFromStrings, copyEncoding: copyOut ? copyFormat(s.text).encoding : null });
      if (c.deny) return { deny: c.deny, masks };
      if (s.nodeType === 'DeclareCursorStmt') this.cursorLineages.set(s, lineage);
      // what an EXECUTE runs may change data although EXECUTE itself reads as `cursor`
      const related = this.deps.related(s);
      if (writes(s) || (related?.some(writes) ?? false)) {
        this.changesOpen = true;
        this.changesUntil = Math.max(this.changesUntil, endsAtReady);
      }
      const quotes = mayQuoteRows(s) || (related?.some(mayQuoteRows) ?? false);
      masks.push({ lineage, redact: c.touchesMasked || quotes, snapshot });
      this.noteForwarded(s, endsAtReady);
    }
    return { deny: null, masks };
  }

  /** What a statement about to run changes for the analysis of the statements after it. */
  private noteForwarded(s: ClassifiedStatement, endsAtReady: number): void {
    for (const f of s.facts) {
      if (f.resource.startsWith('pg_temp.')) this.temporary.add(unquoteIdent(f.resource.slice('pg_temp.'.length)));
    }
    // A view over a temporary relation is made temporary by the server whatever
    // schema it names: it then shadows the relation of that name the catalog holds.
    if (s.nodeType === 'ViewStmt' && s.facts.some((f) => f.action === 'select' && this.isTemporary(f.resource))) {
      for (const f of s.facts) {
        const parts = f.action === 'create' ? splitKey(f.resource) : null;
        if (parts) this.temporary.add(unquoteIdent(parts[1]));
      }
    }
    if (isDdl(s)) {
      this.ddlOpen = true;
      this.ddlUntil = Math.max(this.ddlUntil, endsAtReady);
    }
  }

  /** Whether a relation key names a temporary relation of the session (any schema: pg_temp shadows it). */
  private isTemporary(key: string): boolean {
    const parts = splitKey(key);
    return parts !== null && (parts[0] === 'pg_temp' || this.temporary.has(unquoteIdent(parts[1])));
  }

  /** The masks of a result once its RowDescription is known. */
  plan(m: StatementMasks | undefined, fields: readonly FieldDescription[], formats: readonly number[] | null): ColumnMask[] {
    const view = this.view();
    if (!view) return [];
    const snapshot = this.deps.snapshot();
    // The catalog changed between the check and the result: the lineage may be wrong.
    const lineage = m && m.snapshot === snapshot ? m.lineage : (m?.lineage.outputs === 'clean' ? m.lineage : OPAQUE);
    return planColumns(view, lineage, fields, formats, snapshot);
  }

  /** The masks of a COPY … TO STDOUT stream, by column position, typed from the catalog where it can. */
  planCopy(m: StatementMasks | undefined, columnCount: number, s: ClassifiedStatement | undefined): ColumnMask[] {
    const view = this.view();
    if (!view) return [];
    const snapshot = this.deps.snapshot();
    const types = s ? copyColumnTypes(s.text, snapshot, this.deps.searchPath()) : null;
    const fields: FieldDescription[] = Array.from({ length: columnCount }, (_, i) => ({
      name: '',
      tableOid: 0,
      columnNumber: 0,
      typeOid: types?.[i]?.oid ?? 0,
      typeSize: -1,
      typeModifier: types?.[i]?.typmod ?? -1,
      format: 0,
    }));
    const lineage = m && m.snapshot === snapshot ? m.lineage : OPAQUE;
    return planColumns(view, lineage, fields, null, snapshot);
  }
}

function unquoteIdent(s: string): string {
  return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replaceAll('""', '"') : s;
}

/** EXECUTE, EXPLAIN EXECUTE, CREATE TABLE AS EXECUTE: the statement's lineage with the prepared one's. */
function composeExecute(own: StatementLineage, prepared: StatementLineage): StatementLineage {
  const as = own.executes!.as;
  if (as === 'rows') return prepared;
  const out: StatementLineage = {
    ...own,
    reads: new Set([...own.reads, ...prepared.reads]),
    predicates: new Set([...own.predicates, ...prepared.predicates]),
    computed: new Set([...own.computed, ...prepared.computed]),
    writesFrom: new Set([...own.writesFrom, ...prepared.writesFrom]),
    writesOpaque: own.writesOpaque || prepared.writesOpaque,
    unmasks: new Set([...own.unmasks, ...prepared.unmasks]),
    executes: null,
    opaque: own.opaque || prepared.opaque,
    opaqueReasons: [...own.opaqueReasons, ...prepared.opaqueReasons],
  };
  const outs = prepared.outputs;
  if (as === 'explain') {
    out.outputs = prepared.opaque || outs === 'opaque' ? 'opaque' : 'clean';
    if (Array.isArray(outs)) for (const o of outs) for (const k of o.sources) out.reads.add(k);
  } else {
    // CREATE TABLE AS EXECUTE: the prepared statement's rows become a table
    out.outputs = 'clean';
    if (Array.isArray(outs)) {
      for (const o of outs) {
        for (const k of o.sources) out.writesFrom.add(k);
        if (o.opaque) out.writesOpaque = true;
      }
    } else if (outs === 'opaque') out.writesOpaque = true;
  }
  return out;
}

function mergeLineages(ls: StatementLineage[]): StatementLineage {
  // Several statements the server may hold under one name: every column could be any of them.
  const first = ls[0];
  const same = ls.every((l) => Array.isArray(l.outputs) && Array.isArray(first.outputs) && l.outputs.length === first.outputs.length && !l.outputs.some((o) => o.span));
  const out = lineageOf('opaque', ls.some((l) => l.opaque), null);
  for (const l of ls) {
    for (const k of ['reads', 'predicates', 'writesFrom', 'unmasks'] as const) for (const x of l[k]) out[k].add(x);
    out.writesOpaque ||= l.writesOpaque;
    out.opaqueReasons.push(...l.opaqueReasons);
  }
  if (same && Array.isArray(first.outputs)) {
    out.outputs = first.outputs.map((o, i) => {
      const merged = { name: o.name, sources: new Set(o.sources), direct: null as string | null, opaque: o.opaque };
      for (const l of ls.slice(1)) {
        const x = (l.outputs as typeof first.outputs)[i];
        for (const s of x.sources) merged.sources.add(s);
        merged.opaque ||= x.opaque;
      }
      return merged;
    });
  } else if (ls.every((l) => l.outputs === 'clean')) out.outputs = 'clean';
  return out;
}

type Obj = Record<string, unknown>;

function copyStmt(text: string): Obj | null {
  const stmt = parseSql(text).tree?.stmts?.[0]?.stmt as Obj | undefined;
  return (stmt?.CopyStmt as Obj | undefined) ?? null;
}

function defElems(c: Obj): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const o of (c.options as unknown[] | undefined) ?? []) {
    const d = (o as Obj).DefElem as Obj | undefined;
    if (d && typeof d.defname === 'string') out.set(d.defname, d.arg);
  }
  return out;
}

function argText(arg: unknown): string | null {
  const a = arg as Obj | undefined;
  const s = (a?.String as Obj | undefined)?.sval;
  if (typeof s === 'string') return s;
  const c = a?.A_Const as Obj | undefined;
  const cs = (c?.sval as Obj | undefined)?.sval;
  if (typeof cs === 'string') return cs;
  const b = (c?.boolval as Obj | undefined)?.boolval;
  if (typeof b === 'boolean') return b ? 'true' : 'false';
  const bl = (a?.Boolean as Obj | undefined)?.boolval;
  if (typeof bl === 'boolean') return bl ? 'true' : 'false';
  if (c && 'boolval' in c) return 'false';
  const i = (c?.ival as Obj | undefined)?.ival ?? (a?.Integer as Obj | undefined)?.ival;
  if (typeof i === 'number') return String(i);
  return null;
}

/** The format of a COPY … TO STDOUT statement, from its options. */
export function copyFormat(text: string): CopyFormat {
  const c = copyStmt(text);
  if (!c) return DEFAULT_TEXT_COPY;
  const o = defElems(c);
  const kind = (argText(o.get('format')) ?? 'text').toLowerCase();
  const csv = kind === 'csv';
  const header = o.has('header') ? (argText(o.get('header')) ?? 'true').toLowerCase() !== 'false' : false;
  const quote = argText(o.get('quote')) ?? '"';
  return {
    kind: kind === 'binary' ? 'binary' : csv ? 'csv' : 'text',
    encoding: argText(o.get('encoding')),
    delimiter: argText(o.get('delimiter')) ?? (csv ? ',' : '\t'),
    quote,
    escape: argText(o.get('escape')) ?? quote,
    nullString: argText(o.get('null')) ?? (csv ? '' : '\\N'),
    header,
  };
}

/** Column types of `COPY relation [(columns)] TO STDOUT`, from the catalog; null for COPY (query). */
function copyColumnTypes(text: string, snapshot: CatalogSnapshot | null, path: readonly string[]): { oid: number; typmod: number }[] | null {
  const c = copyStmt(text);
  const rv = c?.relation as Obj | undefined;
  if (!rv || !snapshot) return null;
  const cat = lineageCatalog(snapshot, path);
  const rel = typeof rv.schemaname === 'string' ? cat.relation(rv.schemaname, String(rv.relname)) : cat.resolveRelation(String(rv.relname));
  const full = rel ? snapshot.byKey.get(rel.key) : undefined;
  if (!full) return null;
  const att = ((c!.attlist as unknown[] | undefined) ?? []).map((x) => ((x as Obj).String as Obj | undefined)?.sval as string);
  if (att.length === 0) return full.columnTypes;
  return att.map((name) => full.columnTypes[full.columns.indexOf(name)] ?? { oid: 0, typmod: -1 });
}

