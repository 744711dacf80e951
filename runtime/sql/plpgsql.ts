// The SQL a PL/pgSQL DO block runs, for the classifier (spec/facts.md, DO): every statement and
// expression of the body — PERFORM, IF and loop conditions, assignments, RAISE arguments,
// cursor queries, variable defaults — as SQL text, read from libpg_query's PL/pgSQL tree. A
// body that builds SQL at run time (EXECUTE in any form) or that this reader cannot take apart
// has no such list: it stays opaque.

import { parsePlpgsql } from './parser.ts';
import { isIdentChar, isIdentStart, isSpace, quotedEnd } from './sql-chars.ts';

export type BodySql = { sql: string[]; opaque?: undefined } | { sql?: undefined; opaque: string };

/** Statements whose SQL is a string built while the block runs. */
const DYNAMIC = new Set(['PLpgSQL_stmt_dynexecute', 'PLpgSQL_stmt_dynfors']);

/**
 * Statements on cursor variables: their portals are the session's, named by the variable's
 * value (a bound cursor's own name, or any string: `k refcursor := 'c'`), so the block could
 * read, close or replace a cursor the gateway knows under that name.
 */
const SESSION_PORTALS = new Set(['PLpgSQL_stmt_open', 'PLpgSQL_stmt_close', 'PLpgSQL_stmt_fetch', 'PLpgSQL_stmt_forc']);

/** libpg_query's RawParseMode of an expression: how PostgreSQL reads its text. */
const RAW_PARSE_DEFAULT = 0;
const RAW_PARSE_TYPE_NAME = 1;
const RAW_PARSE_PLPGSQL_EXPR = 2;
const RAW_PARSE_PLPGSQL_ASSIGN1 = 3;
const RAW_PARSE_PLPGSQL_ASSIGN3 = 5;

const MAX_DEPTH = 200;

const DOUBLE_QUOTE = 34;
const DOT = 46;
const EQUALS = 61;

/** The SQL of the body of `DO [LANGUAGE plpgsql] '<body>'`. */
export function doBlockSql(body: string): BodySql {
  let tag = 'pamc';
  while (body.includes(`$${tag}$`)) tag += '_';
  const parsed = parsePlpgsql(`DO $${tag}$${body}$${tag}$`);
  if (parsed.error !== undefined) return { opaque: `the PL/pgSQL body does not parse: ${parsed.error}` };
  const sql: string[] = [];
  const why = collect(parsed.tree, sql, 0);
  return why === null ? { sql } : { opaque: why };
}

function collect(node: unknown, out: string[], depth: number): string | null {
  if (depth > MAX_DEPTH) return 'the PL/pgSQL body nests too deeply';
  if (Array.isArray(node)) {
    for (const x of node) {
      const why = collect(x, out, depth + 1);
      if (why !== null) return why;
    }
    return null;
  }
  if (node === null || typeof node !== 'object') return null;
  for (const [key, value] of Object.entries(node)) {
    if (DYNAMIC.has(key) || key === 'dynquery') return 'the block runs SQL it builds at run time (EXECUTE)';
    if (SESSION_PORTALS.has(key)) return 'the block opens, reads or closes cursors, which are portals of the session';
    const why = key === 'PLpgSQL_expr' ? expression(value, out) : collect(value, out, depth + 1);
    if (why !== null) return why;
  }
  return null;
}

/** One PLpgSQL_expr as SQL the classifier reads. */
function expression(expr: unknown, out: string[]): string | null {
  const e = expr as { query?: unknown; parseMode?: unknown };
  if (typeof e.query !== 'string') return 'an expression of the PL/pgSQL body has no text';
  const mode = e.parseMode === undefined ? RAW_PARSE_DEFAULT : e.parseMode;
  if (mode === RAW_PARSE_DEFAULT) out.push(e.query);
  else if (mode === RAW_PARSE_PLPGSQL_EXPR) out.push(`SELECT ${e.query}`);
  else if (mode === RAW_PARSE_TYPE_NAME) return null;
  else if (typeof mode === 'number' && mode >= RAW_PARSE_PLPGSQL_ASSIGN1 && mode <= RAW_PARSE_PLPGSQL_ASSIGN3) {
    const value = assignedValue(e.query);
    if (value === null) return `an assignment the gateway cannot read: ${e.query.slice(0, 80)}`;
    out.push(`SELECT ${value}`);
  } else return `an expression of an unknown kind (${String(mode)})`;
  return null;
}

/**
 * The value of `target := value` (or `=`): the target is a variable, possibly qualified
 * (`rec.field`, quoted names); one with a subscript (`a[i] := …`, whose index is an expression
 * too) is not read.
 */
function assignedValue(text: string): string | null {
  const n = text.length;
  let i = 0;
  const space = () => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };
  for (;;) {
    space();
    if (text.charCodeAt(i) === DOUBLE_QUOTE) {
      i = quotedEnd(text, i, DOUBLE_QUOTE);
      if (i < 0) return null;
    } else {
      if (!isIdentStart(text.charCodeAt(i))) return null;
      while (i < n && isIdentChar(text.charCodeAt(i))) i++;
    }
    space();
    if (text.charCodeAt(i) !== DOT) break;
    i++;
  }
  if (text.startsWith(':=', i)) i += 2;
  else if (text.charCodeAt(i) === EQUALS) i += 1;
  else return null;
  const value = text.slice(i).trim();
  return value === '' ? null : value;
}
