// Resource keys (runtime/sql/facts.ts) and name resolution as PostgreSQL does it.
//
// The parse tree has already folded unquoted identifiers to lower case and decoded U&"…"
// escapes, so names arrive here exactly as the server will look them up.
//
// Unqualified names are resolved against the session's search path, in PostgreSQL's order:
// `pg_catalog` first unless the path names it explicitly (then at its place). Where the
// classifier cannot know which schema holds an object, it names every candidate, so every
// candidate must be allowed.
//
// pg_temp: for relations PostgreSQL searches the session's temporary schema even before
// pg_catalog. The classifier does not add `pg_temp` candidates for unqualified names unless the
// path names `pg_temp` explicitly: a temporary table can only exist if the session created it
// (a `create` fact on `pg_temp.name`), and reading or writing it acts on the session's own
// data. Functions and operators are never looked up in pg_temp unless qualified, as in
// PostgreSQL. Schema-qualified names (`pg_temp.t`, `pg_temp_3.t`) are taken as written.

import type { ClassifyContext } from './facts.ts';
import {
  catalogFunctionAccepts,
  isCatalogFunction,
  PG_CATALOG_OPERATORS,
  PG_CATALOG_RELATIONS,
} from './catalog.ts';

/** Whether a name matches [a-z_][a-z0-9_$]* (written bare). */
function isBare(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  const c0 = name.charCodeAt(0);
  if (!((c0 >= 97 && c0 <= 122) || c0 === 95)) return false;
  for (let i = 1; i < n; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 36)) return false;
  }
  return true;
}

/** An identifier as PostgreSQL's quote_ident writes it (keywords aside). */
export function quoteIdent(name: string): string {
  return isBare(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN - 1), cut at a character. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * An identifier as the server truncates it. The parser already truncates identifiers in the
 * tree; names taken from string literals (regclass text, name arguments) must be cut here.
 */
export function truncateIdentifier(name: string): string {
  if (name.length <= MAX_IDENTIFIER_BYTES / 3 || Buffer.byteLength(name, 'utf8') <= MAX_IDENTIFIER_BYTES) return name;
  let bytes = 0;
  let i = 0;
  for (const ch of name) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > MAX_IDENTIFIER_BYTES) break;
    bytes += n;
    i += ch.length;
  }
  return name.slice(0, i);
}

