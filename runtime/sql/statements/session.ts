// Session and utility statements: settings, transactions, cursors, prepared statements,
// notifications, EXPLAIN, CALL, DO, LOCK, TRUNCATE, maintenance, LOAD, CHECKPOINT.

import { relationFacts, relationKeys } from '../expressions.ts';
import { FORBIDDEN, type Fact, type SessionEffect } from '../facts.ts';
import { doBlockSql } from '../plpgsql.ts';
import { quoteIdent } from '../names.ts';
import { renderSetValue, settingViolation } from '../settings.ts';
import { statementLimited } from './dml.ts';
import {
  addFact,
  childWalker,
  constText,
  fact,
  forbid,
  nodeOf,
  nodeType,
  walkFields,
  walkNode,
  walkTyped,
  type Handler,
  type Obj,
  type Walker,
} from '../walk.ts';

/** Records a session effect when the statement runs now (top level, not a definition). */
export function effect(w: Walker, e: SessionEffect): void {
  if (w.deferred === 0 && w.depth <= 2) w.effects.push(e);
}

/** The `set` fact (or `alter_system`), the text-setting check and the effect of a SET. */
export function setStatement(w: Walker, s: Obj, action: 'set' | 'alter_system' | 'definition'): void {
  walkFields(w, 'VariableSetStmt', s);
  const kind = String(s.kind);
  const name = typeof s.name === 'string' ? s.name.toLowerCase() : '';
  const factAction = action === 'alter_system' ? 'alter_system' : 'set';
  const live = action === 'set';
  switch (kind) {
    case 'VAR_RESET_ALL':
      fact(w, factAction, 'all');
      if (live) effect(w, { kind: 'reset_all' });
      return;
    case 'VAR_RESET':
    case 'VAR_SET_DEFAULT':
      fact(w, factAction, name);
      if (live) effect(w, { kind: 'set', setting: name, value: null, local: s.is_local === true });
      return;
    case 'VAR_SET_CURRENT':
      fact(w, factAction, name);
      return;
    case 'VAR_SET_VALUE': {
      fact(w, factAction, name);
      const value = renderSetValue(name, s.args);
      if (value === null) {
        forbid(w, `a value of ${name} that is not a constant`);
        return;
      }
      const violation = settingViolation(name, value);
      if (violation !== null) forbid(w, violation);
      if (live) effect(w, { kind: 'set', setting: name, value, local: s.is_local === true });
      return;
    }
    case 'VAR_SET_MULTI': {
      const args = Array.isArray(s.args) ? s.args : [];
      if (s.name === 'TRANSACTION' || s.name === 'TRANSACTION SNAPSHOT') {
        fact(w, 'transaction', '');
        return;
      }
      if (s.name === 'SESSION CHARACTERISTICS') {
        for (const a of args) {
          const d = nodeOf(a, 'DefElem');
          if (d === null) {
            forbid(w, 'an unknown SET SESSION CHARACTERISTICS item');
            continue;
          }
          const setting = `default_${String(d.defname)}`;
          fact(w, factAction, setting);
          const value = constText(d.arg);
          if (live && value !== null) effect(w, { kind: 'set', setting, value, local: false });
        }
        return;
      }
      forbid(w, `an unknown SET form ${String(s.name)}`);
      return;
    }
    default:
      forbid(w, `an unknown SET form ${kind}`);
  }
}

export const VariableSetStmt: Handler = (w, s) => setStatement(w, s, 'set');

export const VariableShowStmt: Handler = (w, s, type) => {
  fact(w, 'show', typeof s.name === 'string' ? s.name.toLowerCase() : '');
  walkFields(w, type, s);
};

export const AlterSystemStmt: Handler = (w, s, type) => {
  setStatement(w, s.setstmt as Obj, 'alter_system');
  walkFields(w, type, s, SETSTMT);
};
export const SETSTMT = new Set(['setstmt']);

const TWO_PHASE = new Set(['TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);

export const TransactionStmt: Handler = (w, s, type) => {
  fact(w, TWO_PHASE.has(String(s.kind)) ? 'two_phase' : 'transaction', '');
  walkFields(w, type, s);
};

export const ConstraintsSetStmt: Handler = (w, s, type) => {
  fact(w, 'transaction', '');
  walkFields(w, type, s);
};

const DISCARD: Record<string, string> = {
  DISCARD_ALL: 'ALL',
  DISCARD_PLANS: 'PLANS',
  DISCARD_SEQUENCES: 'SEQUENCES',
  DISCARD_TEMP: 'TEMP',
};

export const DiscardStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  const what = DISCARD[String(s.target)];
  if (what === undefined) {
    forbid(w, `an unknown DISCARD ${String(s.target)}`);
    return;
  }
  fact(w, 'discard', '');
  effect(w, { kind: 'discard', what });
  if (what === 'ALL') {
    w.prepared.clear();
    w.preparedCleared = true;
  }
};

export const ListenStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  const channel = String(s.conditionname ?? '');
  fact(w, 'listen', quoteIdent(channel));
  effect(w, { kind: 'listen', channel });
};

