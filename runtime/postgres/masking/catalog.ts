// The target's catalog as masking needs it: relations (OID, schema, name, kind, columns by
// attribute number), view definitions (followed for lineage), and the types of columns
// (domains to their base types, text-like user types). Loaded by the gateway over its own
// connection, refreshed after DDL; a snapshot is immutable.

import { parseSql } from '../../sql/parser.ts';
import { catalogFunctionAccepts, isComputingBuiltin, isSetReturningBuiltin } from '../../sql/catalog.ts';
import { alignOutputs, columnKey, statementLineage, type LineageCatalog, type RelationInfo, type Src } from './lineage.ts';
import { builtinTypeClass, type TypeClass } from './strategies.ts';

export interface CatalogRelation extends RelationInfo {
  oid: number;
  schema: string;
  name: string;
  /** attribute number → column name (dropped columns absent) */
  attnums: Map<number, string>;
  /** type OID and type modifier of each column, in column order */
  columnTypes: { oid: number; typmod: number }[];
  /** the view's definition (views and materialized views) */
  definition: string | null;
  /** keys of every partition or inheritance ancestor and descendant */
  related: string[];
  /** holds values of other relations' columns or other sessions' statements */
  valueHolding: boolean;
}

export interface CatalogSnapshot {
  loadedAt: number;
  /** the search path the snapshot was taken with (view definitions print names relative to it) */
  searchPath: readonly string[];
  byOid: Map<number, CatalogRelation>;
  byKey: Map<string, CatalogRelation>;
  /** type OID → class, for user types and domains (built-ins are known without the catalog) */
  types: Map<number, TypeClass>;
  /** lineage of views, by relation key, computed on first use */
  viewLineageCache: Map<string, Src[] | null>;
}

const BARE = /^[a-z_][a-z0-9_$]*$/;
const keyPart = (s: string) => (BARE.test(s) ? s : `"${s.replaceAll('"', '""')}"`);
export const relationKey = (schema: string, name: string) => `${keyPart(schema)}.${keyPart(name)}`;

/** The SQL the gateway runs to take a snapshot (one round trip). */
export const CATALOG_SQL = `
SELECT 'r', c.oid::text, n.nspname, c.relname, c.relkind::text,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
   AND n.nspname <> 'pg_toast' AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%';
SELECT 'a', a.attrelid::text, a.attnum::text, a.attname, a.atttypid::text, a.atttypmod::text
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
 ORDER BY a.attrelid, a.attnum;
SELECT 't', t.oid::text, t.typcategory::text, t.typbasetype::text, t.typtype::text, NULL
  FROM pg_catalog.pg_type t
 WHERE t.oid >= 16384 OR t.typtype = 'd';
SELECT 'i', i.inhrelid::text, i.inhparent::text, NULL, NULL, NULL FROM pg_catalog.pg_inherits i;
`;

/**
 * Relations whose rows hold values of other relations' columns (statistics: most common values,
 * histograms) or other sessions' statements (query texts with their literals): untraceable for
 * a masked identity, whatever their definition says.
 */
const VALUE_HOLDING = new Set([
  'pg_catalog.pg_statistic',
  'pg_catalog.pg_statistic_ext_data',
  'pg_catalog.pg_stats',
  'pg_catalog.pg_stats_ext',
  'pg_catalog.pg_stats_ext_exprs',
  'pg_catalog.pg_stat_activity',
  'pg_catalog.pg_locks',
]);
const VALUE_HOLDING_NAMES = new Set(['pg_stat_statements', 'pg_stat_statements_info', 'pg_stat_monitor']);

