// Column lineage from the parse tree (spec/masking.md §2): for every output column of a
// statement, the source columns its value derives from and whether it passes one through
// unchanged; plus the source columns read by predicates (WHERE, JOIN, ORDER BY, GROUP BY,
// HAVING, window clauses, LIMIT), the source columns whose values flow into written data
// (INSERT … SELECT, UPDATE … SET, CREATE TABLE AS, SELECT INTO, MERGE), and everything the
// analysis cannot see through (opaque functions, unknown relations, stale catalog), which the
// masking plan treats as possibly derived from every masked column (fail closed).
//
// A source column is written `relationKey\0column`, the relation key as the classifier writes
// it (`public.customers`). Views are followed through their definitions.

type Obj = Record<string, unknown>;

export const COLUMN_SEPARATOR = '\u0000';

export function columnKey(relation: string, column: string): string {
  return `${relation}${COLUMN_SEPARATOR}${column}`;
}

/** What a value derives from. */
export interface Src {
  sources: Set<string>;
  /** the one source column the value passes through unchanged, or null */
  direct: string | null;
  /** derives from something the analysis cannot see through */
  opaque: boolean;
}

export interface OutputColumn extends Src {
  name: string;
}

export interface RelationInfo {
  /** canonical key, `schema.name` */
  key: string;
  /** r table, v view, m materialized view, p partitioned table, f foreign table, ... */
  kind: string;
  columns: readonly string[];
}

/** What lineage needs from the target's catalog. */
export interface LineageCatalog {
  /** a relation named `schema.name`, or null when the catalog does not know it */
  relation(schema: string, name: string): RelationInfo | null;
  /** an unqualified relation name through the session's search path, or null */
  resolveRelation(name: string): RelationInfo | null;
  /** the lineage of a view's columns, by position, from its definition; null if it cannot be traced */
  viewLineage(view: RelationInfo): Src[] | null;
  /** a function call that only computes (a pg_catalog built-in outside the SQL-running and dangerous sets) */
  isComputingFunction(funcname: readonly string[], argc: number): boolean;
}

export interface StatementLineage {
  /**
   * the statement's result columns; `clean` when its rows are not data read from relations
   * (SHOW, EXPLAIN); `opaque` when rows it returns cannot be traced (CALL, unknown kinds)
   */
  outputs: OutputColumn[] | 'clean' | 'opaque';
  predicates: Set<string>;
  writesFrom: Set<string>;
  /** the statement contains something the analysis cannot see through */
  opaque: boolean;
  /** why, for logs and denials */
  opaqueReasons: string[];
}

interface Acc {
  cat: LineageCatalog;
  predicates: Set<string>;
  writesFrom: Set<string>;
  opaque: boolean;
  reasons: string[];
  depth: number;
}

interface ScopeItem {
  /** the name it is referred to by (alias, relation name, CTE name, function name) */
  name: string | null;
  columns: { name: string; src: Src }[];
  /** its columns are unknown */
  opaque: boolean;
}

interface Scope {
  items: ScopeItem[];
  parent: Scope | null;
  ctes: Map<string, OutputColumn[]>;
}

const MAX_DEPTH = 200;

const emptySrc = (): Src => ({ sources: new Set(), direct: null, opaque: false });
const opaqueSrc = (): Src => ({ sources: new Set(), direct: null, opaque: true });
const directSrc = (key: string): Src => ({ sources: new Set([key]), direct: key, opaque: false });

function merge(into: Src, from: Src): void {
  for (const s of from.sources) into.sources.add(s);
  if (from.opaque) into.opaque = true;
}

function markOpaque(acc: Acc, reason: string): void {
  acc.opaque = true;
  if (acc.reasons.length < 8 && !acc.reasons.includes(reason)) acc.reasons.push(reason);
}

function obj(v: unknown): Obj | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The single key of a `{ NodeType: body }` wrapper. */
function unwrap(v: unknown): [string, Obj] | null {
  const o = obj(v);
  if (!o) return null;
  const keys = Object.keys(o);
  if (keys.length !== 1) return null;
  const body = obj(o[keys[0]]);
  return body ? [keys[0], body] : null;
}

function str(v: unknown): string | null {
  const u = unwrap(v);
  if (u && u[0] === 'String') return typeof u[1].sval === 'string' ? u[1].sval : null;
  return null;
}