export const UnlistenStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  const channel = typeof s.conditionname === 'string' ? s.conditionname : null;
  fact(w, 'unlisten', channel === null ? '*' : quoteIdent(channel));
  effect(w, { kind: 'unlisten', channel });
};

export const NotifyStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  fact(w, 'notify', quoteIdent(String(s.conditionname ?? '')));
};

export const LoadStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  fact(w, 'load', String(s.filename ?? ''));
};

export const CheckPointStmt: Handler = (w, s, type) => {
  fact(w, 'checkpoint', '');
  walkFields(w, type, s);
};

/**
 * DO: a PL/pgSQL block that runs only SQL the gateway reads (no EXECUTE, no statement that
 * changes what the session's names or settings are) has the facts of that SQL; any other block
 * is opaque, and running it needs `do` on its language.
 */
export const DoStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  let language = 'plpgsql';
  let body: string | null = null;
  for (const a of Array.isArray(s.args) ? s.args : []) {
    const d = nodeOf(a, 'DefElem');
    if (d === null) continue;
    if (d.defname === 'language') language = String(nodeOf(d.arg, 'String')?.sval ?? '');
    else if (d.defname === 'as') body = String(nodeOf(d.arg, 'String')?.sval ?? '');
  }
  const facts = language === 'plpgsql' && body !== null ? blockFacts(w, body) : null;
  if (facts === null) fact(w, 'do', quoteIdent(language));
  else for (const f of facts) addFact(w, f);
};

/** Effects a statement inside a DO block may have: none the gateway keeps track of. */
const BLOCK_EFFECTS = new Set<SessionEffect['kind']>(['listen', 'unlisten']);

/** The facts of the SQL a PL/pgSQL block runs, or null when the block is opaque. */
function blockFacts(w: Walker, body: string): Fact[] | null {
  const inner = doBlockSql(body);
  if (inner.sql === undefined) return null;
  const facts: Fact[] = [];
  for (const sql of inner.sql) {
    for (const st of w.classifyText(sql, { searchPath: w.ctx.searchPath }, w.nesting)) {
      if (st.effects.some((e) => !BLOCK_EFFECTS.has(e.kind))) return null;
      if (st.facts.some((f) => f.action === FORBIDDEN)) return null;
      facts.push(...st.facts);
    }
  }
  return facts;
}

export const CallStmt: Handler = (w, s, type) => {
  const call = s.funccall as Obj | undefined;
  if (call === undefined) forbid(w, 'CALL without a procedure');
  else walkTyped(w, 'FuncCall', call);
  walkFields(w, type, s, FUNCCALL);
};
const FUNCCALL = new Set(['funccall']);
const QUERY = new Set(['query']);

/** PREPARE: decided like its statement; the prepared statement travels in the effect. */
export const PrepareStmt: Handler = (w, s, type) => {
  walkFields(w, type, s, QUERY);
  const name = String(s.name ?? '');
  const child = childWalker(w);
  walkNode(child, s.query);
  w.usedSessionPrepared ||= child.usedSessionPrepared;
  for (const f of child.facts) addFact(w, f);
  const innerType = nodeType(s.query) ?? 'unknown';
  const inner = w.makeStatement(
    w.statement,
    innerType,
    child.facts,
    child.effects,
    statementLimited(innerType, (s.query as Obj)?.[innerType] as Obj),
  );
  if (w.depth <= 1) w.prepared.set(name, inner);
  effect(w, { kind: 'prepare', name, statement: inner });
};

/** EXECUTE: the facts of the prepared statement, found earlier in this text or in the session. */
export const ExecuteStmt: Handler = (w, s, type) => {
  const name = String(s.name ?? '');
  let prepared = w.prepared.get(name);
  if (prepared === undefined && !w.preparedCleared && w.ctx.prepared !== undefined) {
    prepared = w.ctx.prepared(name);
    if (prepared !== undefined) w.usedSessionPrepared = true;
  }
  if (prepared === undefined || prepared === null) {
    forbid(w, `EXECUTE of an unknown prepared statement ${quoteIdent(name)}`);
    w.usedSessionPrepared = true;
  } else {
    for (const f of prepared.facts) addFact(w, f);
    w.executedLimited = prepared.limited;
    for (const e of prepared.effects) effect(w, e);
  }
  effect(w, { kind: 'execute', name });
  walkFields(w, type, s);
};

