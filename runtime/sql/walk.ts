// The walker: carries what one statement's classification collects (facts, effects, scopes)
// and descends into libpg_query's JSON tree.
//
// Fail closed: every node goes through the handler table; a node type without a handler yields
// a `forbidden` fact naming it. Nodes without special meaning are walked generically: every
// field, looked up in the generated field table (node-fields.ts) to know whether it holds a
// scalar, wrapped nodes or a bare node of a fixed type; a field the table does not know is
// forbidden too, so fields added by a new parser version cannot slip through.

import type { ClassifiedStatement, ClassifyContext, Fact, SessionEffect } from './facts.ts';
import { FORBIDDEN } from './facts.ts';
import { NODE_FIELDS } from './node-fields.ts';

/** Deepest node nesting the walker follows; deeper trees are forbidden. */
export const MAX_WALK_DEPTH = 1000;

export type Obj = Record<string, unknown>;

export type Handler = (w: Walker, body: Obj, type: string) => void;

export interface Walker {
  ctx: ClassifyContext;
  handlers: ReadonlyMap<string, Handler>;
  facts: Fact[];
  effects: SessionEffect[];
  depth: number;
  /** names of the common table expressions visible here, innermost last */
  cteScopes: ReadonlySet<string>[];
  /** statements prepared (or deallocated: null) earlier in the same text */
  prepared: Map<string, ClassifiedStatement | null>;
  /** DEALLOCATE ALL / DISCARD ALL earlier in the same text: the session's registry is empty */
  preparedCleared: boolean;
  /** an EXECUTE was resolved through ctx.prepared: the result depends on the session */
  usedSessionPrepared: boolean;
  /** > 0 while walking something defined now and run later (view queries, function bodies,
   *  rules, defaults): its session effects do not happen now */
  deferred: number;
  /** EXECUTE: whether the prepared statement was limited */
  executedLimited: boolean | null;
  /** CREATE SCHEMA's elements are created in the new schema */
  creationSchema: string | null;
  /** the walker gave up (too deep); set once */
  tooDeep: boolean;
  /** classifies nested SQL text (function bodies, query strings): (text, context, w.nesting) */
  classifyText: (sql: string, ctx: ClassifyContext, nesting: number) => ClassifiedStatement[];
  /** how deeply this text is nested in string literals of an outer statement */
  nesting: number;
  /** the top-level statement being classified */
  statement: { text: string; location: number; length: number };
  /** makes a ClassifiedStatement (lazy fingerprint) */
  makeStatement: (
    info: { text: string; location: number; length: number },
    nodeType: string,
    facts: Fact[],
    effects: SessionEffect[],
    limited: boolean,
  ) => ClassifiedStatement;
}

/** A walker for a part classified on its own (PREPARE's statement): same session, fresh results. */
export function childWalker(w: Walker): Walker {
  return {
    ...w,
    facts: [],
    effects: [],
    depth: 0,
    cteScopes: [],
    deferred: 0,
    tooDeep: false,
    executedLimited: null,
  };
}

function sameFact(a: Fact, action: string, resource: string, objectKind: string | undefined): boolean {
  return a.action === action && a.resource === resource && a.objectKind === objectKind;
}

/** Adds a fact, de-duplicated by (action, resource, objectKind); `unbounded` accumulates. */
export function addFact(w: Walker, fact: Fact): void {
  const facts = w.facts;
  for (let i = 0; i < facts.length; i++) {
    const f = facts[i]!;
    if (sameFact(f, fact.action, fact.resource, fact.objectKind)) {
      if (fact.unbounded && !f.unbounded) facts[i] = { ...f, unbounded: true };
      return;
    }
  }
  facts.push(fact);
}

export function fact(w: Walker, action: string, resource: string): void {
  addFact(w, { action, resource });
}

export function forbid(w: Walker, detail: string): void {
  const facts = w.facts;
  for (let i = 0; i < facts.length; i++) {
    const f = facts[i]!;
    if (f.action === FORBIDDEN && f.detail === detail) return;
  }
  facts.push({ action: FORBIDDEN, resource: '', detail });
}

/** Walks a wrapped node `{"Type": {...}}`; `{}` is a NULL node. */
export function walkNode(w: Walker, node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  for (const type in node as Obj) walkTyped(w, type, (node as Obj)[type] as Obj);
}

/** Walks a list of wrapped nodes (or one, or nothing). */
export function walkList(w: Walker, list: unknown): void {
  if (list === undefined || list === null) return;
  if (Array.isArray(list)) for (let i = 0; i < list.length; i++) walkNode(w, list[i]);
  else walkNode(w, list);
}

/** Walks a node whose type is known (a bare node in a typed field, or the inside of a wrapper). */
export function walkTyped(w: Walker, type: string, body: Obj): void {
  if (w.depth >= MAX_WALK_DEPTH) {
    if (!w.tooDeep) {
      w.tooDeep = true;
      forbid(w, `the statement nests deeper than ${MAX_WALK_DEPTH} levels`);
    }
    return;
  }
  const h = w.handlers.get(type);
  if (h === undefined) {
    forbid(w, `unknown node type ${type}`);
    return;
  }
  if (body === null || typeof body !== 'object') {
    forbid(w, `malformed ${type} node`);
    return;
  }
  w.depth++;
  h(w, body, type);
  w.depth--;
}

