// What the classifier knows about the server's built-ins: spec/data/pg-catalog.json (generated
// from a real server) and the curated sets of spec/data/builtin-sets.json.

import pgCatalog from '../../spec/data/pg-catalog.json' with { type: 'json' };
import builtinSets from '../../spec/data/builtin-sets.json' with { type: 'json' };

interface NamedSetData {
  doc: string;
  members?: Record<string, string>;
  union?: string[];
}

type Section = Record<string, NamedSetData>;

/** Members of a named set of a section of builtin-sets.json, following unions. */
export function setMembers(section: 'relations' | 'functions' | 'settings', name: string): string[] {
  const sec = (builtinSets as unknown as Record<string, Section>)[section]!;
  const out = new Set<string>();
  const visit = (n: string, seen: Set<string>): void => {
    const set = sec[n];
    if (!set || seen.has(n)) return;
    seen.add(n);
    for (const m of Object.keys(set.members ?? {})) out.add(m);
    for (const part of set.union ?? []) visit(part, seen);
  };
  visit(name, new Set());
  return [...out];
}

export const CATALOG_VERSION: string = pgCatalog.server_version;
export const CATALOG_VERSION_NUM: number = pgCatalog.server_version_num;

/** Names of the relations of pg_catalog. */
export const PG_CATALOG_RELATIONS: ReadonlySet<string> = new Set(
  pgCatalog.relations.filter((r) => r.schema === 'pg_catalog').map((r) => r.name),
);

/** Relation keys (`schema.name`) of pg_catalog and information_schema. */
export const CATALOG_RELATION_KEYS: ReadonlySet<string> = new Set(pgCatalog.relations.map((r) => `${r.schema}.${r.name}`));

interface Arity {
  min: number;
  max: number;
}

const arities = new Map<string, Arity[]>();
for (const f of pgCatalog.functions) {
  let list = arities.get(f.name);
  if (!list) arities.set(f.name, (list = []));
  list.push({ min: f.nargs - f.ndefaults, max: f.variadic ? Infinity : f.nargs });
}

const setReturning = new Set(pgCatalog.functions.filter((f) => (f as { retset?: boolean }).retset === true).map((f) => f.name));

/** Whether a pg_catalog function of this name returns a set (generate_series, unnest, …): its arguments decide how many rows there are. */
export function isSetReturningBuiltin(name: string): boolean {
  return setReturning.has(name);
}

/** Whether pg_catalog has a function of this name. */
export function isCatalogFunction(name: string): boolean {
  return arities.has(name);
}

/** Whether pg_catalog has a function of this name that accepts `argc` arguments. */
export function catalogFunctionAccepts(name: string, argc: number): boolean {
  const list = arities.get(name);
  if (list === undefined) return false;
  for (const a of list) if (argc >= a.min && argc <= a.max) return true;
  return false;
}

/** Operator names of pg_catalog. */
export const PG_CATALOG_OPERATORS: ReadonlySet<string> = new Set(pgCatalog.operators);

/** `pg_catalog.name` keys of every function in dangerous_functions. */
export const DANGEROUS_FUNCTIONS: ReadonlySet<string> = new Set(setMembers('functions', 'dangerous_functions'));

/** Settings that change how the server reads statement text (lower case). */
export const TEXT_SETTINGS: ReadonlySet<string> = new Set(setMembers('settings', 'text_settings'));

/** Every setting the server has, lower case (including those hidden from pg_settings). */
export const KNOWN_SETTINGS: ReadonlySet<string> = new Set(pgCatalog.settings.map((s) => s.name.toLowerCase()));

/**
 * Whether a function key is a computing built-in: a pg_catalog function the catalog knows that
 * is in none of the dangerous sets. Its call belongs to the statement and is no fact.
 */
export function isComputingBuiltin(key: string): boolean {
  if (!key.startsWith('pg_catalog.')) return false;
  const name = key.slice('pg_catalog.'.length);
  return arities.has(name) && !DANGEROUS_FUNCTIONS.has(key);
}