export const DeallocateStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  const name = typeof s.name === 'string' && s.isall !== true ? s.name : null;
  fact(w, 'cursor', '');
  effect(w, { kind: 'deallocate', name });
  if (name === null) {
    w.prepared.clear();
    w.preparedCleared = true;
  } else w.prepared.set(name, null);
};

export const DeclareCursorStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  effect(w, { kind: 'declare', name: String(s.portalname ?? '') });
};

export const FetchStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  fact(w, 'cursor', '');
  effect(w, { kind: 'fetch', name: typeof s.portalname === 'string' ? s.portalname : null });
};

export const ClosePortalStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
  fact(w, 'cursor', '');
  effect(w, { kind: 'close', name: typeof s.portalname === 'string' ? s.portalname : null });
};

export const ExplainStmt: Handler = (w, s, type) => {
  walkFields(w, type, s);
};

export const LockStmt: Handler = (w, s, type) => {
  for (const r of Array.isArray(s.relations) ? s.relations : []) {
    const rv = nodeOf(r, 'RangeVar');
    if (rv === null) walkNode(w, r);
    else relationFacts(w, rv, 'lock');
  }
  walkFields(w, type, s, RELATIONS);
};
const RELATIONS = new Set(['relations']);

export const TruncateStmt: Handler = (w, s, type) => {
  const cascade = s.behavior === 'DROP_CASCADE';
  for (const r of Array.isArray(s.relations) ? s.relations : []) {
    const rv = nodeOf(r, 'RangeVar');
    if (rv === null) {
      walkNode(w, r);
      continue;
    }
    for (const k of relationKeys(w, rv))
      addFact(w, cascade ? { action: 'truncate', resource: k, detail: 'CASCADE also truncates every table that references it' } : { action: 'truncate', resource: k });
  }
  walkFields(w, type, s, RELATIONS);
};

/** VACUUM / ANALYZE: `maintain` on each relation, or on `*` for the whole database. */
export const VacuumStmt: Handler = (w, s, type) => {
  const rels = Array.isArray(s.rels) ? s.rels : [];
  if (rels.length === 0) fact(w, 'maintain', '*');
  for (const r of rels) {
    const vr = nodeOf(r, 'VacuumRelation');
    if (vr === null || vr.relation === undefined) {
      walkNode(w, r);
      continue;
    }
    relationFacts(w, vr.relation as Obj, 'maintain');
  }
  walkFields(w, type, s, RELS);
};
const RELS = new Set(['rels']);

export const ClusterStmt: Handler = (w, s, type) => {
  if (s.relation === undefined) fact(w, 'maintain', '*');
  else relationFacts(w, s.relation as Obj, 'maintain');
  walkFields(w, type, s, RELATION);
};
const RELATION = new Set(['relation']);

export const ReindexStmt: Handler = (w, s, type) => {
  switch (s.kind) {
    case 'REINDEX_OBJECT_INDEX':
    case 'REINDEX_OBJECT_TABLE':
      relationFacts(w, s.relation as Obj, 'maintain');
      break;
    case 'REINDEX_OBJECT_SCHEMA':
      fact(w, 'maintain', `${quoteIdent(String(s.name ?? ''))}.*`);
      break;
    case 'REINDEX_OBJECT_SYSTEM':
    case 'REINDEX_OBJECT_DATABASE':
      fact(w, 'maintain', '*');
      break;
    default:
      forbid(w, `an unknown REINDEX ${String(s.kind)}`);
  }
  walkFields(w, type, s, RELATION);
};

export const RefreshMatViewStmt: Handler = (w, s, type) => {
  relationFacts(w, s.relation as Obj, 'refresh');
  walkFields(w, type, s, RELATION);
};

export const sessionHandlers: Record<string, Handler> = {
  VariableSetStmt,
  VariableShowStmt,
  AlterSystemStmt,
  TransactionStmt,
  ConstraintsSetStmt,
  DiscardStmt,
  ListenStmt,
  UnlistenStmt,
  NotifyStmt,
  LoadStmt,
  CheckPointStmt,
  DoStmt,
  CallStmt,
  PrepareStmt,
  ExecuteStmt,
  DeallocateStmt,
  DeclareCursorStmt,
  FetchStmt,
  ClosePortalStmt,
  ExplainStmt,
  LockStmt,
  TruncateStmt,
  VacuumStmt,
  ClusterStmt,
  ReindexStmt,
  RefreshMatViewStmt,
};