function names(v: unknown): string[] {
  return list(v)
    .map(str)
    .filter((s): s is string => s !== null);
}

// ---------------------------------------------------------------------------------------------
// FROM items

function relationItem(acc: Acc, rv: Obj, scope: Scope | null): ScopeItem {
  const relname = typeof rv.relname === 'string' ? rv.relname : '';
  const schema = typeof rv.schemaname === 'string' ? rv.schemaname : null;
  const alias = obj(rv.alias);
  const aliasName = alias && typeof alias.aliasname === 'string' ? alias.aliasname : null;
  const colAliases = alias ? names(alias.colnames) : [];
  // A CTE name in scope shadows a relation of the same (unqualified) name.
  if (schema === null) {
    for (let s: Scope | null = scope; s; s = s.parent) {
      const cte = s.ctes.get(relname);
      if (cte) {
        return {
          name: aliasName ?? relname,
          columns: cte.map((c, i) => ({ name: colAliases[i] ?? c.name, src: c })),
          opaque: false,
        };
      }
    }
  }
  const rel = schema !== null ? acc.cat.relation(schema, relname) : acc.cat.resolveRelation(relname);
  if (!rel) {
    markOpaque(acc, `relation ${schema ? `${schema}.` : ''}${relname} is not in the gateway's catalog`);
    return { name: aliasName ?? relname, columns: [], opaque: true };
  }
  let srcs: Src[];
  if (rel.kind === 'v' || rel.kind === 'm') {
    const v = acc.depth < MAX_DEPTH ? acc.cat.viewLineage(rel) : null;
    if (!v || v.length !== rel.columns.length) {
      markOpaque(acc, `the definition of ${rel.key} cannot be traced`);
      srcs = rel.columns.map(() => opaqueSrc());
    } else srcs = v;
  } else {
    srcs = rel.columns.map((c) => directSrc(columnKey(rel.key, c)));
  }
  return { name: aliasName ?? relname, columns: rel.columns.map((c, i) => ({ name: colAliases[i] ?? c, src: srcs[i] })), opaque: false };
}

