// The built-in named sets and catalog facts the compiler resolves names against
// (spec/data/builtin-sets.json and spec/data/pg-catalog.json).

export type BuiltinSetKind = 'relation' | 'function' | 'setting';

export interface BuiltinSet {
  kind: BuiltinSetKind;
  /** canonical resource keys */
  members: string[];
  doc: string;
}

export interface BuiltinData {
  sets: Map<string, BuiltinSet>;
  /** names of relations in pg_catalog (unqualified names resolve there first) */
  catalogRelations: Set<string>;
  /** names of functions in pg_catalog */
  catalogFunctions: Set<string>;
  /** relation keys no wildcard grants (secrets, other sessions' data) */
  secretRelations: Set<string>;
  /** settings no wildcard lets anyone SET (role, session_authorization, ...) */
  privilegedSettings: Set<string>;
  /** settings no wildcard lets anyone SHOW (connection strings, commands, server paths) */
  secretSettings: Set<string>;
  /** settings that change how the server reads statement text: never allowed */
  textSettings: Set<string>;
  /** schemas where wildcards grant nothing (only explicit names do) */
  systemSchemas: Set<string>;
}
