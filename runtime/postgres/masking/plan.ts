// From a principal's masks, a statement's lineage and the server's RowDescription to what the
// gateway does (spec/masking.md §4): refuse the statement before it runs (masked values copied
// into written data; masked columns in predicates when the policy says so; derived outputs
// when the policy says so; SQL run from strings; COPY of masked relations unless the policy
// allows masking the stream), or, once the result's shape is known, which strategy applies to
// which output column.

import type { MaskingOptions, MaskStrategy } from '../../../spec/compiled-policy.ts';
import { stricter, strictestOf } from '../../policy/masks.ts';
import { resolveRelationMasks } from '../../policy/masks.ts';
import type { Principal } from '../../policy/principal.ts';
import type { FieldDescription } from '../protocol/index.ts';
import { lineageCatalog, rowDescriptionSource, typeClassOf, type CatalogSnapshot } from './catalog.ts';
import { alignOutputs, COLUMN_SEPARATOR, columnKey, UNKNOWN_RELATION, type Src, type StatementLineage } from './lineage.ts';
import type { ColumnType } from './strategies.ts';

/** The masks a principal holds on a target, as lookups. */
export interface MaskView {
  /** the principal has at least one mask on the target */
  active: boolean;
  /** the strategy for a source column (`relation\0column`), or null */
  strategyOf(source: string): MaskStrategy | null;
  /** the relation (by key) has a mask on any of its columns */
  relationMasked(relation: string): boolean;
  /** the strictest of all the principal's masks: what an untraceable value gets */
  strictest: MaskStrategy;
}

export function maskView(p: Principal): MaskView {
  const target = p.target;
  let strictest: MaskStrategy | null = null;
  const byRelation = new Map<string, Map<string, MaskStrategy>>();
  for (const relation of target.masks.keys()) {
    const list = resolveRelationMasks(target, relation, p.mask);
    if (list.length === 0) continue;
    const cols = new Map<string, MaskStrategy>();
    for (const m of list) {
      cols.set(m.column, m.strategy);
      strictest = strictest === null ? m.strategy : stricter(strictest, m.strategy);
    }
    byRelation.set(relation, cols);
  }
  return {
    active: byRelation.size > 0,
    strictest: strictest ?? { name: 'redact' },
    relationMasked: (relation) => byRelation.has(relation),
    strategyOf(source) {
      const sep = source.indexOf(COLUMN_SEPARATOR);
      const cols = byRelation.get(source.slice(0, sep));
      if (!cols) return null;
      const column = source.slice(sep + 1);
      // `relation\0*` stands for the whole relation: any mask on it
      if (column === '*') {
        let s: MaskStrategy | null = null;
        for (const m of cols.values()) s = s === null ? m : stricter(s, m);
        return s;
      }
      const own = cols.get(column) ?? null;
      const all = cols.get('*') ?? null;
      if (own && all) return stricter(own, all);
      return own ?? all;
    },
  };
}

function maskedIn(view: MaskView, sources: Iterable<string>): MaskStrategy | null {
  let s: MaskStrategy | null = null;
  for (const src of sources) {
    const m = view.strategyOf(src);
    if (m) s = s === null ? m : stricter(s, m);
  }
  return s;
}

function describeSource(source: string): string {
  return source.replace(COLUMN_SEPARATOR, '.');
}

function firstMasked(view: MaskView, sources: Iterable<string>): string | null {
  for (const s of sources) if (view.strategyOf(s)) return describeSource(s);
  return null;
}

export interface PreCheck {
  /** a reason to refuse the statement, or null */
  deny: string | null;
  /** the statement reads masked columns (or cannot be traced): its error texts are redacted */
  touchesMasked: boolean;
}

export interface StatementKind {
  /** COPY … TO STDOUT */
  copyOut: boolean;
  /** the COPY's ENCODING option, when it has one */
  copyEncoding?: string | null;
  /** calls a function that runs SQL from strings */
  sqlFromStrings: boolean;
}

const UTF8 = /^utf-?8$/i;