/** Builds a snapshot from the rows of CATALOG_SQL. */
export function snapshotFromRows(rows: (string | null)[][], searchPath: readonly string[]): CatalogSnapshot {
  const byOid = new Map<number, CatalogRelation>();
  const userTypes: { oid: number; category: string; base: number; typtype: string }[] = [];
  const columns: [number, number, string, number, number][] = [];
  const inherits: [number, number][] = [];
  for (const r of rows) {
    if (r[0] === 'r') {
      const oid = Number(r[1]);
      const schema = r[2] ?? '';
      const name = r[3] ?? '';
      const key = relationKey(schema, name);
      const valueHolding = VALUE_HOLDING.has(key) || VALUE_HOLDING_NAMES.has(name);
      byOid.set(oid, { oid, schema, name, key, kind: r[4] ?? 'r', columns: [], attnums: new Map(), columnTypes: [], definition: r[5] ?? null, related: [], valueHolding });
    } else if (r[0] === 'i') inherits.push([Number(r[1]), Number(r[2])]);
    else if (r[0] === 'a') columns.push([Number(r[1]), Number(r[2]), r[3] ?? '', Number(r[4] ?? 0), Number(r[5] ?? -1)]);
    else if (r[0] === 't') userTypes.push({ oid: Number(r[1]), category: r[2] ?? '', base: Number(r[3] ?? 0), typtype: r[4] ?? '' });
  }
  for (const [relid, attnum, name, typeOid, typmod] of columns) {
    const rel = byOid.get(relid);
    if (!rel) continue;
    (rel.columns as string[]).push(name);
    rel.attnums.set(attnum, name);
    rel.columnTypes.push({ oid: typeOid, typmod });
  }
  // Partitions and inheritance children: their rows are their ancestors' rows, and an
  // ancestor's rows include theirs, so a mask on either side covers both.
  const parents = new Map<number, number[]>();
  const children = new Map<number, number[]>();
  for (const [child, parent] of inherits) {
    parents.set(child, [...(parents.get(child) ?? []), parent]);
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const closure = (start: number, edges: Map<number, number[]>): number[] => {
    const seen = new Set<number>();
    const todo = [...(edges.get(start) ?? [])];
    while (todo.length > 0) {
      const n = todo.pop()!;
      if (seen.has(n) || n === start) continue;
      seen.add(n);
      todo.push(...(edges.get(n) ?? []));
    }
    return [...seen];
  };
  for (const rel of byOid.values()) {
    if (!parents.has(rel.oid) && !children.has(rel.oid)) continue;
    for (const o of [...closure(rel.oid, parents), ...closure(rel.oid, children)]) {
      const other = byOid.get(o);
      if (other) rel.related.push(other.key);
    }
  }
  const types = new Map<number, TypeClass>();
  const byTypeOid = new Map(userTypes.map((t) => [t.oid, t]));
  const classOf = (oid: number, seen = 0): TypeClass => {
    const b = builtinTypeClass(oid);
    if (b) return b;
    const t = byTypeOid.get(oid);
    if (!t || seen > 20) return 'other';
    if (t.typtype === 'd' && t.base) return classOf(t.base, seen + 1);
    return t.category === 'S' ? 'text' : 'other';
  };
  for (const t of userTypes) types.set(t.oid, classOf(t.oid));
  const byKey = new Map<string, CatalogRelation>();
  for (const rel of byOid.values()) byKey.set(rel.key, rel);
  return { loadedAt: Date.now(), searchPath, byOid, byKey, types, viewLineageCache: new Map() };
}

export function typeClassOf(snapshot: CatalogSnapshot | null, oid: number): TypeClass {
  return builtinTypeClass(oid) ?? snapshot?.types.get(oid) ?? 'other';
}

export interface SessionNames {
  /**
   * the search path is exactly `searchPath`, in that order (false once the session has set
   * another one: the gateway then knows the schemas, not their order)
   */
  exactPath: boolean;
  /** unqualified names of temporary relations the session created (they shadow the catalog's) */
  temporary: ReadonlySet<string>;
}

const PINNED: SessionNames = { exactPath: true, temporary: new Set() };

/** The catalog as lineage sees it in a session with this search path. */
/** The pg_catalog name a call of `funcname` is taken for (`f` or `pg_catalog.f`), or null. */
function builtinName(funcname: readonly string[]): string | null {
  if (funcname.length === 2) return funcname[0] === 'pg_catalog' ? funcname[1] : null;
  return funcname.length === 1 ? funcname[0] : null;
}

export function lineageCatalog(snapshot: CatalogSnapshot, searchPath: readonly string[], session: SessionNames = PINNED): LineageCatalog {
  const explicitCatalog = searchPath.includes('pg_catalog');
  const path = explicitCatalog ? searchPath : ['pg_catalog', ...searchPath];
  const cat: LineageCatalog = {
    relation: (schema, name) => (schema === 'pg_temp' || schema.startsWith('pg_temp_') ? null : (snapshot.byKey.get(relationKey(schema, name)) ?? null)),
    resolveRelation(name) {
      // A temporary relation comes first in every search path, and the snapshot never has it.
      if (session.temporary.has(name)) return null;
      let found: CatalogRelation | null = null;
      for (const schema of path) {
        const rel = snapshot.byKey.get(relationKey(schema, name));
        if (!rel) continue;
        if (session.exactPath || schema === 'pg_catalog') return rel;
        // The order of the schemas is unknown: a name two of them hold is ambiguous.
        if (found) return null;
        found = rel;
      }
      return found;
    },
    viewLineage(view) {
      if (snapshot.viewLineageCache.has(view.key)) return snapshot.viewLineageCache.get(view.key)!;
      snapshot.viewLineageCache.set(view.key, null); // a view that refers to itself stays untraceable
      const rel = snapshot.byKey.get(view.key);
      let result: Src[] | null = null;
      if (rel?.definition) {
        const parsed = parseSql(rel.definition);
        const stmt = parsed.tree?.stmts?.[0]?.stmt;
        if (stmt) {
          // pg_get_viewdef qualifies names that the snapshot's search path would not find.
          const l = statementLineage(stmt, lineageCatalog(snapshot, snapshot.searchPath));
          const aligned = Array.isArray(l.outputs) ? alignOutputs(l.outputs, rel.columns.length) : null;
          if (aligned && !l.opaque) result = aligned;
          else if (aligned) result = aligned.map((o) => ({ ...o, opaque: true }));
        }
      }
      snapshot.viewLineageCache.set(view.key, result);
      return result;
    },
    isSetReturning(funcname) {
      const name = builtinName(funcname);
      return name !== null && isSetReturningBuiltin(name);
    },
    isComputingFunction(funcname, argc) {
      const name = builtinName(funcname);
      if (name === null || (funcname.length === 1 && !catalogFunctionAccepts(name, argc))) return false;
      return isComputingBuiltin(`pg_catalog.${name}`);
    },
  };
  return cat;
}

/** The source column a RowDescription field names (table OID, attribute number), if any. */
export function rowDescriptionSource(snapshot: CatalogSnapshot, tableOid: number, attnum: number): { relation: CatalogRelation; column: string } | null {
  if (tableOid === 0 || attnum <= 0) return null;
  const rel = snapshot.byOid.get(tableOid);
  const column = rel?.attnums.get(attnum);
  return rel && column !== undefined ? { relation: rel, column } : null;
}

export { columnKey };