const FIELD_MAPS = new Map<string, Map<string, 0 | 1 | string>>();
for (const [type, fields] of Object.entries(NODE_FIELDS)) FIELD_MAPS.set(type, new Map(Object.entries(fields)));

/** Walks every field of a node generically, except those in `skip`. */
export function walkFields(w: Walker, type: string, body: Obj, skip?: ReadonlySet<string>): void {
  const fields = FIELD_MAPS.get(type);
  if (fields === undefined) {
    forbid(w, `unknown node type ${type}`);
    return;
  }
  for (const k in body) {
    if (skip !== undefined && skip.has(k)) continue;
    const kind = fields.get(k);
    if (kind === 0) continue;
    if (kind === undefined) {
      forbid(w, `unknown field ${type}.${k}`);
      continue;
    }
    const v = body[k];
    if (v === null || typeof v !== 'object') continue;
    if (kind === 1) {
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) walkNode(w, v[i]);
      else walkNode(w, v);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walkTyped(w, kind, v[i] as Obj);
    } else walkTyped(w, kind, v as Obj);
  }
}

/** The generic handler: no meaning of its own, every field walked. */
export const generic: Handler = (w, body, type) => walkFields(w, type, body);

/**
 * A handler for nodes whose fields are all scalars (String, Integer, A_Star, ...): no descent,
 * only the check that every field is known. Cheaper than the generic walk on the hottest nodes.
 */
export function leaf(type: string): Handler {
  const fields = NODE_FIELDS[type];
  // a node type that gained a non-scalar field (a newer parser) is walked generically instead
  if (fields === undefined || Object.values(fields).some((k) => k !== 0)) return generic;
  const known = new Set(Object.keys(fields));
  return (w, body) => {
    for (const k in body) if (!known.has(k)) forbid(w, `unknown field ${type}.${k}`);
  };
}


/** Runs `fn` with session effects suppressed (the walked part runs later, not now). */
export function deferred(w: Walker, fn: () => void): void {
  w.deferred++;
  try {
    fn();
  } finally {
    w.deferred--;
  }
}

/** A handler that yields a forbidden fact naming the node type. */
export const forbidden: Handler = (w, _body, type) => forbid(w, `node type ${type} is not allowed here`);

// ---- small readers of tree shapes -------------------------------------------------------

/** The single key of a wrapped node, or null for `{}` / non-objects. */
export function nodeType(node: unknown): string | null {
  if (node === null || typeof node !== 'object') return null;
  for (const k in node as Obj) return k;
  return null;
}

/** The body of a wrapped node if it is of `type`. */
export function nodeOf(node: unknown, type: string): Obj | null {
  if (node === null || typeof node !== 'object') return null;
  const b = (node as Obj)[type];
  return b !== undefined && b !== null && typeof b === 'object' ? (b as Obj) : null;
}

/** The strings of a list of `String` nodes (qualified names); null if any item is not a String. */
export function stringList(list: unknown): string[] | null {
  if (!Array.isArray(list)) return null;
  const out: string[] = [];
  for (const item of list) {
    const s = nodeOf(item, 'String');
    if (s === null) return null;
    out.push(typeof s.sval === 'string' ? s.sval : '');
  }
  return out;
}

/** A string constant: `'x'`, `'x'::text`, `E'x'`; null otherwise. */
export function stringConst(node: unknown): string | null {
  let n = node;
  const cast = nodeOf(n, 'TypeCast');
  if (cast !== null) n = cast.arg;
  const c = nodeOf(n, 'A_Const');
  if (c === null) return null;
  const s = c.sval as Obj | undefined;
  if (s !== undefined) return typeof s.sval === 'string' ? s.sval : '';
  return null;
}

/** A constant as the text PostgreSQL would see for a setting value; null if not a constant. */
export function constText(node: unknown): string | null {
  let n = node;
  const cast = nodeOf(n, 'TypeCast');
  if (cast !== null) n = cast.arg;
  const c = nodeOf(n, 'A_Const');
  if (c === null) return null;
  if (c.isnull === true) return null;
  if (c.sval !== undefined) return String((c.sval as Obj).sval ?? '');
  if (c.ival !== undefined) return String((c.ival as Obj).ival ?? 0);
  if (c.fval !== undefined) return String((c.fval as Obj).fval ?? '0');
  if (c.boolval !== undefined) return (c.boolval as Obj).boolval === true ? 'true' : 'false';
  if (c.bsval !== undefined) return String((c.bsval as Obj).bsval ?? '');
  return null;
}

/** A RangeVar's schema (undefined when unqualified) and name. */
export function rangeVarName(rv: Obj): { schema: string | undefined; name: string } {
  const schema = typeof rv.schemaname === 'string' && rv.schemaname !== '' ? rv.schemaname : undefined;
  return { schema, name: typeof rv.relname === 'string' ? rv.relname : '' };
}