/** What must be refused before the statement runs. */
export function checkStatement(view: MaskView, lineage: StatementLineage, options: MaskingOptions, kind: StatementKind): PreCheck {
  const outputs = Array.isArray(lineage.outputs) ? lineage.outputs : [];
  const outputMasked = outputs.some((o) => maskedIn(view, o.sources) !== null);
  const untraceable = lineage.outputs === 'opaque' || outputs.some((o) => o.opaque);
  const touchesMasked = lineage.opaque || untraceable || maskedIn(view, lineage.reads) !== null;
  const refuse = (deny: string): PreCheck => ({ deny, touchesMasked: true });
  if (kind.sqlFromStrings) return refuse('functions that run SQL from strings are refused for an identity with masked columns');
  for (const u of lineage.unmasks) {
    if (u === UNKNOWN_RELATION) return refuse('the statement renames or moves a relation the gateway cannot check for masks now (its catalog snapshot does not have it); its masks would stop masking it');
    const sep = u.indexOf(COLUMN_SEPARATOR);
    const masked = u.endsWith(`${COLUMN_SEPARATOR}*`) ? view.relationMasked(u.slice(0, sep)) : view.strategyOf(u) !== null;
    if (masked) return refuse(`the statement renames or moves ${u.endsWith(`${COLUMN_SEPARATOR}*`) ? `relation ${u.slice(0, sep)}, which has masked columns` : `masked column ${describeSource(u)}`}; its mask would stop masking it`);
  }
  const written = firstMasked(view, lineage.writesFrom);
  if (written) return refuse(`the statement copies masked column ${written} into other data`);
  if (lineage.writesOpaque) return refuse(`the statement writes values the gateway cannot trace (${lineage.opaqueReasons[0] ?? 'opaque'})`);
  if (options.predicates === 'deny') {
    const p = firstMasked(view, lineage.predicates);
    if (p) return refuse(`masked column ${p} is used in a condition, join, grouping or ordering`);
  }
  if (kind.copyOut && (outputMasked || untraceable)) {
    if (options.copy === 'deny') return refuse('COPY of masked columns is refused (the policy does not mask COPY streams)');
    if (kind.copyEncoding && !UTF8.test(kind.copyEncoding)) return refuse(`COPY of masked columns in encoding ${kind.copyEncoding} is refused (the gateway masks UTF8 streams)`);
  }
  if (options.derived === 'deny') {
    for (const o of outputs) {
      const m = maskedIn(view, o.sources);
      // a column passed through unchanged (through views and partitions too) is not derived
      if ((m && (o.span || o.direct === null)) || o.opaque) {
        return refuse(`output ${o.name} is derived from ${o.opaque ? 'values the gateway cannot trace' : `masked column ${firstMasked(view, o.sources)}`}`);
      }
    }
    if (lineage.outputs === 'opaque') return refuse('the statement returns values the gateway cannot trace');
    // a value computed in a subquery or CTE and then dropped can still fail by the value
    const computed = firstMasked(view, lineage.computed);
    if (computed) return refuse(`masked column ${computed} is computed on in the statement (a computation can fail or not by the value)`);
  }
  return { deny: null, touchesMasked };
}

/** One output column's treatment: a strategy and how to produce a valid value of its type. */
export interface ColumnMask {
  index: number;
  strategy: MaskStrategy;
  type: ColumnType;
}

const PARTIAL = new Set(['email', 'keep_first', 'keep_last']);
const REDACT: MaskStrategy = { name: 'redact' };

/** Length limits of text-like types, in characters, from the type and its modifier. */
function maxLengthOf(typeOid: number, typmod: number): number {
  if ((typeOid === 1043 || typeOid === 1042) && typmod > 4) return typmod - 4;
  if (typeOid === 18) return 1; // "char"
  if (typeOid === 19) return 63; // name
  return -1;
}

/**
 * The masks for a result's columns once its RowDescription is known. `formats` are the result
 * format codes of the portal (empty: all text; one: all that; else per column), or null to take
 * each field's own format code (a RowDescription of a simple query or of a described portal).
 */
export function planColumns(
  view: MaskView,
  lineage: StatementLineage,
  fields: readonly FieldDescription[],
  formats: readonly number[] | null,
  snapshot: CatalogSnapshot | null,
): ColumnMask[] {
  if (!view.active) return [];
  // Outputs by field: traced (aligned around spans), none for a statement whose rows are not
  // relation data, else untraceable.
  const traced: Src[] | null =
    lineage.outputs === 'clean'
      ? fields.map(() => ({ sources: new Set<string>(), direct: null, opaque: false }))
      : Array.isArray(lineage.outputs)
        ? alignOutputs(lineage.outputs, fields.length)
        : null;
  const out: ColumnMask[] = [];
  fields.forEach((f, i) => {
    const src: Src = { sources: new Set(), direct: null, opaque: traced === null };
    if (traced) {
      const t = traced[i];
      for (const s of t.sources) src.sources.add(s);
      src.direct = t.direct;
      src.opaque = t.opaque;
    }
    // The server says which column a field passes through; believe it as well.
    const rd = snapshot ? rowDescriptionSource(snapshot, f.tableOid, f.columnNumber) : null;
    if (rd) {
      if (rd.relation.valueHolding) src.opaque = true;
      else if (rd.relation.kind === 'v' || rd.relation.kind === 'm') {
        src.sources.add(columnKey(rd.relation.key, rd.column));
        const vl = lineageCatalog(snapshot!, snapshot!.searchPath).viewLineage(rd.relation);
        const col = vl?.[rd.relation.columns.indexOf(rd.column)];
        if (col) {
          for (const s of col.sources) src.sources.add(s);
          if (col.opaque) src.opaque = true;
        } else src.opaque = true;
      } else {
        src.sources.add(columnKey(rd.relation.key, rd.column));
        for (const r of rd.relation.related) src.sources.add(columnKey(r, rd.column));
      }
    } else if (f.tableOid !== 0 && (!snapshot || !snapshot.byOid.has(f.tableOid))) {
      src.opaque = true; // a relation the snapshot does not know (yet)
    }
    let strategy = maskedIn(view, src.sources);
    if (src.opaque) strategy = strategy ? stricter(strategy, view.strictest) : view.strictest;
    if (!strategy) return;
    // A partial reveal shows parts of the column's own value; of a derived value it could show
    // any part (`reverse(email)` would put the local part where the domain is): redact.
    if (PARTIAL.has(strategy.name) && (src.direct === null || src.opaque)) strategy = REDACT;
    const code = formats === null ? f.format : formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : (formats[i] ?? 0);
    const format = code === 1 ? 1 : 0;
    const cls = typeClassOf(snapshot, f.typeOid);
    const maxLength = maxLengthOf(f.typeOid, f.typeModifier);
    out.push({ index: i, strategy, type: { cls, format, maxLength, pad: f.typeOid === 1042 && maxLength > 0 } });
  });
  return out;
}
