// Whether an UPDATE's or DELETE's WHERE clause bounds the rows it touches (spec/facts.md,
// "unbounded"). A syntactic judgement, defined recursively:
//
// - no WHERE: unbounded
// - `a AND b`: bounding if any conjunct is bounding
// - `a OR b`: bounding only if every disjunct is bounding
// - `WHERE CURRENT OF c`: bounding
// - any other expression (a leaf; `NOT e` included) is bounding only if it references a column
//   of the target relation and is not a tautology: `e = e`, `e >= e`, `e <= e`,
//   `e IS NOT DISTINCT FROM e`, `e LIKE e` with identical sides, and `e IS NOT NULL`
//
// A column reference counts as the target's when qualified with the target's alias (or name,
// when it has no alias), or unqualified outside subqueries when the statement has no other
// relations (FROM / USING) it could belong to. `WHERE true`, `WHERE 1=1`, `WHERE $1`,
// `WHERE x OR true` are unbounded. Selectivity is not judged: `WHERE id > 0` is bounding.

import { nodeOf, nodeType, stringList, type Obj } from './walk.ts';

export interface Target {
  /** the name the target's columns are qualified with: its alias, or its relation name */
  name: string;
  /** whether unqualified columns can only be the target's */
  sole: boolean;
}

/** The target of a DML RangeVar. */
export function targetOf(rv: Obj, sole: boolean): Target {
  const alias = rv.alias as Obj | undefined;
  const name = alias !== undefined && typeof alias.aliasname === 'string' ? alias.aliasname : String(rv.relname ?? '');
  return { name, sole };
}

export function isBounding(where: unknown, t: Target): boolean {
  if (where === undefined || where === null) return false;
  const bool = nodeOf(where, 'BoolExpr');
  if (bool !== null) {
    const args = Array.isArray(bool.args) ? bool.args : [];
    if (bool.boolop === 'AND_EXPR') return args.some((a) => isBounding(a, t));
    if (bool.boolop === 'OR_EXPR') return args.length > 0 && args.every((a) => isBounding(a, t));
  }
  if (nodeOf(where, 'CurrentOfExpr') !== null) return true;
  return referencesTarget(where, t, false) && !isTautology(where);
}

const REFLEXIVE = new Set(['=', '>=', '<=', '~~', '~~*']);

function isTautology(node: unknown): boolean {
  const e = nodeOf(node, 'A_Expr');
  if (e !== null) {
    const name = stringList(e.name);
    const op = name !== null ? name[name.length - 1] : undefined;
    const reflexive =
      (e.kind === 'AEXPR_OP' && op !== undefined && REFLEXIVE.has(op)) ||
      e.kind === 'AEXPR_NOT_DISTINCT' ||
      e.kind === 'AEXPR_LIKE' ||
      e.kind === 'AEXPR_ILIKE';
    return reflexive && sameTree(e.lexpr, e.rexpr);
  }
  const nt = nodeOf(node, 'NullTest');
  if (nt !== null) return nt.nulltesttype === 'IS_NOT_NULL';
  return false;
}

/** Structural equality of two subtrees, ignoring source locations. */
export function sameTree(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameTree(x, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => k !== 'location');
  const kb = Object.keys(b).filter((k) => k !== 'location');
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameTree((a as Obj)[k], (b as Obj)[k]));
}

/** Whether a subtree references a column of the target. */
function referencesTarget(node: unknown, t: Target, inSubquery: boolean): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some((x) => referencesTarget(x, t, inSubquery));
  const type = nodeType(node);
  if (type === 'ColumnRef') {
    const fields = ((node as Obj).ColumnRef as Obj).fields;
    if (!Array.isArray(fields)) return false;
    const names = fields.map((f) => (nodeOf(f, 'String')?.sval as string | undefined) ?? '*');
    if (names.length === 1) return t.sole && !inSubquery && names[0] !== '*';
    // t.col, schema.t.col, db.schema.t.col
    return names[names.length - 2] === t.name;
  }
  const sub = type === 'SelectStmt' || type === 'SubLink';
  for (const k in node as Obj) {
    const v = (node as Obj)[k];
    if (v !== null && typeof v === 'object' && referencesTarget(v, t, inSubquery || sub)) return true;
  }
  return false;
}