function fromItem(acc: Acc, node: unknown, scope: Scope, into: ScopeItem[]): void {
  const u = unwrap(node);
  if (!u) return;
  const [type, body] = u;
  switch (type) {
    case 'RangeVar':
      into.push(relationItem(acc, body, scope));
      return;
    case 'RangeSubselect': {
      const outputs = selectOutputs(acc, body.subquery, { items: [...scope.items, ...into], parent: scope.parent, ctes: scope.ctes });
      const alias = obj(body.alias);
      const colAliases = alias ? names(alias.colnames) : [];
      into.push({
        name: alias && typeof alias.aliasname === 'string' ? alias.aliasname : null,
        columns: outputs.map((c, i) => ({ name: colAliases[i] ?? c.name, src: c })),
        opaque: false,
      });
      return;
    }
    case 'RangeFunction': {
      const src = emptySrc();
      let fname: string | null = null;
      for (const pair of list(body.functions)) {
        const pu = unwrap(pair);
        for (const f of pu && pu[0] === 'List' ? list(pu[1].items) : list(pair)) {
          if (f === null) continue;
          const fu = unwrap(f);
          if (fu && fu[0] === 'FuncCall') fname ??= names(fu[1].funcname).at(-1) ?? null;
          collect(acc, f, { items: [...scope.items, ...into], parent: scope.parent, ctes: scope.ctes }, src);
        }
      }
      const alias = obj(body.alias);
      const colAliases = alias ? names(alias.colnames) : [];
      // The columns of a set-returning function are all derived from its arguments.
      const count = Math.max(1, colAliases.length);
      into.push({
        name: alias && typeof alias.aliasname === 'string' ? alias.aliasname : fname,
        columns: Array.from({ length: count }, (_, i) => ({ name: colAliases[i] ?? fname ?? `column${i + 1}`, src: { ...src, direct: null } })),
        // With no column aliases the function's column names are unknown: refer to them opaquely.
        opaque: colAliases.length === 0 && src.opaque,
      });
      return;
    }
    case 'JoinExpr': {
      const items: ScopeItem[] = [];
      fromItem(acc, body.larg, scope, items);
      fromItem(acc, body.rarg, { items: [...scope.items, ...into, ...items], parent: scope.parent, ctes: scope.ctes }, items);
      const joinScope: Scope = { items: [...scope.items, ...into, ...items], parent: scope.parent, ctes: scope.ctes };
      if (body.quals) collectPredicate(acc, body.quals, joinScope);
      for (const u of names(body.usingClause)) {
        const s = emptySrc();
        for (const it of items) for (const c of it.columns) if (c.name === u) merge(s, c.src);
        for (const k of s.sources) acc.predicates.add(k);
      }
      const alias = obj(body.alias);
      if (alias && typeof alias.aliasname === 'string') {
        into.push({ name: alias.aliasname, columns: items.flatMap((i) => i.columns), opaque: items.some((i) => i.opaque) });
      } else into.push(...items);
      return;
    }
    case 'RangeTableSample':
      fromItem(acc, body.relation, scope, into);
      collect(acc, body.args, scope, emptySrc());
      return;
    default: {
      // XMLTABLE, JSON_TABLE and the like: columns derive from their arguments.
      const src = emptySrc();
      collect(acc, body, scope, src);
      const alias = obj(body.alias);
      into.push({ name: alias && typeof alias.aliasname === 'string' ? alias.aliasname : null, columns: [], opaque: true });
      if (src.sources.size > 0 || src.opaque) markOpaque(acc, `a ${type} in FROM`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions

function findColumn(scope: Scope, name: string): Src | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const hit = emptySrc();
    let found = 0;
    let anyOpaque = false;
    for (const it of s.items) {
      if (it.opaque) anyOpaque = true;
      for (const c of it.columns) {
        if (c.name === name) {
          merge(hit, c.src);
          if (found === 0) hit.direct = c.src.direct;
          found++;
        }
      }
    }
    if (found === 1) return hit;
    if (found > 1) {
      hit.direct = null;
      return hit;
    }
    // A whole-row reference: `SELECT c FROM customers c`, `row_to_json(c)`.
    const item = s.items.find((i) => i.name === name);
    if (item) return wholeRow(item);
    if (anyOpaque) return opaqueSrc();
  }
  return null;
}

function wholeRow(item: ScopeItem): Src {
  const src = emptySrc();
  if (item.opaque) src.opaque = true;
  for (const c of item.columns) merge(src, c.src);
  return src;
}

function findItem(scope: Scope, name: string): ScopeItem | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const it = s.items.find((i) => i.name === name);
    if (it) return it;
  }
  return null;
}

function columnRef(acc: Acc, body: Obj, scope: Scope): Src {
  const fields = list(body.fields);
  const parts = fields.map((f) => str(f));
  const star = fields.length > 0 && unwrap(fields[fields.length - 1])?.[0] === 'A_Star';
  if (star) {
    if (fields.length === 1) {
      const src = emptySrc();
      for (const it of scope.items) merge(src, wholeRow(it));
      return src;
    }
    const it = findItem(scope, parts[fields.length - 2] ?? '');
    return it ? wholeRow(it) : opaqueSrc();
  }
  if (parts.some((p) => p === null)) return opaqueSrc();
  const p = parts as string[];
  if (p.length === 1) {
    const hit = findColumn(scope, p[0]);
    if (hit) return hit;
    markOpaque(acc, `column ${p[0]} cannot be resolved`);
    return opaqueSrc();
  }
  // `t.c`, `s.t.c`, `db.s.t.c`: the item is named by the part before the column.
  const it = findItem(scope, p[p.length - 2]);
  if (!it) {
    markOpaque(acc, `${p.join('.')} cannot be resolved`);
    return opaqueSrc();
  }
  if (it.opaque) return opaqueSrc();
  const col = it.columns.find((c) => c.name === p[p.length - 1]);
  if (col) return { sources: new Set(col.src.sources), direct: col.src.direct, opaque: col.src.opaque };
  // `(c).ssn`-style composite field access resolves through the whole row
  return wholeRow(it);
}

