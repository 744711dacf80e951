// Queries and data changes: SELECT (with CTEs, set operations, locking, SELECT INTO), INSERT,
// UPDATE, DELETE, MERGE, COPY.

import { isBounding, targetOf } from '../bounded.ts';
import { isCte, relationFacts, relationKeys, walkFrom } from '../expressions.ts';
import { creationCandidates, quoteIdent } from '../names.ts';
import {
  addFact,
  fact,
  nodeOf,
  rangeVarName,
  walkFields,
  walkNode,
  walkTyped,
  type Handler,
  type Obj,
  type Walker,
} from '../walk.ts';

/**
 * Walks a WITH clause and makes its names visible; returns a function that removes them.
 * Without RECURSIVE a common table expression sees only those listed before it.
 */
export function enterWith(w: Walker, withClause: unknown): () => void {
  if (withClause === undefined || withClause === null) return () => {};
  const wc = withClause as Obj;
  const ctes = Array.isArray(wc.ctes) ? wc.ctes : [];
  const names = ctes.map((c) => String(nodeOf(c, 'CommonTableExpr')?.ctename ?? ''));
  const visible = new Set<string>(wc.recursive === true ? names : []);
  const scopes = w.cteScopes;
  w.cteScopes = [...scopes, visible];
  for (let i = 0; i < ctes.length; i++) {
    walkNode(w, ctes[i]);
    visible.add(names[i]!);
  }
  return () => {
    w.cteScopes = scopes;
  };
}

/** Relations named in a FROM list at this level, by the name a locking clause would use. */
function fromNames(list: unknown, into: Map<string, Obj>): void {
  if (!Array.isArray(list)) return;
  for (const item of list) {
    const rv = nodeOf(item, 'RangeVar');
    if (rv !== null) {
      const alias = rv.alias as Obj | undefined;
      into.set(alias !== undefined ? String(alias.aliasname) : String(rv.relname), rv);
      continue;
    }
    const j = nodeOf(item, 'JoinExpr');
    if (j !== null) fromNames([j.larg, j.rarg], into);
  }
}

const SELECT_SPECIAL = new Set(['withClause', 'larg', 'rarg', 'fromClause', 'lockingClause', 'intoClause']);

export const SelectStmt: Handler = (w, s, type) => {
  const leave = enterWith(w, s.withClause);
  if (s.larg !== undefined) walkTyped(w, 'SelectStmt', s.larg as Obj);
  if (s.rarg !== undefined) walkTyped(w, 'SelectStmt', s.rarg as Obj);
  const [start, end] = walkFrom(w, s.fromClause);
  walkFields(w, type, s, SELECT_SPECIAL);
  if (Array.isArray(s.lockingClause)) lockFacts(w, s, start, end);
  if (s.intoClause !== undefined) {
    const into = s.intoClause as Obj;
    createRelation(w, into.rel as Obj, 'table');
    walkFields(w, 'IntoClause', into, REL);
  }
  leave();
};

/** SELECT … FOR UPDATE / SHARE: `lock` on the locked relations of this query level. */
function lockFacts(w: Walker, s: Obj, start: number, end: number): void {
  const readHere = w.facts.slice(start, end).filter((f) => f.action === 'select');
  let names: Map<string, Obj> | null = null;
  for (const item of s.lockingClause as unknown[]) {
    const lc = nodeOf(item, 'LockingClause');
    if (lc === null) {
      walkNode(w, item);
      continue;
    }
    walkFields(w, 'LockingClause', lc, LOCKED_RELS);
    const locked = Array.isArray(lc.lockedRels) ? lc.lockedRels : [];
    if (locked.length === 0) {
      for (const f of readHere) fact(w, 'lock', f.resource);
      continue;
    }
    if (names === null) fromNames(s.fromClause, (names = new Map()));
    for (const l of locked) {
      const rv = nodeOf(l, 'RangeVar');
      const { schema, name } = rv !== null ? rangeVarName(rv) : { schema: undefined, name: '' };
      const target = schema === undefined ? names.get(name) : undefined;
      if (rv !== null && target !== undefined && !(rangeVarName(target).schema === undefined && isCte(w, rangeVarName(target).name)))
        for (const k of relationKeys(w, target)) fact(w, 'lock', k);
      else for (const f of readHere) fact(w, 'lock', f.resource); // a subquery or unknown name: everything here
    }
  }
}

const REL = new Set(['rel']);
const LOCKED_RELS = new Set(['lockedRels']);

/** `create` of a new relation (table, view, ...) named by a RangeVar. */
export function createRelation(w: Walker, rv: Obj, objectKind: string): string[] {
  const { schema, name } = rangeVarName(rv);
  const keys = creationCandidates(schema, name, w.ctx, rv.relpersistence === 't');
  if (keys.length === 0) addFact(w, { action: 'forbidden', resource: '', detail: `no schema to create ${quoteIdent(name)} in: the search path is empty` });
  for (const k of keys) addFact(w, { action: 'create', resource: k, objectKind });
  return keys;
}

/** RETURNING reads the target. */
function returning(w: Walker, clause: unknown, keys: string[]): void {
  if (clause === undefined || clause === null) return;
  for (const k of keys) fact(w, 'select', k);
  walkFields(w, 'ReturningClause', clause as Obj);
}

const INSERT_SPECIAL = new Set(['withClause', 'relation', 'onConflictClause', 'returningClause']);

