// Masking in a session (spec/masking.md): which statements are refused before they run, the
// masks of each result once its shape is known, COPY formats, and the lineage cache. The
// session calls in at fixed points; this module holds no socket and sends nothing.

import type { MaskingOptions } from '../../../spec/compiled-policy.ts';
import type { Principal } from '../../policy/principal.ts';
import { setMembers } from '../../sql/catalog.ts';
import type { ClassifiedStatement } from '../../sql/facts.ts';
import { parseSql } from '../../sql/parser.ts';
import { lineageCatalog, type CatalogSnapshot } from '../masking/catalog.ts';
import { statementLineage, type StatementLineage } from '../masking/lineage.ts';
import { checkStatement, maskView, planColumns, type ColumnMask, type MaskView } from '../masking/plan.ts';
import { DEFAULT_TEXT_COPY, type CopyFormat } from '../masking/rows.ts';
import type { FieldDescription } from '../protocol/index.ts';

const SQL_FUNCTIONS = new Set(setMembers('functions', 'sql_functions'));
const MAX_CACHED = 512;

const CLEAN: StatementLineage = { outputs: 'clean', predicates: new Set(), writesFrom: new Set(), opaque: false, opaqueReasons: [] };
const OPAQUE: StatementLineage = { outputs: 'opaque', predicates: new Set(), writesFrom: new Set(), opaque: true, opaqueReasons: ['the statement does not parse'] };

export interface MaskingDeps {
  principal(): Principal | null;
  snapshot(): CatalogSnapshot | null;
  searchPath(): readonly string[];
  options(): MaskingOptions | null;
  /** the statements a FETCH (by cursor) or EXECUTE (by prepared name) reads */
  related(s: ClassifiedStatement): readonly ClassifiedStatement[] | null;
}

/** What masking knows about one statement of a result. */
export interface StatementMasks {
  lineage: StatementLineage;
  /** errors and notices of this statement are redacted */
  redact: boolean;
}

export class SessionMasking {
  private viewCache: { principal: Principal | null; view: MaskView | null } = { principal: null, view: null };
  private readonly lineages = new Map<string, { snapshot: CatalogSnapshot | null; path: string; lineage: StatementLineage }>();

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

  private parseLineage(text: string): StatementLineage {
    const snapshot = this.deps.snapshot();
    const path = this.deps.searchPath().join('\u0001');
    const hit = this.lineages.get(text);
    if (hit && hit.snapshot === snapshot && hit.path === path) return hit.lineage;
    const parsed = parseSql(text);
    const stmt = parsed.tree?.stmts?.[0]?.stmt;
    let lineage: StatementLineage;
    if (!stmt) lineage = OPAQUE;
    else if (!snapshot) lineage = { ...OPAQUE, opaqueReasons: ['the catalog snapshot is not loaded yet'] };
    else lineage = statementLineage(stmt, lineageCatalog(snapshot, this.deps.searchPath()));
    if (this.lineages.size >= MAX_CACHED) this.lineages.clear();
    this.lineages.set(text, { snapshot, path, lineage });
    return lineage;
  }

  /** The lineage of one statement (FETCH and EXECUTE take the lineage of what they read). */
  lineage(s: ClassifiedStatement): StatementLineage {
    const fetchOrExecute = s.nodeType === 'ExecuteStmt' || s.effects.some((e) => e.kind === 'fetch');
    if (fetchOrExecute) {
      const related = this.deps.related(s);
      if (!related || related.length === 0) return OPAQUE;
      return related.length === 1 ? this.lineage(related[0]) : mergeLineages(related.map((r) => this.lineage(r)));
    }
    if (s.nodeType === 'ParseError') return OPAQUE;
    if (s.facts.length === 0 && s.nodeType === 'TransactionStmt') return CLEAN;
    return this.parseLineage(s.text);
  }

  /**
   * Before statements run: a reason to refuse them, and per statement what masking will need.
   * Null when the principal has no masks.
   */
  check(statements: readonly ClassifiedStatement[]): { deny: string | null; masks: StatementMasks[] } | null {
    const view = this.view();
    const options = this.deps.options();
    if (!view || !options) return null;
    const masks: StatementMasks[] = [];
    for (const s of statements) {
      const lineage = this.lineage(s);
      const sqlFromStrings = s.facts.some((f) => f.action === 'call' && SQL_FUNCTIONS.has(f.resource));
      const copyOut = s.facts.some((f) => f.action === 'copy_out');
      const c = checkStatement(view, lineage, options, { copyOut, sqlFromStrings });
      if (c.deny) return { deny: c.deny, masks };
      masks.push({ lineage, redact: c.touchesMasked });
    }
    return { deny: null, masks };
  }

  /** The masks of a result once its RowDescription is known. */
  plan(m: StatementMasks | undefined, fields: readonly FieldDescription[], formats: readonly number[] | null): ColumnMask[] {
    const view = this.view();
    if (!view) return [];
    return planColumns(view, m?.lineage ?? OPAQUE, fields, formats, this.deps.snapshot());
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
    return planColumns(view, m?.lineage ?? OPAQUE, fields, null, snapshot);
  }
}

function mergeLineages(ls: StatementLineage[]): StatementLineage {
  // Several statements the server may hold under one name: every column could be any of them.
  const first = ls[0];
  const same = ls.every((l) => Array.isArray(l.outputs) && Array.isArray(first.outputs) && l.outputs.length === first.outputs.length);
  const out: StatementLineage = { outputs: 'opaque', predicates: new Set(), writesFrom: new Set(), opaque: ls.some((l) => l.opaque), opaqueReasons: [] };
  for (const l of ls) {
    for (const p of l.predicates) out.predicates.add(p);
    for (const w of l.writesFrom) out.writesFrom.add(w);
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
  }
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

