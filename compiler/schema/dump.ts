// Reading a `pg_dump --schema-only` file into the names a policy can refer to: schemas,
// relations (tables, views, materialized views, sequences, foreign tables) with their columns,
// and functions. The dump is parsed with libpg_query, the server's own grammar; psql
// meta-commands (`\restrict`, `\connect`) are not SQL and are dropped first.

import { qualifiedKey } from '../names.ts';

export interface Relation {
  /** table, view, materialized view, sequence, foreign table */
  kind: string;
  /** column names; null when they cannot be known from the dump (a view over `*`, a typed table of an unknown type) */
  columns: Set<string> | null;
}

export interface Schema {
  schemas: Set<string>;
  /** canonical key (`public.orders`, `"Mixed"."Case"`) → relation */
  relations: Map<string, Relation>;
  /** canonical keys of functions, procedures and aggregates */
  functions: Set<string>;
}

export class SchemaError extends Error {}

type Node = Record<string, unknown>;

interface RangeVar {
  schemaname?: string;
  relname: string;
}

/** The one field of a libpg_query node wrapper: `{ CreateStmt: {...} }` → ['CreateStmt', {...}]. */
function unwrap(node: unknown): [string, Node] | null {
  if (!node || typeof node !== 'object') return null;
  const entries = Object.entries(node as Node);
  return entries.length === 1 ? [entries[0][0], entries[0][1] as Node] : null;
}

function strings(list: unknown): string[] {
  return ((list as unknown[]) ?? []).map((n) => (unwrap(n)?.[1] as { sval?: string } | undefined)?.sval ?? '');
}


function rangeKey(rv: RangeVar): { schema: string; key: string } {
  const schema = rv.schemaname ?? 'public';
  return { schema, key: qualifiedKey(schema, rv.relname) };
}

function qualifiedName(parts: string[]): { schema: string; key: string } {
  const schema = parts.length > 1 ? parts[parts.length - 2] : 'public';
  return { schema, key: qualifiedKey(schema, parts[parts.length - 1]) };
}

/** The column names a query's target list gives, as PostgreSQL names them; null if one is not plain. */
function targetColumns(query: unknown): Set<string> | null {
  const select = unwrap(query);
  if (!select || select[0] !== 'SelectStmt') return null;
  const stmt = select[1] as { targetList?: unknown[]; op?: string; larg?: Node };
  if (stmt.op && stmt.op !== 'SETOP_NONE') return stmt.larg ? targetColumns({ SelectStmt: stmt.larg }) : null;
  const out = new Set<string>();
  for (const t of stmt.targetList ?? []) {
    const rt = unwrap(t)?.[1] as { name?: string; val?: unknown } | undefined;
    if (!rt) return null;
    if (rt.name) {
      out.add(rt.name);
      continue;
    }
    const val = unwrap(rt.val);
    if (val?.[0] === 'ColumnRef') {
      const fields = (val[1] as { fields?: unknown[] }).fields ?? [];
      const last = unwrap(fields[fields.length - 1]);
      if (last?.[0] !== 'String') return null;
      out.add((last[1] as { sval: string }).sval);
    } else if (val?.[0] === 'FuncCall') {
      const parts = strings((val[1] as { funcname?: unknown[] }).funcname);
      out.add(parts[parts.length - 1]);
    } else return null;
  }
  return out;
}

/** Drops psql meta-command lines (they start with a backslash), keeping offsets the same. */
function withoutMetaCommands(text: string): string {
  return text.replace(/^\\[^\n]*/gm, (line) => ' '.repeat(line.length));
}

type ParseSync = (sql: string) => { stmts?: { stmt: unknown }[] };

let parser: ParseSync | null = null;

async function loadParser(): Promise<ParseSync> {
  if (!parser) {
    const lib = await import('libpg-query');
    await lib.loadModule();
    parser = lib.parseSync as ParseSync;
  }
  return parser;
}

export async function parseSchemaDump(text: string, name: string): Promise<Schema> {
  const parse = await loadParser();
  let tree: { stmts?: { stmt: unknown }[] };
  try {
    tree = parse(withoutMetaCommands(text));
  } catch (e) {
    const details = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const at = details?.cursorPosition !== undefined ? ` at line ${text.slice(0, details.cursorPosition).split('\n').length}` : '';
    throw new SchemaError(`\`${name}\` is not a schema dump PostgreSQL can read${at}: ${(e as Error).message}`);
  }
  return readSchema(tree.stmts ?? []);
}

