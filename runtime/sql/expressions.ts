// Handlers of expression and FROM-clause nodes that carry meaning: relation references,
// function calls, operators, table samples. Everything else in an expression is walked
// generically (walk.ts).

import { DANGEROUS_FUNCTIONS, isComputingBuiltin, PG_CATALOG_OPERATORS, TEXT_SETTINGS } from './catalog.ts';
import { functionCandidates, operatorCandidates, quoteIdent, relationCandidates, truncateIdentifier } from './names.ts';
import { settingViolation } from './settings.ts';
import { uncounted } from './templates.ts';
import {
  addFact,
  fact,
  forbid,
  leaf,
  nodeOf,
  rangeVarName,
  stringConst,
  stringList,
  walkFields,
  walkList,
  walkNode,
  type Handler,
  type Obj,
  type Walker,
} from './walk.ts';

/** Whether an unqualified name is a common table expression visible here. */
export function isCte(w: Walker, name: string): boolean {
  const scopes = w.cteScopes;
  for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]!.has(name)) return true;
  return false;
}

/** Candidate keys of a RangeVar used as a relation reference; forbids when none resolve. */
export function relationKeys(w: Walker, rv: Obj): string[] {
  const { schema, name } = rangeVarName(rv);
  const keys = relationCandidates(schema, name, w.ctx);
  if (keys.length === 0) forbid(w, `relation ${quoteIdent(name)} resolves to no schema: the search path is empty`);
  return keys;
}

/** `action` on every candidate of a relation reference. */
export function relationFacts(w: Walker, rv: Obj, action: string): string[] {
  const keys = relationKeys(w, rv);
  for (const k of keys) fact(w, action, k);
  return keys;
}

/** A RangeVar met anywhere a relation is read (FROM, JOIN, LIKE, REFERENCES, ...). */
export const RangeVar: Handler = (w, rv, type) => {
  const { schema, name } = rangeVarName(rv);
  if (!(schema === undefined && isCte(w, name))) relationFacts(w, rv, 'select');
  walkFields(w, type, rv);
};

/** The argument at a position or with a name (named arguments follow positional ones). */
export function argument(args: unknown, index: number, name: string): unknown {
  if (!Array.isArray(args)) return undefined;
  let positional = 0;
  for (const a of args) {
    const named = nodeOf(a, 'NamedArgExpr');
    if (named !== null) {
      if (named.name === name) return named.arg;
    } else {
      if (positional === index) return a;
      positional++;
    }
  }
  return undefined;
}

/** Splits a name list into schema (undefined if unqualified) and name; null when malformed. */
export function splitName(list: unknown): { schema: string | undefined; name: string } | null {
  const parts = stringList(list);
  if (parts === null || parts.length === 0 || parts.length > 3) return null;
  const name = parts[parts.length - 1]!;
  return { schema: parts.length >= 2 ? parts[parts.length - 2] : undefined, name };
}

/** Call facts for a function reference; returns the candidate keys. */
export function callFacts(w: Walker, funcname: unknown, argc: number): string[] {
  const n = splitName(funcname);
  if (n === null) {
    forbid(w, 'a function name that cannot be resolved');
    return [];
  }
  const keys = functionCandidates(n.schema, n.name, argc, w.ctx);
  if (keys.length === 0) forbid(w, `function ${quoteIdent(n.name)} resolves to no schema: the search path is empty`);
  for (const k of keys) if (!isComputingBuiltin(k)) fact(w, 'call', k);
  return keys;
}

/** Call facts for an operator name list (`=`, `OPERATOR(s.===)`); pg_catalog operators are built-in. */
export function operatorFacts(w: Walker, name: unknown): void {
  const parts = stringList(name);
  if (parts === null || parts.length === 0 || parts.length > 2) {
    forbid(w, 'an operator name that cannot be resolved');
    return;
  }
  const op = parts[parts.length - 1]!;
  // the common case: an unqualified built-in operator, pg_catalog searched first
  if (parts.length === 1 && PG_CATALOG_OPERATORS.has(op) && !w.ctx.searchPath.includes('pg_catalog')) return;
  const keys = operatorCandidates(parts.length === 2 ? parts[0] : undefined, op, w.ctx);
  if (keys.length === 0) forbid(w, `operator ${op} resolves to no schema: the search path is empty`);
  const builtin = `pg_catalog.${quoteIdent(op)}`;
  for (const k of keys) if (!(k === builtin && PG_CATALOG_OPERATORS.has(op))) fact(w, 'call', k);
}