/** Adds what an expression's value derives from to `into`. */
function collect(acc: Acc, node: unknown, scope: Scope, into: Src): void {
  if (Array.isArray(node)) {
    for (const n of node) collect(acc, n, scope, into);
    return;
  }
  const o = obj(node);
  if (!o) return;
  const u = unwrap(node);
  if (u) {
    const [type, body] = u;
    switch (type) {
      case 'ColumnRef':
        merge(into, columnRef(acc, body, scope));
        return;
      case 'SubLink': {
        if (body.testexpr) collect(acc, body.testexpr, scope, into);
        for (const c of selectOutputs(acc, body.subselect, scope)) merge(into, c);
        return;
      }
      case 'FuncCall': {
        const fname = names(body.funcname);
        const argc = list(body.args).length;
        if (!acc.cat.isComputingFunction(fname, argc)) {
          into.opaque = true;
          markOpaque(acc, `function ${fname.join('.')} is opaque`);
        }
        for (const k of ['args', 'agg_order', 'agg_filter', 'over']) if (body[k] !== undefined) collect(acc, body[k], scope, into);
        return;
      }
      case 'SelectStmt':
        for (const c of selectOutputs(acc, node, scope)) merge(into, c);
        return;
      default:
        for (const k in body) collect(acc, body[k], scope, into);
        return;
    }
  }
  for (const k in o) collect(acc, o[k], scope, into);
}

function collectPredicate(acc: Acc, node: unknown, scope: Scope): void {
  const src = emptySrc();
  collect(acc, node, scope, src);
  for (const s of src.sources) acc.predicates.add(s);
}

// ---------------------------------------------------------------------------------------------
// Queries

function targetName(rt: Obj, i: number): string {
  if (typeof rt.name === 'string') return rt.name;
  const u = unwrap(rt.val);
  if (u?.[0] === 'ColumnRef') {
    const last = names(u[1].fields).at(-1);
    if (last) return last;
  }
  if (u?.[0] === 'FuncCall') return names(u[1].funcname).at(-1) ?? '?column?';
  return i >= 0 ? '?column?' : '?column?';
}

function targetList(acc: Acc, targets: unknown, scope: Scope): OutputColumn[] {
  const out: OutputColumn[] = [];
  list(targets).forEach((t, i) => {
    const u = unwrap(t);
    if (!u || u[0] !== 'ResTarget') return;
    const rt = u[1];
    const val = unwrap(rt.val);
    if (val && val[0] === 'ColumnRef') {
      const fields = list(val[1].fields);
      const last = unwrap(fields[fields.length - 1]);
      if (last && last[0] === 'A_Star') {
        // `*` and `t.*` expand to one output per column
        const items = fields.length === 1 ? scope.items : [findItem(scope, str(fields[fields.length - 2]) ?? '')].filter((x): x is ScopeItem => x !== null);
        if (items.length === 0 || items.some((it) => it.opaque)) {
          markOpaque(acc, 'a `*` over a relation whose columns are unknown');
          out.push({ name: '*', ...opaqueSrc() });
          return;
        }
        for (const it of items) for (const c of it.columns) out.push({ name: c.name, sources: new Set(c.src.sources), direct: c.src.direct, opaque: c.src.opaque });
        return;
      }
      const src = columnRef(acc, val[1], scope);
      out.push({ name: targetName(rt, i), ...src });
      return;
    }
    const src = emptySrc();
    collect(acc, rt.val, scope, src);
    src.direct = null;
    out.push({ name: targetName(rt, i), ...src });
  });
  return out;
}

function withClause(acc: Acc, w: unknown, scope: Scope): Scope {
  const wc = obj(w);
  if (!wc) return scope;
  const ctes = new Map(scope.ctes);
  const inner: Scope = { items: scope.items, parent: scope.parent, ctes };
  for (const c of list(wc.ctes)) {
    const u = unwrap(c);
    if (!u || u[0] !== 'CommonTableExpr') continue;
    const name = typeof u[1].ctename === 'string' ? u[1].ctename : '';
    const aliases = names(u[1].aliascolnames);
    const q = u[1].ctequery;
    let outputs: OutputColumn[];
    if (wc.recursive === true) {
      // A recursive CTE: first without itself, then with its own first estimate, twice, which
      // reaches the fixed point for the union of sources.
      ctes.set(name, []);
      outputs = statementOutputs(acc, q, inner) ?? [];
      for (let i = 0; i < 2; i++) {
        ctes.set(name, outputs.map((o, j) => ({ ...o, name: aliases[j] ?? o.name, direct: null })));
        outputs = statementOutputs(acc, q, inner) ?? [];
      }
    } else outputs = statementOutputs(acc, q, inner) ?? [];
    ctes.set(
      name,
      outputs.map((o, j) => ({ ...o, name: aliases[j] ?? o.name })),
    );
  }
  return inner;
}