export function readSchema(stmts: { stmt: unknown }[]): Schema {
  const schema: Schema = { schemas: new Set(), relations: new Map(), functions: new Set() };
  const types = new Map<string, Set<string>>();
  const inherits: { key: string; parents: string[] }[] = [];
  const typed: { key: string; type: string }[] = [];
  const add = (rv: RangeVar, kind: string, columns: Set<string> | null) => {
    const { schema: s, key } = rangeKey(rv);
    schema.schemas.add(s);
    schema.relations.set(key, { kind, columns });
  };
  for (const { stmt } of stmts) {
    const node = unwrap(stmt);
    if (!node) continue;
    const [type, body] = node;
    switch (type) {
      case 'CreateSchemaStmt':
        if (typeof body.schemaname === 'string') schema.schemas.add(body.schemaname);
        break;
      case 'CreateStmt':
      case 'CreateForeignTableStmt': {
        const create = (type === 'CreateForeignTableStmt' ? (body.base as Node) : body) as {
          relation: RangeVar;
          tableElts?: unknown[];
          inhRelations?: unknown[];
          ofTypename?: { names?: unknown[] };
        };
        let columns: Set<string> | null = new Set<string>();
        for (const el of create.tableElts ?? []) {
          const col = unwrap(el);
          if (col?.[0] === 'ColumnDef') columns?.add((col[1] as { colname: string }).colname);
          else if (col?.[0] === 'TableLikeClause') columns = null; // `(LIKE other)`: not worth resolving
        }
        add(create.relation, type === 'CreateStmt' ? 'table' : 'foreign table', columns);
        const key = rangeKey(create.relation).key;
        const parents = (create.inhRelations ?? []).map((p) => rangeKey(unwrap(p)![1] as unknown as RangeVar).key);
        if (parents.length > 0) inherits.push({ key, parents });
        if (create.ofTypename) typed.push({ key, type: qualifiedName(strings(create.ofTypename.names)).key });
        break;
      }
      case 'CompositeTypeStmt': {
        const columns = new Set<string>();
        for (const el of (body.coldeflist as unknown[]) ?? []) {
          const col = unwrap(el);
          if (col?.[0] === 'ColumnDef') columns.add((col[1] as { colname: string }).colname);
        }
        types.set(rangeKey(body.typevar as unknown as RangeVar).key, columns);
        break;
      }
      case 'ViewStmt': {
        const aliases = strings(body.aliases);
        add(body.view as unknown as RangeVar, 'view', aliases.length > 0 ? new Set(aliases) : targetColumns(body.query));
        break;
      }
      case 'CreateTableAsStmt': {
        const into = body.into as { rel: RangeVar; colNames?: unknown[] };
        const names = strings(into.colNames);
        const kind = body.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table';
        add(into.rel, kind, names.length > 0 ? new Set(names) : targetColumns(body.query));
        break;
      }
      case 'CreateSeqStmt':
        add(body.sequence as unknown as RangeVar, 'sequence', null);
        break;
      case 'CreateFunctionStmt': {
        const { schema: s, key } = qualifiedName(strings(body.funcname));
        schema.schemas.add(s);
        schema.functions.add(key);
        break;
      }
      case 'DefineStmt':
        if (body.kind === 'OBJECT_AGGREGATE') {
          const { schema: s, key } = qualifiedName(strings(body.defnames));
          schema.schemas.add(s);
          schema.functions.add(key);
        }
        break;
      case 'GrantStmt':
      case 'CommentStmt':
      case 'AlterOwnerStmt':
        // `GRANT … ON SCHEMA public`, `COMMENT ON SCHEMA public`: the dump's only sign of a default schema
        if (body.objtype === 'OBJECT_SCHEMA') {
          for (const o of [...((body.objects as unknown[]) ?? []), body.object]) {
            const s = unwrap(o);
            if (s?.[0] === 'String') schema.schemas.add((s[1] as { sval: string }).sval);
          }
        }
        break;
    }
  }
  // Children of inheritance and typed tables have the columns of what they come from.
  for (const { key, type } of typed) {
    const rel = schema.relations.get(key)!;
    const cols = types.get(type);
    rel.columns = cols && rel.columns ? new Set([...rel.columns, ...cols]) : null;
  }
  const resolved = new Set<string>();
  const columnsOf = (key: string, seen: string[]): Set<string> | null => {
    const rel = schema.relations.get(key);
    if (!rel) return null;
    const mine = inherits.find((i) => i.key === key);
    if (!mine || resolved.has(key) || seen.includes(key)) return rel.columns;
    let cols = rel.columns;
    for (const p of mine.parents) {
      const pc = columnsOf(p, [...seen, key]);
      cols = cols && pc ? new Set([...cols, ...pc]) : null;
    }
    rel.columns = cols;
    resolved.add(key);
    return cols;
  };
  for (const { key } of inherits) columnsOf(key, []);
  return schema;
}