export const InsertStmt: Handler = (w, s, type) => {
  const leave = enterWith(w, s.withClause);
  const keys = relationFacts(w, s.relation as Obj, 'insert');
  walkFields(w, type, s, INSERT_SPECIAL);
  const oc = s.onConflictClause as Obj | undefined;
  if (oc !== undefined) {
    if (oc.action === 'ONCONFLICT_UPDATE') for (const k of keys) fact(w, 'update', k);
    walkFields(w, 'OnConflictClause', oc);
  }
  returning(w, s.returningClause, keys);
  leave();
};

/** update / delete facts on the target, `unbounded` when the WHERE clause bounds nothing. */
function targetFacts(w: Walker, action: string, rv: Obj, where: unknown, others: unknown): string[] {
  const sole = !Array.isArray(others) || others.length === 0;
  const unbounded = !isBounding(where, targetOf(rv, sole));
  const keys = relationKeys(w, rv);
  for (const k of keys) addFact(w, unbounded ? { action, resource: k, unbounded: true } : { action, resource: k });
  return keys;
}

const UPDATE_SPECIAL = new Set(['withClause', 'relation', 'returningClause']);

export const UpdateStmt: Handler = (w, s, type) => {
  const leave = enterWith(w, s.withClause);
  const keys = targetFacts(w, 'update', s.relation as Obj, s.whereClause, s.fromClause);
  walkFields(w, type, s, UPDATE_SPECIAL);
  returning(w, s.returningClause, keys);
  leave();
};

export const DeleteStmt: Handler = (w, s, type) => {
  const leave = enterWith(w, s.withClause);
  const keys = targetFacts(w, 'delete', s.relation as Obj, s.whereClause, s.usingClause);
  walkFields(w, type, s, UPDATE_SPECIAL);
  returning(w, s.returningClause, keys);
  leave();
};

const MERGE_SPECIAL = new Set(['withClause', 'relation', 'returningClause', 'mergeWhenClauses']);
const COMMAND_ACTION: Record<string, string> = { CMD_INSERT: 'insert', CMD_UPDATE: 'update', CMD_DELETE: 'delete' };

export const MergeStmt: Handler = (w, s, type) => {
  const leave = enterWith(w, s.withClause);
  const rv = s.relation as Obj;
  const keys = relationFacts(w, rv, 'merge');
  const target = targetOf(rv, false);
  const joinBounds = isBounding(s.joinCondition, target);
  walkFields(w, type, s, MERGE_SPECIAL);
  for (const item of Array.isArray(s.mergeWhenClauses) ? s.mergeWhenClauses : []) {
    const c = nodeOf(item, 'MergeWhenClause');
    if (c === null) {
      walkNode(w, item);
      continue;
    }
    const action = COMMAND_ACTION[String(c.commandType)];
    if (action !== undefined) {
      // WHEN MATCHED rows are bounded by the join condition; NOT MATCHED BY SOURCE only by its own condition
      const bySource = c.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE';
      const bounded = action === 'insert' || isBounding(c.condition, target) || (!bySource && joinBounds);
      for (const k of keys) addFact(w, bounded ? { action, resource: k } : { action, resource: k, unbounded: true });
    }
    walkFields(w, 'MergeWhenClause', c);
  }
  returning(w, s.returningClause, keys);
  leave();
};

const COPY_SPECIAL = new Set(['relation', 'query']);

export const CopyStmt: Handler = (w, s, type) => {
  const filename = typeof s.filename === 'string' ? s.filename : null;
  const external = s.is_program === true ? 'copy_program' : filename !== null ? 'copy_file' : null;
  if (s.relation !== undefined) {
    const keys = relationKeys(w, s.relation as Obj);
    if (s.is_from === true) for (const k of keys) fact(w, 'copy_in', k);
    else {
      for (const k of keys) fact(w, 'select', k);
      if (external === null) for (const k of keys) fact(w, 'copy_out', k);
    }
  } else {
    const start = w.facts.length;
    walkNode(w, s.query);
    if (external === null && s.is_from !== true) {
      const read = w.facts.slice(start).filter((f) => f.action === 'select');
      for (const f of read) fact(w, 'copy_out', f.resource);
    }
  }
  if (external !== null) fact(w, external, filename ?? '');
  walkFields(w, type, s, COPY_SPECIAL);
};

/** TABLE t is SELECT * FROM t; VALUES are a SelectStmt too. Nothing else reads rows at top level. */
export function statementLimited(stmtType: string, body: Obj): boolean {
  if (stmtType !== 'SelectStmt') return false;
  const count = body.limitCount;
  if (count === undefined || count === null) return false;
  if (body.limitOption === 'LIMIT_OPTION_WITH_TIES') return false;
  // Only a constant count bounds the result as the gateway reads it: LIMIT ALL and LIMIT NULL
  // bound nothing, and a parameter ($1, bound to NULL) or an expression may be NULL too.
  const cast = nodeOf(count, 'TypeCast');
  const c = nodeOf(cast !== null ? cast.arg : count, 'A_Const');
  return c !== null && c.isnull !== true;
}

export const dmlHandlers: Record<string, Handler> = {
  SelectStmt,
  InsertStmt,
  UpdateStmt,
  DeleteStmt,
  MergeStmt,
  CopyStmt,
};