function selectOutputs(acc: Acc, node: unknown, outer: Scope | null): OutputColumn[] {
  const u = unwrap(node);
  if (!u || u[0] !== 'SelectStmt') return statementOutputs(acc, node, outer) ?? [];
  if (++acc.depth > MAX_DEPTH) {
    markOpaque(acc, 'the query nests too deeply to trace');
    acc.depth--;
    return [];
  }
  try {
    return selectBody(acc, u[1], outer);
  } finally {
    acc.depth--;
  }
}

function selectBody(acc: Acc, s: Obj, outer: Scope | null): OutputColumn[] {
  const base: Scope = { items: [], parent: outer, ctes: outer?.ctes ?? new Map() };
  const scope0 = withClause(acc, s.withClause, base);
  if (s.op && s.op !== 'SETOP_NONE') {
    const l = selectOutputs(acc, { SelectStmt: s.larg }, scope0);
    const r = selectOutputs(acc, { SelectStmt: s.rarg }, scope0);
    for (const k of ['sortClause', 'limitCount', 'limitOffset']) if (s[k]) collectPredicate(acc, s[k], scope0);
    return l.map((c, i) => {
      const out: OutputColumn = { name: c.name, sources: new Set(c.sources), direct: null, opaque: c.opaque };
      if (r[i]) merge(out, r[i]);
      return out;
    });
  }
  if (Array.isArray(s.valuesLists)) {
    const rows = s.valuesLists.map((row) => list(obj(row)?.List ? (obj(row)!.List as Obj).items : row));
    const width = Math.max(0, ...rows.map((r) => r.length));
    const outs: OutputColumn[] = Array.from({ length: width }, (_, i) => ({ name: `column${i + 1}`, ...emptySrc() }));
    for (const r of rows) r.forEach((e, i) => collect(acc, e, scope0, outs[i]));
    return outs;
  }
  const items: ScopeItem[] = [];
  for (const f of list(s.fromClause)) fromItem(acc, f, scope0, items);
  const scope: Scope = { items, parent: outer, ctes: scope0.ctes };
  const outputs = targetList(acc, s.targetList, scope);
  for (const k of ['whereClause', 'havingClause', 'groupClause', 'sortClause', 'windowClause', 'distinctClause', 'limitCount', 'limitOffset']) {
    if (s[k] !== undefined) collectPredicate(acc, s[k], scope);
  }
  if (s.intoClause) for (const o of outputs) for (const k of o.sources) acc.writesFrom.add(k);
  return outputs;
}

/** The outputs of any statement node that can return rows, or null. */
function statementOutputs(acc: Acc, node: unknown, scope: Scope | null): OutputColumn[] | null {
  const u = unwrap(node);
  if (!u) return null;
  const [type, body] = u;
  const base: Scope = scope ?? { items: [], parent: null, ctes: new Map() };
  switch (type) {
    case 'SelectStmt':
      return selectOutputs(acc, node, scope);
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return dmlOutputs(acc, type, body, base);
    default:
      return null;
  }
}

