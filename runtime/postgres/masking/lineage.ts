// Column lineage from the parse tree (spec/masking.md §2): for every output column of a
// statement, the source columns its value derives from and whether it passes one through
// unchanged; the source columns read by predicates (WHERE, JOIN, ORDER BY, GROUP BY, HAVING,
// window clauses, aggregate FILTERs, LIMIT); the source columns whose values flow into written
// data (INSERT … SELECT, UPDATE … SET, CREATE TABLE AS, SELECT INTO, MERGE) or into functions
// that may keep or send them (anything but a computing built-in); the relations and columns a
// statement renames or detaches (their masks would stop applying); and everything the analysis
// cannot see through (opaque functions, unknown relations, stale catalog), which the masking
// plan treats as possibly derived from every masked column (fail closed).
//
// A source column is written `relationKey\0column`, the relation key as the classifier writes
// it (`public.customers`). Views are followed through their definitions.
//
// Where the number of columns is unknown (a function in FROM whose result type the gateway does
// not know, a relation the catalog does not know), a *span* stands for zero or more columns:
// `*` over it yields one span output, and the plan aligns a result's fields with the outputs
// before and after the spans (plan.ts).

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
  /** stands for zero or more result columns whose number is unknown */
  span?: boolean;
}

export interface RelationInfo {
  /** canonical key, `schema.name` */
  key: string;
  /** r table, v view, m materialized view, p partitioned table, f foreign table, ... */
  kind: string;
  columns: readonly string[];
  /** keys of the relations whose rows are this relation's rows too (partition and inheritance parents and children) */
  related?: readonly string[];
  /** the relation holds values of other columns or other sessions' statements (pg_stats, pg_stat_activity, …) */
  valueHolding?: boolean;
}

/** What lineage needs from the target's catalog. */
export interface LineageCatalog {
  /** a relation named `schema.name`, or null when the catalog does not know it */
  relation(schema: string, name: string): RelationInfo | null;
  /** an unqualified relation name through the session's search path, or null (unknown or ambiguous) */
  resolveRelation(name: string): RelationInfo | null;
  /** the lineage of a view's columns, by position, from its definition; null if it cannot be traced */
  viewLineage(view: RelationInfo): Src[] | null;
  /** a function call that only computes (a pg_catalog built-in outside the SQL-running and dangerous sets) */
  isComputingFunction(funcname: readonly string[], argc: number): boolean;
  /** a built-in that returns a set: how many rows there are depends on its arguments */
  isSetReturning(funcname: readonly string[]): boolean;
}

export interface StatementLineage {
  /**
   * the statement's result columns; `clean` when its rows are not data read from relations
   * (SHOW, EXPLAIN) or it returns none; `opaque` when rows it returns cannot be traced (CALL)
   */
  outputs: OutputColumn[] | 'clean' | 'opaque';
  /** every source column the statement reads, wherever (its error texts are withheld when one is masked) */
  reads: Set<string>;
  predicates: Set<string>;
  /**
   * source columns of values computed in a select list at any level — outputs of the statement,
   * of subqueries and CTEs, also those the statement then drops: a computation can fail by the
   * value (`1 / (ascii(ssn) - 48)`), whether or not its result is returned
   */
  computed: Set<string>;
  writesFrom: Set<string>;
  /** values written, or passed to functions that may keep them, derive from something untraceable */
  writesOpaque: boolean;
  /** relations (`key\0*`) and columns the statement renames, moves or detaches */
  unmasks: Set<string>;
  /** the statement's rows, plan or written data come from a prepared statement (EXECUTE name) */
  executes: { name: string; as: 'rows' | 'explain' | 'write' } | null;
  /** the statement contains something the analysis cannot see through */
  opaque: boolean;
  /** why, for logs and denials */
  opaqueReasons: string[];
}

interface Acc {
  cat: LineageCatalog;
  reads: Set<string>;
  predicates: Set<string>;
  computed: Set<string>;
  writesFrom: Set<string>;
  writesOpaque: boolean;
  unmasks: Set<string>;
  executes: StatementLineage['executes'];
  opaque: boolean;
  reasons: string[];
  depth: number;
  /** query levels analysed so far: a statement that takes more is untraceable */
  work: number;
}

/** A column of a FROM item: named, or a span (name null) standing for unknown columns. */
interface Col {
  name: string | null;
  src: Src;
}

interface ScopeItem {
  /** the name it is referred to by (alias, relation name, CTE name, function name) */
  name: string | null;
  columns: Col[];
}

/** One entry of a FROM list: the items its names resolve to, and what `*` expands it to. */
interface FromEntry {
  items: ScopeItem[];
  star: Col[];
}

interface Scope {
  items: ScopeItem[];
  parent: Scope | null;
  ctes: Map<string, Col[]>;
}

const MAX_DEPTH = 200;
const MAX_FIXPOINT = 64;
const MAX_WORK = 20_000;

const emptySrc = (): Src => ({ sources: new Set(), direct: null, opaque: false });
const opaqueSrc = (): Src => ({ sources: new Set(), direct: null, opaque: true });
const copySrc = (s: Src): Src => ({ sources: new Set(s.sources), direct: s.direct, opaque: s.opaque });

function merge(into: Src, from: Src): void {
  for (const s of from.sources) into.sources.add(s);
  if (from.opaque) into.opaque = true;
}

