// What the classifier says about SQL text: its statements, and each statement as a set of
// facts, i.e. (action, resource) pairs. The decision function needs every fact allowed.
// spec/facts.md defines the facts of every statement kind (the normative table); runtime/sql/
// classify.ts produces them.

/**
 * One thing a statement does.
 *
 * `action` is an action of the postgres kind in spec/data/actions.json, or `forbidden`:
 * the fact the classifier emits for whatever it cannot or must not let through (a parse
 * error, a node kind it does not understand, a setting that changes how the server reads
 * text). No rule can allow `forbidden`.
 *
 * `resource` is the canonical key of the thing acted on:
 *   relation, function, schema-scoped object: `schema.name`, each part written as PostgreSQL's
 *       quote_ident would (bare when it matches [a-z_][a-z0-9_$]* and is not empty; otherwise
 *       double-quoted with `"` doubled): `public.orders`, `public."Order Items"`
 *   global object (DDL on schemas, roles, databases, ...): `kind name`, e.g. `schema analytics`,
 *       `role bob`, `database shop`, `extension pgcrypto`, with the name quoted the same way
 *   setting: the setting's name in lower case (`search_path`, `role`)
 *   channel, language: the identifier, quoted the same way
 *   file, program: the string as written in the statement
 *   none: the empty string
 */
export interface Fact {
  action: string;
  resource: string;
  /** update / delete: the statement may touch every row (no WHERE, or one that bounds nothing) */
  unbounded?: boolean;
  /** DDL: the kind of object (`table`, `index`, `view`, `function`, `schema`, `role`, ...) */
  objectKind?: string;
  /** for `forbidden` facts, why; otherwise an optional note for explain output */
  detail?: string;
}

/**
 * Session-level effects the gateway must track, read off the statement, in order. They are
 * what the statement does when it runs now (not what a view, rule or function it defines will
 * do); `set` from set_config() is reported only when its arguments are literals.
 */
export type SessionEffect =
  | { kind: 'prepare'; name: string; statement: ClassifiedStatement }
  | { kind: 'execute'; name: string }
  | { kind: 'deallocate'; name: string | null } // null: DEALLOCATE ALL
  | { kind: 'declare'; name: string }
  | { kind: 'fetch'; name: string | null } // FETCH / MOVE; null: the name was not a literal
  | { kind: 'close'; name: string | null } // CLOSE; null: CLOSE ALL
  | { kind: 'set'; setting: string; value: string | null; local: boolean } // null: RESET / DEFAULT
  | { kind: 'reset_all' }
  | { kind: 'discard'; what: string } // ALL, PLANS, SEQUENCES, TEMP
  | { kind: 'listen'; channel: string | null } // null: UNLISTEN *
  | { kind: 'unlisten'; channel: string | null }
  /**
   * The rows of relation `from` become reachable as relation `as`: a rename or SET SCHEMA (each
   * candidate name with its new one; a schema's rename as `old.*` → `new.*`), INHERIT (the
   * child's rows as the parent), ATTACH PARTITION. The decision refuses it when the identity may
   * do more with the rows under the new name than under the old (runtime/policy/decide.ts).
   */
  | { kind: 'reach'; from: string; as: string }
  /**
   * The values of column `from` of `relation` are reached as its column `as` (RENAME COLUMN):
   * masks are by column name, so the decision refuses it when a mask of the old name would not
   * hold under the new one (runtime/policy/decide.ts).
   */
  | { kind: 'reach_column'; relation: string; from: string; as: string };

export interface ClassifiedStatement {
  /** the statement's text, trimmed of surrounding whitespace and the final semicolon */
  text: string;
  /** offset and length of the statement in the classified text */
  location: number;
  length: number;
  /** the parse node type of the statement, e.g. `SelectStmt`, or `ParseError` */
  nodeType: string;
  /** de-duplicated, in first-seen order */
  facts: Fact[];
  /** SELECT (or a statement whose top level reads rows) has LIMIT or FETCH FIRST */
  limited: boolean;
  /** libpg_query's fingerprint of the statement ('' when it does not parse); computed when first read */
  fingerprint: string;
  effects: SessionEffect[];
}

export interface Classification {
  statements: ClassifiedStatement[];
  /** set when the text does not parse; statements then holds one statement with a forbidden fact */
  error?: { message: string; position: number };
}

/** What the classifier needs to know about the session the SQL runs in. */
export interface ClassifyContext {
  /**
   * Schemas searched for unqualified names, in order, after the implicit `pg_catalog`
   * (which PostgreSQL searches first unless the path names it). Default: ['public'].
   */
  searchPath: readonly string[];
  /** statements the session prepared earlier (SQL PREPARE or protocol Parse), by name */
  prepared?: (name: string) => ClassifiedStatement | undefined;
  /**
   * The current role's name: a `$user` entry of searchPath stands for the schema of that name.
   * Without it `$user` stays a schema literally named `$user` (a candidate no policy allows).
   */
  user?: string;
  /**
   * The search path RESET, SET … TO DEFAULT, RESET ALL and DISCARD ALL return to (the session's
   * start-up value). Without it, a statement after such a reset in the same text is forbidden.
   */
  defaultSearchPath?: readonly string[];
}

export const FORBIDDEN = 'forbidden';