/** `schema.name`, each part quoted. */
export function qualifiedKey(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** Any number of name parts, each quoted, joined with dots. */
export function dottedKey(parts: readonly string[]): string {
  return parts.map(quoteIdent).join('.');
}

/** A global object: `kind name`, e.g. `schema analytics`, `role "Bob"`. */
export function globalKey(kind: string, name: string): string {
  return `${kind} ${quoteIdent(name)}`;
}

/** The schemas searched for unqualified names of relations, functions, operators, in order. */
function searchOrder(ctx: ClassifyContext): readonly string[] {
  const path = schemasOf(ctx);
  return path.includes('pg_catalog') ? path : ['pg_catalog', ...path];
}

/** The search path with `$user` replaced by the current role's name when the context gives it. */
export function schemasOf(ctx: ClassifyContext): readonly string[] {
  const path = ctx.searchPath;
  if (ctx.user === undefined || !path.includes('$user')) return path;
  return path.map((s) => (s === '$user' ? ctx.user! : s));
}

/** Names PostgreSQL reserves for system objects; a newer server may have them in pg_catalog. */
function maybeNewerBuiltin(name: string): boolean {
  return name.startsWith('pg_');
}

/**
 * Candidate keys of a relation reference. `schema` undefined: unqualified.
 * Resolution stops at pg_catalog when the name is a pg_catalog relation.
 */
export function relationCandidates(schema: string | undefined, name: string, ctx: ClassifyContext): string[] {
  if (schema !== undefined) return [qualifiedKey(schema, name)];
  const out: string[] = [];
  for (const s of searchOrder(ctx)) {
    if (s === 'pg_catalog') {
      if (PG_CATALOG_RELATIONS.has(name)) {
        out.push(qualifiedKey('pg_catalog', name));
        return out;
      }
      if (maybeNewerBuiltin(name)) out.push(qualifiedKey('pg_catalog', name));
      continue;
    }
    out.push(qualifiedKey(s, name));
  }
  return out;
}

/** Candidate keys of a schema-scoped object that is not a relation or function (types, ...). */
export function objectCandidates(schema: string | undefined, name: string, ctx: ClassifyContext): string[] {
  if (schema !== undefined) return [qualifiedKey(schema, name)];
  return schemasOf(ctx).filter((s) => s !== 'pg_catalog' && s !== 'pg_temp').map((s) => qualifiedKey(s, name));
}

/** Candidate keys of a new object created under an unqualified name. */
export function creationCandidates(schema: string | undefined, name: string, ctx: ClassifyContext, temp = false): string[] {
  if (schema !== undefined) return [qualifiedKey(schema, name)];
  if (temp) return [qualifiedKey('pg_temp', name)];
  return schemasOf(ctx).map((s) => qualifiedKey(s, name));
}

/**
 * Candidate keys of a function call. Unqualified: the search path in order; at pg_catalog the
 * search ends when pg_catalog has a function of that name accepting `argc` arguments (counting
 * defaults and variadic parameters). pg_temp is never searched for functions.
 */
export function functionCandidates(
  schema: string | undefined,
  name: string,
  argc: number,
  ctx: ClassifyContext,
): string[] {
  if (schema !== undefined) return [qualifiedKey(schema, name)];
  const out: string[] = [];
  let catalogPossible = false;
  for (const s of searchOrder(ctx)) {
    if (s === 'pg_temp') continue;
    if (s === 'pg_catalog') {
      if (catalogFunctionAccepts(name, argc)) {
        out.push(qualifiedKey('pg_catalog', name));
        return out;
      }
      // Not resolvable in this catalog; a newer server might be able to.
      catalogPossible = isCatalogFunction(name) || maybeNewerBuiltin(name);
      continue;
    }
    out.push(qualifiedKey(s, name));
  }
  if (catalogPossible) out.push(qualifiedKey('pg_catalog', name));
  return out;
}

/**
 * Candidate keys of a function or procedure named in DDL or GRANT (`DROP FUNCTION f(int)`).
 * `argc` null: the arguments were not given, any function of that name.
 */
export function routineCandidates(schema: string | undefined, name: string, argc: number | null, ctx: ClassifyContext): string[] {
  if (schema !== undefined) return [qualifiedKey(schema, name)];
  if (argc !== null) return functionCandidates(undefined, name, argc, ctx);
  const out: string[] = [];
  for (const s of searchOrder(ctx)) {
    if (s === 'pg_temp') continue;
    if (s === 'pg_catalog') {
      if (isCatalogFunction(name)) {
        out.push(qualifiedKey('pg_catalog', name));
        return out;
      }
      continue;
    }
    out.push(qualifiedKey(s, name));
  }
  return out;
}

/** Splits a `schema.name` key into its two parts as written (quoted); null for other keys. */
export function splitKey(key: string): [string, string] | null {
  let i = 0;
  if (key.startsWith('"')) {
    i = 1;
    while (i < key.length) {
      if (key[i] === '"') {
        if (key[i + 1] === '"') {
          i += 2;
          continue;
        }
        break;
      }
      i++;
    }
    i++;
  } else {
    while (i < key.length && key[i] !== '.') i++;
  }
  if (key[i] !== '.') return null;
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Candidate keys of an operator: the search path in order, ending at pg_catalog when it has the name. */
export function operatorCandidates(schema: string | undefined, name: string, ctx: ClassifyContext): string[] {
  if (schema !== undefined) return [qualifiedKey(schema, name)];
  const out: string[] = [];
  for (const s of searchOrder(ctx)) {
    if (s === 'pg_temp') continue;
    if (s === 'pg_catalog') {
      if (PG_CATALOG_OPERATORS.has(name)) {
        out.push(qualifiedKey('pg_catalog', name));
        return out;
      }
      continue;
    }
    out.push(qualifiedKey(s, name));
  }
  return out;
}