function mergedOf(srcs: Iterable<Src>): Src {
  const out = emptySrc();
  for (const s of srcs) merge(out, s);
  return out;
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

function aliasOf(v: unknown): { name: string | null; columns: string[] } {
  const a = obj(v);
  return { name: a && typeof a.aliasname === 'string' ? a.aliasname : null, columns: a ? names(a.colnames) : [] };
}

/** Renames the first columns as a column alias list says; names past a span fall in the span. */
function applyColumnAliases(cols: Col[], aliases: readonly string[]): Col[] {
  if (aliases.length === 0) return cols;
  const out: Col[] = [];
  let i = 0;
  for (; i < cols.length && i < aliases.length; i++) {
    if (cols[i].name === null) break;
    out.push({ name: aliases[i], src: cols[i].src });
  }
  if (i < aliases.length && i < cols.length) {
    // An alias past a span may name any column from there on.
    const rest = mergedOf(cols.slice(i).map((c) => c.src));
    for (const a of aliases.slice(i)) out.push({ name: a, src: { ...copySrc(rest), direct: null } });
    out.push({ name: null, src: rest });
    return out;
  }
  return [...out, ...cols.slice(i)];
}

function colsOfOutputs(outputs: readonly OutputColumn[]): Col[] {
  return outputs.map((o) => ({ name: o.span ? null : o.name, src: o }));
}

/**
 * Aligns outputs (which may hold spans) with a known number of columns: the outputs before the
 * first span and after the last one by position, everything in between merged. Null when the
 * outputs cannot be that many columns.
 */
export function alignOutputs(outputs: readonly (Src & { span?: boolean })[], count: number): Src[] | null {
  const first = outputs.findIndex((o) => o.span);
  if (first < 0) return outputs.length === count ? outputs.map(copySrc) : null;
  let last = first;
  for (let i = outputs.length - 1; i > first; i--) {
    if (outputs[i].span) {
      last = i;
      break;
    }
  }
  const prefix = outputs.slice(0, first);
  const suffix = outputs.slice(last + 1);
  const spanned = outputs.slice(first, last + 1).filter((o) => !o.span).length;
  if (prefix.length + suffix.length + spanned > count) return null;
  const middle = { ...mergedOf(outputs.slice(first, last + 1)), direct: null };
  const out: Src[] = prefix.map(copySrc);
  for (let i = prefix.length; i < count - suffix.length; i++) out.push(copySrc(middle));
  for (const s of suffix) out.push(copySrc(s));
  return out;
}

// ---------------------------------------------------------------------------------------------
// FROM items

function relationColumns(acc: Acc, rel: RelationInfo): Src[] {
  if (rel.valueHolding) {
    markOpaque(acc, `${rel.key} holds values of other columns or sessions`);
    return rel.columns.map(() => opaqueSrc());
  }
  if (rel.kind === 'v' || rel.kind === 'm') {
    const v = acc.depth < MAX_DEPTH ? acc.cat.viewLineage(rel) : null;
    // A view's column is a source too: a mask on it masks what is read through it.
    const own = (src: Src, i: number) => {
      src.sources.add(columnKey(rel.key, rel.columns[i]));
      return src;
    };
    if (!v || v.length !== rel.columns.length) {
      markOpaque(acc, `the definition of ${rel.key} cannot be traced`);
      return rel.columns.map((_, i) => own(opaqueSrc(), i));
    }
    return v.map((x, i) => own(copySrc(x), i));
  }
  return rel.columns.map((c) => {
    const key = columnKey(rel.key, c);
    const src: Src = { sources: new Set([key]), direct: key, opaque: false };
    // A partition's rows are its parent's rows, and a parent's rows include its children's.
    for (const r of rel.related ?? []) src.sources.add(columnKey(r, c));
    return src;
  });
}

function relationEntry(acc: Acc, rv: Obj, scope: Scope | null): FromEntry {
  const relname = typeof rv.relname === 'string' ? rv.relname : '';
  const schema = typeof rv.schemaname === 'string' ? rv.schemaname : null;
  const alias = aliasOf(rv.alias);
  const name = alias.name ?? relname;
  // A CTE name in scope shadows a relation of the same (unqualified) name.
  if (schema === null) {
    for (let s: Scope | null = scope; s; s = s.parent) {
      const cte = s.ctes.get(relname);
      if (cte) {
        const columns = applyColumnAliases(cte.map((c) => ({ name: c.name, src: copySrc(c.src) })), alias.columns);
        return { items: [{ name, columns }], star: columns };
      }
    }
  }
  const rel = schema !== null ? acc.cat.relation(schema, relname) : acc.cat.resolveRelation(relname);
  if (!rel) {
    markOpaque(acc, `relation ${schema ? `${schema}.` : ''}${relname} is not in the gateway's catalog`);
    const columns = applyColumnAliases([{ name: null, src: opaqueSrc() }], alias.columns);
    return { items: [{ name, columns }], star: columns };
  }
  const srcs = relationColumns(acc, rel);
  const columns = applyColumnAliases(
    rel.columns.map((c, i) => ({ name: c, src: srcs[i] })),
    alias.columns,
  );
  return { items: [{ name, columns }], star: columns };
}

function functionEntry(acc: Acc, body: Obj, scope: Scope): FromEntry {
  const src = emptySrc();
  let fname: string | null = null;
  let defs: string[] = [];
  for (const pair of list(body.functions)) {
    const pu = unwrap(pair);
    const parts = pu && pu[0] === 'List' ? list(pu[1].items) : list(pair);
    parts.forEach((f, i) => {
      if (f === null) return;
      if (i === 0) {
        const fu = unwrap(f);
        if (fu && fu[0] === 'FuncCall') fname ??= names(fu[1].funcname).at(-1) ?? null;
        collect(acc, f, scope, src);
      } else {
        // the column definition list of one function of ROWS FROM
        defs = defs.concat(columnDefNames(f));
      }
    });
  }
  defs = defs.concat(columnDefNames(body.coldeflist));
  const alias = aliasOf(body.alias);
  // what a function in FROM is given decides how many rows it yields (generate_series(1, f(ssn))):
  // a condition on those values, as much as a WHERE
  for (const s of src.sources) acc.predicates.add(s);
  src.direct = null;
  let columns: Col[];
  if (defs.length > 0 && list(body.functions).length === 1) {
    // A column definition list gives every column.
    columns = defs.map((d) => ({ name: d, src: copySrc(src) }));
    if (body.ordinality === true) columns.push({ name: 'ordinality', src: emptySrc() });
    columns = applyColumnAliases(columns, alias.columns);
  } else {
    // The columns of a set-returning function all derive from its arguments; how many there
    // are and their names are unknown without the function's result type.
    columns = applyColumnAliases([{ name: null, src: copySrc(src) }], alias.columns);
  }
  return { items: [{ name: alias.name ?? fname, columns }], star: columns };
}

function columnDefNames(v: unknown): string[] {
  const out: string[] = [];
  for (const d of list(v)) {
    const u = unwrap(d);
    if (u && u[0] === 'ColumnDef' && typeof u[1].colname === 'string') out.push(u[1].colname);
  }
  return out;
}

function joinEntry(acc: Acc, body: Obj, scope: Scope, before: ScopeItem[]): FromEntry {
  const left = fromEntry(acc, body.larg, scope, before);
  const right = fromEntry(acc, body.rarg, scope, [...before, ...left.items]);
  const items = [...left.items, ...right.items];
  const joinScope: Scope = { items: [...scope.items, ...before, ...items], parent: scope.parent, ctes: scope.ctes };
  if (body.quals) collectPredicate(acc, body.quals, joinScope);
  // USING and NATURAL merge the join columns: `*` expands them once, first.
  let using = names(body.usingClause);
  let star: Col[];
  const leftSpan = left.star.some((c) => c.name === null);
  const rightSpan = right.star.some((c) => c.name === null);
  if (body.isNatural === true) {
    if (leftSpan || rightSpan) using = [];
    else using = left.star.filter((c) => right.star.some((r) => r.name === c.name)).map((c) => c.name as string);
  }
  if (body.isNatural === true && (leftSpan || rightSpan)) {
    // Which columns NATURAL merges is unknown: every column could be any.
    star = [{ name: null, src: { ...mergedOf([...left.star, ...right.star].map((c) => c.src)), direct: null } }];
  } else if (using.length > 0) {
    const merged: Col[] = [];
    const takeFrom = (side: Col[], u: string): { rest: Col[]; src: Src } => {
      const i = side.findIndex((c) => c.name === u);
      if (i >= 0) return { rest: side.filter((_, j) => j !== i), src: side[i].src };
      // the column is in a span of this side
      return { rest: side, src: mergedOf(side.filter((c) => c.name === null).map((c) => c.src)) };
    };
    let l = left.star;
    let r = right.star;
    for (const u of using) {
      const a = takeFrom(l, u);
      const b = takeFrom(r, u);
      l = a.rest;
      r = b.rest;
      const src = mergedOf([a.src, b.src]);
      src.direct = null;
      for (const k of src.sources) acc.predicates.add(k);
      merged.push({ name: u, src });
    }
    star = [...merged, ...l, ...r];
  } else star = [...left.star, ...right.star];
  const alias = aliasOf(body.alias);
  if (alias.name !== null) {
    const columns = applyColumnAliases(star, alias.columns);
    return { items: [...items, { name: alias.name, columns }], star: columns };
  }
  return { items, star };
}

function fromEntry(acc: Acc, node: unknown, scope: Scope, before: ScopeItem[]): FromEntry {
  const u = unwrap(node);
  if (!u) return { items: [], star: [] };
  const [type, body] = u;
  // LATERAL items see the items before them; others do not, but seeing more only adds sources.
  const inner: Scope = { items: [...scope.items, ...before], parent: scope.parent, ctes: scope.ctes };
  switch (type) {
    case 'RangeVar':
      return relationEntry(acc, body, scope);
    case 'RangeSubselect': {
      const outputs = selectOutputs(acc, body.subquery, inner);
      const alias = aliasOf(body.alias);
      const columns = applyColumnAliases(colsOfOutputs(outputs), alias.columns);
      return { items: [{ name: alias.name, columns }], star: columns };
    }
    case 'RangeFunction':
      return functionEntry(acc, body, inner);
    case 'JoinExpr':
      return joinEntry(acc, body, scope, before);
    case 'RangeTableSample': {
      const e = fromEntry(acc, body.relation, scope, before);
      collect(acc, body.args, scope, emptySrc());
      return e;
    }
    default: {
      // XMLTABLE, JSON_TABLE and the like: columns derive from their arguments.
      const src = emptySrc();
      collect(acc, body, inner, src);
      src.direct = null;
      const alias = aliasOf(body.alias);
      const columns = applyColumnAliases([{ name: null, src }], alias.columns);
      return { items: [{ name: alias.name, columns }], star: columns };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions

function wholeRow(item: ScopeItem): Src {
  const src = mergedOf(item.columns.map((c) => c.src));
  src.direct = null;
  return src;
}

function findItem(scope: Scope, name: string): ScopeItem | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const it = s.items.find((i) => i.name === name);
    if (it) return it;
  }
  return null;
}

/**
 * An unqualified name: a column of an item at the innermost level that has one; failing that,
 * a whole-row reference to an item of that name. Columns hidden in spans may hold the name at
 * any level, so what they derive from is added on the way out.
 */
function findColumn(scope: Scope, name: string): Src | null {
  // what columns hidden in spans of inner levels derive from (one of them may be the name)
  const maybe = emptySrc();
  let anyMaybe = false;
  for (let s: Scope | null = scope; s; s = s.parent) {
    const hit = emptySrc();
    const levelMaybe = emptySrc();
    let found = 0;
    let levelHasSpan = false;
    for (const it of s.items) {
      for (const c of it.columns) {
        if (c.name === name) {
          merge(hit, c.src);
          if (found === 0) hit.direct = c.src.direct;
          found++;
        } else if (c.name === null) {
          merge(levelMaybe, c.src);
          levelHasSpan = true;
        }
      }
    }
    if (found > 0) {
      // A span at the same level cannot hold the name too: the server would call it ambiguous.
      if (found > 1 || anyMaybe) hit.direct = null;
      if (anyMaybe) merge(hit, maybe);
      return hit;
    }
    if (levelHasSpan) {
      merge(maybe, levelMaybe);
      anyMaybe = true;
    }
  }
  // A whole-row reference: `SELECT c FROM customers c`, `row_to_json(c)`.
  const item = findItem(scope, name);
  if (item) {
    const src = wholeRow(item);
    if (anyMaybe) merge(src, maybe);
    return src;
  }
  return anyMaybe ? { ...maybe, direct: null } : null;
}

function noteRead(acc: Acc, src: Src): Src {
  for (const k of src.sources) acc.reads.add(k);
  return src;
}

function columnRef(acc: Acc, body: Obj, scope: Scope): Src {
  const fields = list(body.fields);
  const parts = fields.map((f) => str(f));
  const star = fields.length > 0 && unwrap(fields[fields.length - 1])?.[0] === 'A_Star';
  if (star) {
    if (fields.length === 1) return noteRead(acc, mergedOf(scope.items.map(wholeRow)));
    const it = findItem(scope, parts[fields.length - 2] ?? '');
    if (it) return noteRead(acc, wholeRow(it));
    markOpaque(acc, `${parts.slice(0, -1).join('.')}.* cannot be resolved`);
    return opaqueSrc();
  }
  if (parts.some((p) => p === null)) return opaqueSrc();
  const p = parts as string[];
  if (p.length === 1) {
    const hit = findColumn(scope, p[0]);
    if (hit) return noteRead(acc, hit);
    markOpaque(acc, `column ${p[0]} cannot be resolved`);
    return opaqueSrc();
  }
  // `t.c`, `s.t.c`, `db.s.t.c`: the item is named by the part before the column.
  const it = findItem(scope, p[p.length - 2]);
  if (!it) {
    markOpaque(acc, `${p.join('.')} cannot be resolved`);
    return opaqueSrc();
  }
  const col = it.columns.find((c) => c.name === p[p.length - 1]);
  if (col) return noteRead(acc, copySrc(col.src));
  // a column hidden in a span, or `t.f` as a function of the row: the whole row
  return noteRead(acc, wholeRow(it));
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
        // an ordered-set aggregate's WITHIN GROUP (ORDER BY …) items are its arguments too
        const argc = list(body.args).length + (body.agg_within_group === true ? list(body.agg_order).length : 0);
        const args = emptySrc();
        for (const k of ['args', 'agg_order']) if (body[k] !== undefined) collect(acc, body[k], scope, args);
        if (!acc.cat.isComputingFunction(fname, argc)) {
          // It may keep or send what it is given (set_config, pg_notify, a user function that
          // inserts): its arguments are written out of the gateway's sight.
          into.opaque = true;
          markOpaque(acc, `function ${fname.join('.')} is opaque`);
          for (const k of args.sources) acc.writesFrom.add(k);
          if (args.opaque) acc.writesOpaque = true;
        }
        // a set-returning function in a select list makes as many rows as its arguments say
        if (acc.cat.isSetReturning(fname)) for (const k of args.sources) acc.predicates.add(k);
        merge(into, args);
        // FILTER (WHERE …) and OVER (PARTITION BY … ORDER BY …) choose and order rows: predicates,
        // and the value derives from them as well.
        if (body.agg_filter !== undefined) merge(into, collectPredicate(acc, body.agg_filter, scope));
        if (body.over !== undefined) merge(into, collectPredicate(acc, body.over, scope));
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

function collectPredicate(acc: Acc, node: unknown, scope: Scope): Src {
  const src = emptySrc();
  collect(acc, node, scope, src);
  for (const s of src.sources) acc.predicates.add(s);
  return src;
}

// ---------------------------------------------------------------------------------------------
// Queries

function targetName(rt: Obj): string {
  if (typeof rt.name === 'string') return rt.name;
  const u = unwrap(rt.val);
  if (u?.[0] === 'ColumnRef') {
    const last = names(u[1].fields).at(-1);
    if (last) return last;
  }
  if (u?.[0] === 'FuncCall') return names(u[1].funcname).at(-1) ?? '?column?';
  return '?column?';
}

function targetList(acc: Acc, targets: unknown, scope: Scope, star: Col[]): OutputColumn[] {
  const out: OutputColumn[] = [];
  for (const t of list(targets)) {
    const u = unwrap(t);
    if (!u || u[0] !== 'ResTarget') continue;
    const rt = u[1];
    const val = unwrap(rt.val);
    if (val && val[0] === 'ColumnRef') {
      const fields = list(val[1].fields);
      const last = unwrap(fields[fields.length - 1]);
      if (last && last[0] === 'A_Star') {
        // `*` and `t.*` expand to one output per column (a span for unknown ones)
        let cols: Col[];
        if (fields.length === 1) cols = star;
        else {
          const it = findItem(scope, str(fields[fields.length - 2]) ?? '');
          if (!it) {
            markOpaque(acc, 'a `*` over a relation that cannot be resolved');
            cols = [{ name: null, src: opaqueSrc() }];
          } else cols = it.columns;
        }
        for (const c of cols) {
          noteRead(acc, c.src);
          out.push({ name: c.name ?? '*', ...copySrc(c.src), ...(c.name === null ? { span: true } : {}) });
        }
        continue;
      }
      const src = columnRef(acc, val[1], scope);
      out.push({ name: targetName(rt), ...src });
      continue;
    }
    const src = emptySrc();
    collect(acc, rt.val, scope, src);
    src.direct = null;
    out.push({ name: targetName(rt), ...src });
  }
  return out;
}

function withClause(acc: Acc, w: unknown, scope: Scope): Scope {
  const wc = obj(w);
  if (!wc) return scope;
  const ctes = new Map(scope.ctes);
  const inner: Scope = { items: scope.items, parent: scope.parent, ctes };
  const defs: { name: string; aliases: string[]; query: unknown }[] = [];
  for (const c of list(wc.ctes)) {
    const u = unwrap(c);
    if (!u || u[0] !== 'CommonTableExpr') continue;
    defs.push({ name: typeof u[1].ctename === 'string' ? u[1].ctename : '', aliases: names(u[1].aliascolnames), query: u[1].ctequery });
  }
  const columnsOf = (d: (typeof defs)[number], outputs: OutputColumn[]): Col[] => applyColumnAliases(colsOfOutputs(outputs), d.aliases);
  if (wc.recursive !== true) {
    for (const d of defs) ctes.set(d.name, columnsOf(d, statementOutputs(acc, d.query, inner) ?? []));
    return inner;
  }
  // WITH RECURSIVE: every CTE sees every other (forward references too) and itself. Start from
  // CTEs that derive from nothing and iterate until no source set grows: the fixed point.
  for (const d of defs) ctes.set(d.name, d.aliases.length > 0 ? d.aliases.map((a) => ({ name: a, src: emptySrc() })) : [{ name: null, src: emptySrc() }]);
  const signature = () =>
    defs
      .map((d) =>
        (ctes.get(d.name) ?? [])
          .map((c) => `${c.name ?? '\u0001'}:${c.src.opaque ? 1 : 0}:${[...c.src.sources].sort().join(',')}`)
          .join(';'),
      )
      .join('|');
  let before = '';
  for (let round = 0; round < MAX_FIXPOINT; round++) {
    const now = signature();
    if (now === before) return inner;
    before = now;
    for (const d of defs) {
      const outputs = statementOutputs(acc, d.query, inner) ?? [];
      const prev = ctes.get(d.name) ?? [];
      // Sources only accumulate: a column's sources are those of every round.
      const next = columnsOf(d, outputs).map((c, i) => {
        const src = { ...copySrc(c.src), direct: null };
        const p = prev[i];
        if (p && p.name === c.name) merge(src, p.src);
        return { name: c.name, src };
      });
      ctes.set(d.name, next);
    }
  }
  markOpaque(acc, 'a recursive query whose lineage does not settle');
  for (const d of defs) ctes.set(d.name, [{ name: null, src: opaqueSrc() }]);
  return inner;
}

function selectOutputs(acc: Acc, node: unknown, outer: Scope | null): OutputColumn[] {
  const u = unwrap(node);
  if (!u || u[0] !== 'SelectStmt') return statementOutputs(acc, node, outer) ?? [];
  if (++acc.depth > MAX_DEPTH || ++acc.work > MAX_WORK) {
    markOpaque(acc, 'the query nests too deeply to trace');
    acc.depth--;
    return [{ name: '?column?', ...opaqueSrc(), span: true }];
  }
  try {
    return selectBody(acc, u[1], outer);
  } finally {
    acc.depth--;
  }
}

/** The outputs of a set operation: branch columns by position, or merged where spans hide positions. */
function setOpOutputs(l: OutputColumn[], r: OutputColumn[]): OutputColumn[] {
  const lSpan = l.some((o) => o.span);
  const rSpan = r.some((o) => o.span);
  if (!lSpan && !rSpan && l.length === r.length) {
    return l.map((c, i) => {
      const out: OutputColumn = { name: c.name, ...copySrc(c), direct: null };
      merge(out, r[i]);
      return out;
    });
  }
  if (!lSpan || !rSpan) {
    // one branch has an exact shape: every column may come from anything of the other
    const [shape, other] = !lSpan ? [l, r] : [r, l];
    const all = mergedOf(other);
    return shape.map((c, i) => {
      const out: OutputColumn = { name: (l[i] && !l[i].span ? l[i].name : c.name) ?? c.name, ...copySrc(c), direct: null };
      merge(out, all);
      return out;
    });
  }
  return [{ name: '?column?', ...mergedOf([...l, ...r]), direct: null, span: true }];
}

/** ORDER BY / GROUP BY / DISTINCT ON items that name an output by position or by its name. */
function outputReferences(acc: Acc, clause: unknown, outputs: OutputColumn[], scope: Scope, inputFirst: boolean): void {
  const spans = outputs.some((o) => o.span);
  for (const item of list(clause)) {
    const u = unwrap(item);
    const expr = u && u[0] === 'SortBy' ? u[1].node : item;
    const e = unwrap(expr);
    if (!e) continue;
    if (e[0] === 'A_Const') {
      const ival = obj(e[1].ival);
      const n = ival && typeof ival.ival === 'number' ? ival.ival : null;
      if (n === null) continue;
      // with spans, position n may be any output from the first span on
      const targets = spans ? outputs.slice(Math.min(n - 1, outputs.findIndex((o) => o.span))) : outputs.slice(n - 1, n);
      for (const o of targets) for (const k of o.sources) acc.predicates.add(k);
      continue;
    }
    if (e[0] === 'ColumnRef') {
      const f = names(e[1].fields);
      if (f.length !== 1 || list(e[1].fields).length !== 1) continue;
      // ORDER BY prefers an output name, GROUP BY an input column; either may be meant.
      if (inputFirst && findColumn(scope, f[0])) continue;
      for (const o of outputs) if (o.name === f[0] || o.span) for (const k of o.sources) acc.predicates.add(k);
    }
  }
}

function selectBody(acc: Acc, s: Obj, outer: Scope | null): OutputColumn[] {
  const base: Scope = { items: [], parent: outer, ctes: outer?.ctes ?? new Map() };
  const scope0 = withClause(acc, s.withClause, base);
  if (s.op && s.op !== 'SETOP_NONE') {
    const l = selectOutputs(acc, { SelectStmt: s.larg }, scope0);
    const r = selectOutputs(acc, { SelectStmt: s.rarg }, scope0);
    const outputs = setOpOutputs(l, r);
    for (const k of ['limitCount', 'limitOffset']) if (s[k]) collectPredicate(acc, s[k], scope0);
    if (s.sortClause) {
      const sc: Scope = { items: [{ name: null, columns: colsOfOutputs(outputs) }], parent: scope0.parent, ctes: scope0.ctes };
      collectPredicate(acc, s.sortClause, sc);
      outputReferences(acc, s.sortClause, outputs, sc, false);
    }
    if (s.intoClause) for (const o of outputs) writeOutput(acc, o);
    return outputs;
  }
  if (Array.isArray(s.valuesLists)) {
    const rows = s.valuesLists.map((row) => list(obj(row)?.List ? (obj(row)!.List as Obj).items : row));
    const width = Math.max(0, ...rows.map((r) => r.length));
    const outs: OutputColumn[] = Array.from({ length: width }, (_, i) => ({ name: `column${i + 1}`, ...emptySrc() }));
    for (const r of rows) r.forEach((e, i) => collect(acc, e, scope0, outs[i]));
    return outs;
  }
  const entries: FromEntry[] = [];
  const items: ScopeItem[] = [];
  for (const f of list(s.fromClause)) {
    const e = fromEntry(acc, f, scope0, items);
    entries.push(e);
    items.push(...e.items);
  }
  const scope: Scope = { items, parent: outer, ctes: scope0.ctes };
  const outputs = targetList(
    acc,
    s.targetList,
    scope,
    entries.flatMap((e) => e.star),
  );
  for (const o of outputs) if (o.span || o.direct === null) for (const k of o.sources) acc.computed.add(k);
  for (const k of ['whereClause', 'havingClause', 'groupClause', 'sortClause', 'windowClause', 'distinctClause', 'limitCount', 'limitOffset']) {
    if (s[k] !== undefined) collectPredicate(acc, s[k], scope);
  }
  if (s.sortClause) outputReferences(acc, s.sortClause, outputs, scope, false);
  if (s.groupClause) outputReferences(acc, s.groupClause, outputs, scope, true);
  if (Array.isArray(s.distinctClause)) outputReferences(acc, s.distinctClause, outputs, scope, false);
  if (s.intoClause) for (const o of outputs) writeOutput(acc, o);
  return outputs;
}

function writeOutput(acc: Acc, o: Src): void {
  for (const k of o.sources) acc.writesFrom.add(k);
  if (o.opaque) acc.writesOpaque = true;
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
  const rv = obj(body.relation);
  const entries: FromEntry[] = rv ? [relationEntry(acc, rv, scope0)] : [];
  const items: ScopeItem[] = entries.flatMap((e) => e.items);
  const scope: Scope = { items, parent: outer.items.length > 0 ? outer : null, ctes: scope0.ctes };
  const writes = (node: unknown, s: Scope) => {
    const src = emptySrc();
    collect(acc, node, s, src);
    writeOutput(acc, src);
  };
  switch (type) {
    case 'InsertStmt': {
      if (body.selectStmt) for (const o of selectOutputs(acc, body.selectStmt, scope0)) writeOutput(acc, o);
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
      for (const f of list(body.fromClause)) {
        const e = fromEntry(acc, f, scope, items);
        entries.push(e);
        items.push(...e.items);
      }
      writes(body.targetList, scope);
      if (body.whereClause) collectPredicate(acc, body.whereClause, scope);
      break;
    case 'DeleteStmt':
      for (const f of list(body.usingClause)) {
        const e = fromEntry(acc, f, scope, items);
        entries.push(e);
        items.push(...e.items);
      }
      if (body.whereClause) collectPredicate(acc, body.whereClause, scope);
      break;
    case 'MergeStmt':
      if (body.sourceRelation) {
        const e = fromEntry(acc, body.sourceRelation, scope, items);
        entries.push(e);
        items.push(...e.items);
      }
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
  // RETURNING * is the target relation's columns
  return targetList(acc, returning, scope, entries[0]?.star ?? []);
}

// ---------------------------------------------------------------------------------------------
// Statements

/** The relation a RangeVar names, from the catalog. */
function namedRelation(acc: Acc, rv: Obj | null): RelationInfo | null {
  if (!rv) return null;
  const relname = typeof rv.relname === 'string' ? rv.relname : '';
  return typeof rv.schemaname === 'string' ? acc.cat.relation(rv.schemaname, relname) : acc.cat.resolveRelation(relname);
}

/** In `unmasks`: a relation the catalog does not know (it may have masks). */
export const UNKNOWN_RELATION = `?${COLUMN_SEPARATOR}*`;

/** A rename, move or detach: the masks of what it touches would stop applying. */
function unmasking(acc: Acc, type: string, body: Obj): void {
  const relationWide = (rel: RelationInfo | null) => {
    if (!rel) {
      acc.unmasks.add(UNKNOWN_RELATION);
      return;
    }
    acc.unmasks.add(columnKey(rel.key, '*'));
    for (const c of rel.columns) acc.unmasks.add(columnKey(rel.key, c));
    for (const r of rel.related ?? []) acc.unmasks.add(columnKey(r, '*'));
  };
  if (type === 'RenameStmt') {
    const rel = namedRelation(acc, obj(body.relation));
    const relational = ['OBJECT_COLUMN', 'OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE'].includes(String(body.renameType));
    if (!rel) {
      if (relational) acc.unmasks.add(UNKNOWN_RELATION);
      return;
    }
    // ALTER TYPE t RENAME ATTRIBUTE renames a column when t is a table's row type (a type that
    // is no relation resolves to nothing above and holds no masked data of its own)
    if ((body.renameType === 'OBJECT_COLUMN' || body.renameType === 'OBJECT_ATTRIBUTE') && typeof body.subname === 'string') {
      acc.unmasks.add(columnKey(rel.key, body.subname));
      for (const r of rel.related ?? []) acc.unmasks.add(columnKey(r, body.subname));
      acc.unmasks.add(columnKey(rel.key, '*'));
    } else if (['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE'].includes(String(body.renameType))) relationWide(rel);
    return;
  }
  if (type === 'AlterObjectSchemaStmt') {
    if (['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE'].includes(String(body.objectType))) relationWide(namedRelation(acc, obj(body.relation)));
    return;
  }
  if (type === 'AlterTableStmt') {
    const rel = namedRelation(acc, obj(body.relation));
    for (const c of list(body.cmds)) {
      const cu = unwrap(c);
      if (!cu) continue;
      const sub = String(cu[1].subtype);
      if (sub === 'AT_DetachPartition' || sub === 'AT_DropInherit' || sub === 'AT_DetachPartitionFinalize') {
        // the partition or child leaves the parent whose masks covered it
        relationWide(rel);
        const def = obj(cu[1].def);
        const pc = def ? (obj(def.PartitionCmd) ?? def) : null;
        const part = namedRelation(acc, obj(pc?.name) ?? obj(def?.RangeVar) ?? null);
        relationWide(part);
      }
    }
  }
}

/** A scope holding one relation's columns, for expressions written in a DDL statement about it. */
function relationScope(acc: Acc, rv: Obj | null): { entry: FromEntry | null; scope: Scope } {
  const base: Scope = { items: [], parent: null, ctes: new Map() };
  const entry = rv ? relationEntry(acc, rv, base) : null;
  return { entry, scope: { items: entry ? entry.items : [], parent: null, ctes: base.ctes } };
}

/** A row security policy's USING and WITH CHECK: conditions on the table's rows, as a WHERE is. */
function policyPredicates(acc: Acc, body: Obj): void {
  if (!body.qual && !body.with_check) return;
  const { scope } = relationScope(acc, obj(body.table));
  if (body.qual) collectPredicate(acc, body.qual, scope);
  if (body.with_check) collectPredicate(acc, body.with_check, scope);
}

/** ALTER TABLE subcommands whose `def` is an expression stored for the column */
const STORED_EXPRESSION = new Set(['AT_ColumnDefault', 'AT_CookedColumnDefault', 'AT_SetExpression']);

/**
 * Values a table stores from expressions when it is created or altered — a generated column, an
 * `ALTER COLUMN … TYPE … USING`, a default — are written into it, as an UPDATE's SET would write
 * them: `ADD COLUMN copy text GENERATED ALWAYS AS (ssn) STORED` copies every SSN into a column
 * without a mask. A CHECK constraint is a condition on the rows.
 */
function storedExpressions(acc: Acc, body: Obj, creating: boolean): void {
  const rv = obj(body.relation);
  // CREATE TABLE: the new table holds no rows yet, so only defaults (no column references) store anything
  const stored: { expr: unknown; column: string | null }[] = [];
  const checks: unknown[] = [];
  const fromColumnDef = (cd: Obj | null, column: string | null) => {
    if (!cd) return;
    if (cd.raw_default) stored.push({ expr: cd.raw_default, column });
    for (const c of list(cd.constraints)) {
      const con = unwrap(c);
      if (!con || con[0] !== 'Constraint') continue;
      const kind = String(con[1].contype);
      if (kind === 'CONSTR_DEFAULT' || (kind === 'CONSTR_GENERATED' && !creating)) stored.push({ expr: con[1].raw_expr, column: null });
      else if (kind === 'CONSTR_CHECK' && !creating) checks.push(con[1].raw_expr);
    }
  };
  if (creating) {
    for (const e of list(body.tableElts)) {
      const u = unwrap(e);
      if (u && u[0] === 'ColumnDef') fromColumnDef(u[1], null);
    }
  } else {
    for (const c of list(body.cmds)) {
      const cu = unwrap(c);
      if (!cu) continue;
      const cmd = cu[1];
      const column = typeof cmd.name === 'string' ? cmd.name : null;
      const def = unwrap(cmd.def);
      if (def?.[0] === 'ColumnDef') fromColumnDef(def[1], column);
      else if (def?.[0] === 'Constraint') {
        const kind = String(def[1].contype);
        if (kind === 'CONSTR_CHECK') checks.push(def[1].raw_expr);
      } else if (STORED_EXPRESSION.has(String(cmd.subtype)) && cmd.def) stored.push({ expr: cmd.def, column });
    }
  }
  if (stored.length === 0 && checks.length === 0) return;
  const { entry, scope } = relationScope(acc, creating ? null : rv);
  for (const { expr, column } of stored) {
    const src = emptySrc();
    collect(acc, expr, scope, src);
    // `ALTER COLUMN ssn TYPE … USING ssn::…` keeps the values where they were
    const own = column !== null ? entry?.star.find((c) => c.name === column) : undefined;
    if (own) for (const k of own.src.sources) src.sources.delete(k);
    writeOutput(acc, src);
  }
  for (const c of checks) collectPredicate(acc, c, scope);
}

function analyze(acc: Acc, stmt: unknown): StatementLineage['outputs'] {
  const u = unwrap(stmt);
  if (!u) return 'opaque';
  const [type, body] = u;
  switch (type) {
    case 'SelectStmt':
      return statementOutputs(acc, stmt, null) ?? 'clean';
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      // Without RETURNING, no columns: rows that come anyway (a rule's DO INSTEAD SELECT)
      // cannot be aligned with none, so they are untraceable, not clean.
      return statementOutputs(acc, stmt, null) ?? [];
    case 'DeclareCursorStmt':
      return statementOutputs(acc, body.query, null) ?? 'opaque';
    case 'ExplainStmt': {
      // The plan is text about the query, not its rows; what the query reads, writes and
      // computes counts as if it ran (EXPLAIN ANALYZE runs it). A plan can show constants the
      // planner folded, from opaque functions among them: then it is untraceable.
      const inner = unwrap(body.query);
      if (inner && inner[0] === 'ExecuteStmt') {
        acc.executes = { name: String(inner[1].name ?? ''), as: 'explain' };
        return 'clean';
      }
      const wasOpaque = acc.opaque;
      analyze(acc, body.query);
      return acc.opaque && !wasOpaque ? 'opaque' : 'clean';
    }
    case 'CreateTableAsStmt': {
      const inner = unwrap(body.query);
      if (inner && inner[0] === 'ExecuteStmt') {
        acc.executes = { name: String(inner[1].name ?? ''), as: 'write' };
        return 'clean';
      }
      const outs = statementOutputs(acc, body.query, null);
      if (outs === null) acc.writesOpaque = true;
      for (const o of outs ?? []) writeOutput(acc, o);
      return 'clean';
    }
    case 'CopyStmt': {
      if (body.is_from === true) return 'clean';
      if (body.query) return statementOutputs(acc, body.query, null) ?? 'opaque';
      const rv = obj(body.relation);
      if (!rv) return 'opaque';
      const e = relationEntry(acc, rv, null);
      const att = names(body.attlist);
      const cols = att.length > 0 ? att.map((a) => e.star.find((c) => c.name === a)) : e.star;
      if (cols.some((c) => c === undefined || c.name === null)) return 'opaque';
      return cols.map((c) => {
        noteRead(acc, c!.src);
        return { name: c!.name as string, ...copySrc(c!.src) };
      });
    }
    case 'PrepareStmt':
      // what EXECUTE of it returns; refusals apply when it is prepared
      return analyze(acc, body.query);
    case 'ExecuteStmt':
      acc.executes = { name: String(body.name ?? ''), as: 'rows' };
      return 'opaque';
    case 'CallStmt': {
      markOpaque(acc, 'a procedure call is opaque');
      const args = emptySrc();
      const fc = unwrap(body.funccall);
      if (fc) collect(acc, fc[1].args, { items: [], parent: null, ctes: new Map() }, args);
      writeOutput(acc, args);
      return 'opaque';
    }
    case 'DoStmt':
      // What the block does with the values it reads (variables, INSERT elsewhere, RAISE) is
      // not traced, even when its SQL decided it (spec/facts.md): it may write any of them.
      markOpaque(acc, 'a DO block is opaque');
      acc.writesOpaque = true;
      return 'clean';
    case 'RenameStmt':
    case 'AlterObjectSchemaStmt':
      unmasking(acc, type, body);
      return 'clean';
    case 'AlterTableStmt':
      unmasking(acc, type, body);
      storedExpressions(acc, body, false);
      return 'clean';
    case 'CreateStmt':
      storedExpressions(acc, body, true);
      return 'clean';
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      policyPredicates(acc, body);
      return 'clean';
    case 'RuleStmt':
    case 'CreateTrigStmt':
    case 'CreateEventTrigStmt':
      // Their actions run later, inside other statements, where the gateway sees only those:
      // a rule copying masked values into another table, or answering an INSERT with them.
      markOpaque(acc, `a ${type === 'RuleStmt' ? 'rule' : 'trigger'} runs its actions inside other statements`);
      acc.writesOpaque = true;
      return 'clean';
    case 'FetchStmt':
      // a FETCH's rows are its cursor's (the session keeps the cursor's lineage)
      return 'opaque';
    default:
      // Every other statement kind returns no rows: DDL, session and transaction commands.
      return 'clean';
  }
}

/** Lineage of one parsed statement (the `stmt` of a libpg_query parse result). */
export function statementLineage(stmt: unknown, cat: LineageCatalog): StatementLineage {
  const acc: Acc = {
    cat,
    reads: new Set(),
    predicates: new Set(),
    computed: new Set(),
    writesFrom: new Set(),
    writesOpaque: false,
    unmasks: new Set(),
    executes: null,
    opaque: false,
    reasons: [],
    depth: 0,
    work: 0,
  };
  const outputs = analyze(acc, stmt);
  if (Array.isArray(outputs)) for (const o of outputs) for (const k of o.sources) acc.reads.add(k);
  for (const k of acc.predicates) acc.reads.add(k);
  for (const k of acc.writesFrom) acc.reads.add(k);
  return {
    outputs,
    reads: acc.reads,
    predicates: acc.predicates,
    computed: acc.computed,
    writesFrom: acc.writesFrom,
    writesOpaque: acc.writesOpaque,
    unmasks: acc.unmasks,
    executes: acc.executes,
    opaque: acc.opaque,
    opaqueReasons: acc.reasons,
  };
}