/** Reads the relation named by a string in regclass syntax (`t`, `s.t`, `"T"`); null if malformed. */
export function parseRelationName(text: string): { schema: string | undefined; name: string } | null {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i <= s.length) {
    let part = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return null;
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += s[i++];
      }
    } else {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(s.slice(i));
      if (m === null) return null;
      part = m[0].replace(/[A-Z]+/g, (c) => c.toLowerCase());
      i += m[0].length;
    }
    parts.push(truncateIdentifier(part));
    if (i === s.length) break;
    if (s[i] !== '.') return null;
    i++;
  }
  if (parts.length === 0 || parts.length > 3) return null;
  return { schema: parts.length >= 2 ? parts[parts.length - 2] : undefined, name: parts[parts.length - 1]! };
}

/** Adds the facts of SQL given as a string literal (query_to_xml, ts_stat, ...). */
function nestedSqlFacts(w: Walker, sql: string): void {
  const { searchPath } = w.ctx;
  for (const st of w.classifyText(sql, { searchPath }, w.nesting)) for (const f of st.facts) addFact(w, f);
}

/**
 * An argument that names what the call acts on and must be a string literal: its value, or null
 * after the call is forbidden with `unknown` (a parameter, a column, an expression or an OID
 * could name anything).
 */
function literalArgument(w: Walker, node: unknown, unknown: string): string | null {
  const value = stringConst(node);
  if (value === null) forbid(w, unknown);
  return value;
}

/** What the special built-ins do beyond their call fact. */
function specialCall(w: Walker, key: string, args: unknown): void {
  const fn = key.slice('pg_catalog.'.length);
  switch (key) {
    case 'pg_catalog.set_config': {
      const name = literalArgument(w, argument(args, 0, 'setting_name'), 'set_config of a setting named by an expression: the setting is unknown');
      if (name === null) return;
      const setting = name.toLowerCase();
      fact(w, 'set', setting);
      const valueNode = argument(args, 1, 'new_value');
      const value = stringConst(valueNode);
      const isNull = nodeOf(valueNode, 'A_Const')?.isnull === true;
      if (value === null && !isNull && (TEXT_SETTINGS.has(setting) || setting === 'search_path')) {
        forbid(w, `set_config of ${setting} to an expression: the value is unknown`);
        return;
      }
      const violation = settingViolation(setting, isNull ? null : value);
      if (violation !== null) forbid(w, violation);
      if (w.deferred === 0 && (value !== null || isNull)) {
        const local = nodeOf(argument(args, 2, 'is_local'), 'A_Const');
        const boolval = local?.boolval as Obj | undefined;
        w.effects.push({ kind: 'set', setting, value: isNull ? null : value, local: boolval?.boolval === true });
      }
      return;
    }
    case 'pg_catalog.pg_notify': {
      const channel = literalArgument(w, argument(args, 0, 'channel'), 'pg_notify on a channel named by an expression: the channel is unknown');
      if (channel !== null) fact(w, 'notify', quoteIdent(channel));
      return;
    }
    case 'pg_catalog.query_to_xml':
    case 'pg_catalog.query_to_xmlschema':
    case 'pg_catalog.query_to_xml_and_xmlschema':
    case 'pg_catalog.ts_stat': {
      const sql = literalArgument(w, argument(args, 0, 'query'), `${fn} of a query given by an expression: what it runs is unknown`);
      if (sql !== null) nestedSqlFacts(w, sql);
      return;
    }
    case 'pg_catalog.ts_rewrite': {
      // ts_rewrite(query, select) runs the select; ts_rewrite(query, target, substitute) runs nothing
      if (!Array.isArray(args) || args.length !== 2) return;
      const sql = literalArgument(w, argument(args, 1, 'select'), `${fn} of a query given by an expression: what it runs is unknown`);
      if (sql !== null) nestedSqlFacts(w, sql);
      return;
    }
    case 'pg_catalog.table_to_xml':
    case 'pg_catalog.table_to_xmlschema':
    case 'pg_catalog.table_to_xml_and_xmlschema':
    case 'pg_catalog.currtid2': {
      const text = literalArgument(w, argument(args, 0, 'tbl'), `${fn} of a relation given by an expression or an OID: the relation is unknown`);
      if (text === null) return;
      const rel = parseRelationName(text);
      if (rel === null) {
        forbid(w, `a relation argument that cannot be resolved: ${text}`);
        return;
      }
      for (const k of relationCandidates(rel.schema, rel.name, w.ctx)) fact(w, 'select', k);
      return;
    }
    case 'pg_catalog.schema_to_xml':
    case 'pg_catalog.schema_to_xmlschema':
    case 'pg_catalog.schema_to_xml_and_xmlschema': {
      const schema = literalArgument(w, argument(args, 0, 'schema'), `${fn} of a schema given by an expression: the schema is unknown`);
      if (schema !== null) fact(w, 'select', `${quoteIdent(truncateIdentifier(schema))}.*`);
      return;
    }
    case 'pg_catalog.database_to_xml':
    case 'pg_catalog.database_to_xmlschema':
    case 'pg_catalog.database_to_xml_and_xmlschema':
      fact(w, 'select', '*');
      return;
  }
}

