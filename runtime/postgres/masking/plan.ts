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
import { COLUMN_SEPARATOR, type OutputColumn, type Src, type StatementLineage } from './lineage.ts';
import type { ColumnType } from './strategies.ts';

/** The masks a principal holds on a target, as lookups. */
export interface MaskView {
  /** the principal has at least one mask on the target */
  active: boolean;
  /** the strategy for a source column (`relation\0column`), or null */
  strategyOf(source: string): MaskStrategy | null;
  /** the strictest of all the principal's masks: what an untraceable value gets */
  strictest: MaskStrategy;
}

export function maskView(p: Principal): MaskView {
  const target = p.target;
  const all: MaskStrategy[] = [];
  const byRelation = new Map<string, Map<string, MaskStrategy>>();
  for (const relation of target.masks.keys()) {
    const list = resolveRelationMasks(target, relation, p.mask);
    if (list.length === 0) continue;
    const cols = new Map<string, MaskStrategy>();
    for (const m of list) {
      cols.set(m.column, m.strategy);
      all.push(m.strategy);
    }
    byRelation.set(relation, cols);
  }
  return {
    active: byRelation.size > 0,
    strictest: all.length > 0 ? strictestOf([...all, { name: 'redact' }]) : { name: 'redact' },
    strategyOf(source) {
      const sep = source.indexOf(COLUMN_SEPARATOR);
      const cols = byRelation.get(source.slice(0, sep));
      if (!cols) return null;
      const own = cols.get(source.slice(sep + 1)) ?? null;
      const all = cols.get('*') ?? null;
      if (own && all) return stricter(own, all);
      return own ?? all;
    },
  };
}

function maskedIn(view: MaskView, sources: Iterable<string>): MaskStrategy | null {
  const found: MaskStrategy[] = [];
  for (const src of sources) {
    const m = view.strategyOf(src);
    if (m) found.push(m);
  }
  return found.length > 0 ? strictestOf(found) : null;
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

/** What must be refused before the statement runs. */
export function checkStatement(
  view: MaskView,
  lineage: StatementLineage,
  options: MaskingOptions,
  kind: { copyOut: boolean; sqlFromStrings: boolean },
): PreCheck {
  const outputs = Array.isArray(lineage.outputs) ? lineage.outputs : [];
  const outputMasked = outputs.some((o) => maskedIn(view, o.sources) !== null);
  const touchesMasked =
    lineage.opaque ||
    outputMasked ||
    lineage.outputs === 'opaque' ||
    maskedIn(view, lineage.predicates) !== null ||
    maskedIn(view, lineage.writesFrom) !== null ||
    outputs.some((o) => o.opaque);
  if (kind.sqlFromStrings) return { deny: 'functions that run SQL from strings are refused for an identity with masked columns', touchesMasked: true };
  const written = firstMasked(view, lineage.writesFrom);
  if (written) return { deny: `the statement copies masked column ${written} into other data`, touchesMasked: true };
  if (lineage.writesFrom.size > 0 && lineage.opaque) {
    return { deny: `the statement writes values the gateway cannot trace (${lineage.opaqueReasons[0] ?? 'opaque'})`, touchesMasked: true };
  }
  if (options.predicates === 'deny') {
    const p = firstMasked(view, lineage.predicates);
    if (p) return { deny: `masked column ${p} is used in a condition, join, grouping or ordering`, touchesMasked: true };
  }
  if (kind.copyOut && options.copy === 'deny' && (outputMasked || lineage.outputs === 'opaque' || outputs.some((o) => o.opaque))) {
    return { deny: 'COPY of masked columns is refused (the policy does not mask COPY streams)', touchesMasked: true };
  }
  if (options.derived === 'deny') {
    for (const o of outputs) {
      const m = maskedIn(view, o.sources);
      if ((m && !(o.direct && o.sources.size === 1)) || o.opaque) {
        return { deny: `output ${o.name} is derived from ${o.opaque ? 'values the gateway cannot trace' : `masked column ${firstMasked(view, o.sources)}`}`, touchesMasked: true };
      }
    }
    if (lineage.outputs === 'opaque') return { deny: 'the statement returns values the gateway cannot trace', touchesMasked: true };
  }
  return { deny: null, touchesMasked };
}

/** One output column's treatment: a strategy and how to produce a valid value of its type. */
export interface ColumnMask {
  index: number;
  strategy: MaskStrategy;
  type: ColumnType;
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
  if (!view.active || lineage.outputs === 'clean') return [];
  const traced = Array.isArray(lineage.outputs) && lineage.outputs.length === fields.length ? lineage.outputs : null;
  const out: ColumnMask[] = [];
  fields.forEach((f, i) => {
    const src: Src = { sources: new Set(), direct: null, opaque: traced === null };
    if (traced) {
      const t: OutputColumn = traced[i];
      for (const s of t.sources) src.sources.add(s);
      src.direct = t.direct;
      src.opaque = t.opaque;
    }
    // The server says which column a field passes through; believe it as well.
    const rd = snapshot ? rowDescriptionSource(snapshot, f.tableOid, f.columnNumber) : null;
    if (rd) {
      if (rd.relation.kind === 'v' || rd.relation.kind === 'm') {
        const vl = lineageCatalog(snapshot!, snapshot!.searchPath).viewLineage(rd.relation);
        const col = vl?.[rd.relation.columns.indexOf(rd.column)];
        if (col) {
          for (const s of col.sources) src.sources.add(s);
          if (col.opaque) src.opaque = true;
        } else src.opaque = true;
      } else src.sources.add(`${rd.relation.key}${COLUMN_SEPARATOR}${rd.column}`);
    } else if (f.tableOid !== 0 && snapshot && !snapshot.byOid.has(f.tableOid)) {
      src.opaque = true; // a relation the snapshot does not know yet
    }
    let strategy = maskedIn(view, src.sources);
    if (src.opaque) strategy = strategy ? stricter(strategy, view.strictest) : view.strictest;
    if (!strategy) return;
    const code = formats === null ? f.format : formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : (formats[i] ?? 0);
    const format = code === 1 ? 1 : 0;
    const cls = typeClassOf(snapshot, f.typeOid);
    const maxLength = (f.typeOid === 1043 || f.typeOid === 1042) && f.typeModifier > 4 ? f.typeModifier - 4 : -1;
    out.push({ index: i, strategy, type: { cls, format, maxLength } });
  });
  return out;
}
