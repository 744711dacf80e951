// The target's catalog as masking needs it: relations (OID, schema, name, kind, columns by
// attribute number), view definitions (followed for lineage), and the types of columns
// (domains to their base types, text-like user types). Loaded by the gateway over its own
// connection, refreshed after DDL; a snapshot is immutable.

import { parseSql } from '../../sql/parser.ts';
import { catalogFunctionAccepts, isComputingBuiltin } from '../../sql/catalog.ts';
import { columnKey, statementLineage, type LineageCatalog, type RelationInfo, type Src } from './lineage.ts';
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
`;

/** Builds a snapshot from the rows of CATALOG_SQL. */
export function snapshotFromRows(rows: (string | null)[][], searchPath: readonly string[]): CatalogSnapshot {
  const byOid = new Map<number, CatalogRelation>();
  const userTypes: { oid: number; category: string; base: number; typtype: string }[] = [];
  const columns: [number, number, string, number, number][] = [];
  for (const r of rows) {
    if (r[0] === 'r') {
      const oid = Number(r[1]);
      const schema = r[2] ?? '';
      const name = r[3] ?? '';
      byOid.set(oid, { oid, schema, name, key: relationKey(schema, name), kind: r[4] ?? 'r', columns: [], attnums: new Map(), columnTypes: [], definition: r[5] ?? null });
    } else if (r[0] === 'a') columns.push([Number(r[1]), Number(r[2]), r[3] ?? '', Number(r[4] ?? 0), Number(r[5] ?? -1)]);
    else if (r[0] === 't') userTypes.push({ oid: Number(r[1]), category: r[2] ?? '', base: Number(r[3] ?? 0), typtype: r[4] ?? '' });
  }
  for (const [relid, attnum, name, typeOid, typmod] of columns) {
    const rel = byOid.get(relid);
    if (!rel) continue;
    (rel.columns as string[]).push(name);
    rel.attnums.set(attnum, name);
    rel.columnTypes.push({ oid: typeOid, typmod });
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

/** The catalog as lineage sees it in a session with this search path. */
export function lineageCatalog(snapshot: CatalogSnapshot, searchPath: readonly string[]): LineageCatalog {
  const explicitCatalog = searchPath.includes('pg_catalog');
  const path = explicitCatalog ? searchPath : ['pg_catalog', ...searchPath];
  const cat: LineageCatalog = {
    relation: (schema, name) => snapshot.byKey.get(relationKey(schema, name)) ?? null,
    resolveRelation(name) {
      for (const schema of path) {
        const rel = snapshot.byKey.get(relationKey(schema, name));
        if (rel) return rel;
      }
      return null;
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
          if (Array.isArray(l.outputs) && !l.opaque) result = l.outputs;
          else if (Array.isArray(l.outputs)) result = l.outputs.map((o) => ({ ...o, opaque: true }));
        }
      }
      snapshot.viewLineageCache.set(view.key, result);
      return result;
    },
    isComputingFunction(funcname, argc) {
      if (funcname.length === 2) return funcname[0] === 'pg_catalog' && isComputingBuiltin(`pg_catalog.${funcname[1]}`);
      if (funcname.length !== 1) return false;
      return catalogFunctionAccepts(funcname[0], argc) && isComputingBuiltin(`pg_catalog.${funcname[0]}`);
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