function dmlOutputs(acc: Acc, type: string, body: Obj, outer: Scope): OutputColumn[] | null {
  const scope0 = withClause(acc, body.withClause, outer);
  const items: ScopeItem[] = [];
  const rv = obj(body.relation);
  if (rv) items.push(relationItem(acc, rv, scope0));
  const scope: Scope = { items, parent: outer.items.length > 0 ? outer : null, ctes: scope0.ctes };
  const writes = (node: unknown, s: Scope) => {
    const src = emptySrc();
    collect(acc, node, s, src);
    for (const k of src.sources) acc.writesFrom.add(k);
    if (src.opaque) markOpaque(acc, 'written values derive from something opaque');
  };
  switch (type) {
    case 'InsertStmt': {
      if (body.selectStmt) for (const o of selectOutputs(acc, body.selectStmt, scope0)) for (const k of o.sources) acc.writesFrom.add(k);
      const oc = obj(body.onConflictClause);
      if (oc) {
        // `excluded` is the row proposed for insertion: the target's columns
        const target = items[0];
        const exc: ScopeItem | null = target ? { ...target, name: 'excluded' } : null;
        const s: Scope = { items: exc ? [...items, exc] : items, parent: null, ctes: scope0.ctes };
        writes(oc.targetList, s);
        if (oc.whereClause) collectPredicate(acc, oc.whereClause, s);
      }
      break;
    }
    case 'UpdateStmt':
      for (const f of list(body.fromClause)) fromItem(acc, f, scope, items);
      writes(body.targetList, scope);
      if (body.whereClause) collectPredicate(acc, body.whereClause, scope);
      break;
    case 'DeleteStmt':
      for (const f of list(body.usingClause)) fromItem(acc, f, scope, items);
      if (body.whereClause) collectPredicate(acc, body.whereClause, scope);
      break;
    case 'MergeStmt':
      if (body.sourceRelation) fromItem(acc, body.sourceRelation, scope, items);
      if (body.joinCondition) collectPredicate(acc, body.joinCondition, scope);
      for (const w of list(body.mergeWhenClauses)) {
        const wu = unwrap(w);
        if (!wu) continue;
        writes(wu[1].targetList, scope);
        writes(wu[1].values, scope);
        if (wu[1].condition) collectPredicate(acc, wu[1].condition, scope);
      }
      break;
  }
  // PostgreSQL 18 trees hold RETURNING in returningClause.exprs, older ones in returningList.
  const returning = Array.isArray(body.returningList) ? body.returningList : list(obj(body.returningClause)?.exprs);
  if (returning.length === 0) return null;
  return targetList(acc, returning, scope);
}

/** Lineage of one parsed statement (the `stmt` of a libpg_query parse result). */
export function statementLineage(stmt: unknown, cat: LineageCatalog): StatementLineage {
  const acc: Acc = { cat, predicates: new Set(), writesFrom: new Set(), opaque: false, reasons: [], depth: 0 };
  let outputs: StatementLineage['outputs'] = 'opaque';
  const u = unwrap(stmt);
  if (u) {
    const [type, body] = u;
    switch (type) {
      case 'SelectStmt':
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        outputs = statementOutputs(acc, stmt, null) ?? 'clean';
        break;
      case 'DeclareCursorStmt':
        outputs = statementOutputs(acc, body.query, null) ?? 'opaque';
        break;
      case 'ExplainStmt':
        // The plan is text about the query, not its rows; what it runs still reads predicates.
        statementOutputs(acc, body.query, null);
        outputs = 'clean';
        break;
      case 'CreateTableAsStmt': {
        const outs = statementOutputs(acc, body.query, null) ?? [];
        for (const o of outs) for (const k of o.sources) acc.writesFrom.add(k);
        outputs = 'clean';
        break;
      }
      case 'CopyStmt':
        if (body.is_from === true) outputs = 'clean';
        else if (body.query) outputs = statementOutputs(acc, body.query, null) ?? 'opaque';
        else if (obj(body.relation)) {
          const item = relationItem(acc, obj(body.relation)!, null);
          const att = names(body.attlist);
          const cols = att.length > 0 ? att.map((a) => item.columns.find((c) => c.name === a)) : item.columns;
          outputs = item.opaque || cols.some((c) => c === undefined) ? 'opaque' : cols.map((c) => ({ name: c!.name, ...c!.src, sources: new Set(c!.src.sources) }));
        }
        break;
      case 'PrepareStmt':
        // what EXECUTE of it returns
        return statementLineage(body.query, cat);
      case 'VariableShowStmt':
      case 'TransactionStmt':
      case 'VariableSetStmt':
        outputs = 'clean';
        break;
      case 'CallStmt':
      case 'DoStmt':
        markOpaque(acc, `${type === 'DoStmt' ? 'a DO block' : 'a procedure call'} is opaque`);
        outputs = 'opaque';
        break;
      default:
        outputs = 'opaque';
    }
  }
  return { outputs, predicates: acc.predicates, writesFrom: acc.writesFrom, opaque: acc.opaque, opaqueReasons: acc.reasons };
}