export const FuncCall: Handler = (w, body, type) => {
  const args = body.args;
  // an ordered-set aggregate's ORDER BY items are arguments too: percentile_cont(0.5) WITHIN GROUP (ORDER BY x)
  const argc =
    (Array.isArray(args) ? args.length : 0) +
    (body.agg_within_group === true && Array.isArray(body.agg_order) ? body.agg_order.length : 0);
  const keys = callFacts(w, body.funcname, argc);
  for (const k of keys) {
    if (DANGEROUS_FUNCTIONS.has(k)) specialCall(w, k, args);
    else if (k === 'pg_catalog.pg_show_all_settings') fact(w, 'show', 'all'); // what pg_settings shows
    else if (k === 'pg_catalog.current_setting') {
      // current_setting(x) is SHOW x
      const name = stringConst(argument(args, 0, 'setting_name'));
      fact(w, 'show', name === null ? 'all' : name.toLowerCase());
    }
  }
  walkFields(w, type, body, FUNCNAME);
};
const FUNCNAME = new Set(['funcname']);

const NOT_OPERATORS = new Set(['AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM']);
const NAME = new Set(['name']);

export const A_Expr: Handler = (w, body, type) => {
  if (!NOT_OPERATORS.has(body.kind as string)) operatorFacts(w, body.name);
  walkFields(w, type, body, NAME);
};

const OPERNAME = new Set(['operName']);
export const SubLink: Handler = (w, body, type) => {
  if (Array.isArray(body.operName) && body.operName.length > 0) operatorFacts(w, body.operName);
  walkFields(w, type, body, OPERNAME);
};

const USEOP = new Set(['useOp']);
export const SortBy: Handler = (w, body, type) => {
  if (Array.isArray(body.useOp) && body.useOp.length > 0) operatorFacts(w, body.useOp);
  walkFields(w, type, body, USEOP);
};

const METHOD = new Set(['method']);
/** TABLESAMPLE method(...): the method is a handler function taking one `internal` argument. */
export const RangeTableSample: Handler = (w, body, type) => {
  callFacts(w, body.method, 1);
  walkFields(w, type, body, METHOD);
};

const A_CONST_VALUES = new Map<string, Handler>([
  ['ival', leaf('Integer')],
  ['fval', leaf('Float')],
  ['boolval', leaf('Boolean')],
  ['sval', leaf('String')],
  ['bsval', leaf('BitString')],
]);
const A_CONST_SCALARS = new Set(['isnull', 'location']);

/**
 * A constant: its value nodes are leaves. Checking their fields reads no value: it does not count
 * as a read of the constant (templates.ts).
 */
export const A_Const: Handler = (w, body) =>
  uncounted(() => {
    for (const k in body) {
      const h = A_CONST_VALUES.get(k);
      if (h !== undefined) {
        const v = body[k];
        if (v !== null && typeof v === 'object') h(w, v as Obj, k);
      } else if (!A_CONST_SCALARS.has(k)) forbid(w, `unknown field A_Const.${k}`);
    }
  });

const COLUMN_REF_SCALARS = new Set(['location']);
const stringLeaf = leaf('String');
const starLeaf = leaf('A_Star');

/** A column reference: a list of String (and A_Star) nodes. */
export const ColumnRef: Handler = (w, body) => {
  for (const k in body) {
    if (k === 'fields') {
      const fields = body.fields;
      if (!Array.isArray(fields)) continue;
      for (const f of fields) {
        const s = (f as Obj | null)?.String;
        if (s !== undefined && s !== null && typeof s === 'object') stringLeaf(w, s as Obj, 'String');
        else {
          const star = (f as Obj | null)?.A_Star;
          if (star !== undefined && star !== null && typeof star === 'object') starLeaf(w, star as Obj, 'A_Star');
          else walkNode(w, f);
        }
      }
    } else if (!COLUMN_REF_SCALARS.has(k)) forbid(w, `unknown field ColumnRef.${k}`);
  }
};

/** Walks a list of FROM items, returning the range of facts they added. */
export function walkFrom(w: Walker, list: unknown): [number, number] {
  const start = w.facts.length;
  walkList(w, list);
  return [start, w.facts.length];
}
