// Fail closed: every node type libpg_query can produce (from @pgsql/types, shipped with
// libpg-query) is handled specially, walked generically, or deliberately forbidden; the walker's
// field table matches the installed type declarations; every field holding a bare RangeVar has
// a decided meaning.

import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifyTree } from '../../../runtime/sql/classify.ts';
import { FORBIDDEN_NODES, GENERIC_NODES, SPECIAL_HANDLERS } from '../../../runtime/sql/handlers.ts';
import { NODE_FIELDS, NODE_TYPES } from '../../../runtime/sql/node-fields.ts';
import { NODE_FIELDS_FILE, readNodeTypes, renderNodeFields } from '../../tools/gen-node-fields.ts';

const special = new Set(Object.keys(SPECIAL_HANDLERS));
const genericSet = new Set(GENERIC_NODES);
const forbiddenSet = new Set(FORBIDDEN_NODES);

test('runtime/sql/node-fields.ts is generated from the installed @pgsql/types', () => {
  const expected = renderNodeFields(readNodeTypes());
  assert.ok(readFileSync(NODE_FIELDS_FILE, 'utf8') === expected, 'stale: run node --import tsx test/tools/gen-node-fields.ts');
});

test('the node type list is the Node union of @pgsql/types', () => {
  assert.equal([...NODE_TYPES], readNodeTypes().nodeTypes);
  assert.ok(NODE_TYPES.length > 250);
});

test('every node type is special, generic or forbidden, exactly once', () => {
  const missing: string[] = [];
  const twice: string[] = [];
  for (const t of NODE_TYPES) {
    const n = Number(special.has(t)) + Number(genericSet.has(t)) + Number(forbiddenSet.has(t));
    if (n === 0) missing.push(t);
    if (n > 1) twice.push(t);
  }
  assert.equal(missing, [], 'node types with no decision');
  assert.equal(twice, [], 'node types with two decisions');
});

test('the lists name only node types', () => {
  const all = new Set(NODE_TYPES);
  const stray = [...special, ...genericSet, ...forbiddenSet].filter((t) => !all.has(t));
  assert.equal(stray, []);
});

test('no statement is walked generically (sub-statements aside)', () => {
  const allowed = new Set(['ReturnStmt', 'ReplicaIdentityStmt']);
  const generic = NODE_TYPES.filter((t) => t.endsWith('Stmt') && genericSet.has(t) && !allowed.has(t));
  assert.equal(generic, []);
});

/**
 * What a bare RangeVar in each typed field means. `handled`: the node's handler gives the
 * relation its meaning (a DML target, a created object, ...); `read`: the generic walk yields
 * `select`, which is the intended meaning; `forbidden`: the node type is forbidden.
 */
const RANGEVAR_FIELDS: Record<string, 'handled' | 'read' | 'forbidden'> = {
  'AlterObjectDependsStmt.relation': 'handled',
  'AlterObjectSchemaStmt.relation': 'handled',
  'AlterOwnerStmt.relation': 'handled',
  'AlterPolicyStmt.table': 'handled',
  'AlterSeqStmt.sequence': 'handled',
  'AlterTableStmt.relation': 'handled',
  'ClusterStmt.relation': 'handled',
  'ColumnDef.identitySequence': 'read',
  'CompositeTypeStmt.typevar': 'handled',
  'Constraint.pktable': 'read',
  'CopyStmt.relation': 'handled',
  'CreatePolicyStmt.table': 'handled',
  'CreateSeqStmt.sequence': 'handled',
  'CreateStmt.relation': 'handled',
  'CreateTrigStmt.relation': 'handled',
  'CreateTrigStmt.constrrel': 'read',
  'DeleteStmt.relation': 'handled',
  'IndexStmt.relation': 'handled',
  'InsertStmt.relation': 'handled',
  'IntoClause.rel': 'handled',
  'MergeStmt.relation': 'handled',
  'PartitionCmd.name': 'handled',
  'PublicationTable.relation': 'read',
  'RefreshMatViewStmt.relation': 'handled',
  'ReindexStmt.relation': 'handled',
  'RenameStmt.relation': 'handled',
  'RuleStmt.relation': 'handled',
  'TableLikeClause.relation': 'read',
  'UpdateStmt.relation': 'handled',
  'VacuumRelation.relation': 'handled',
  'ViewStmt.view': 'handled',
};

test('every bare RangeVar field has a decided meaning', () => {
  const found: string[] = [];
  for (const [type, fields] of Object.entries(NODE_FIELDS))
    for (const [field, kind] of Object.entries(fields)) if (kind === 'RangeVar') found.push(`${type}.${field}`);
  const undecided = found.filter((f) => !(f in RANGEVAR_FIELDS));
  assert.equal(undecided, [], 'RangeVar fields nobody decided about');
  for (const [f, how] of Object.entries(RANGEVAR_FIELDS)) {
    const type = f.split('.')[0]!;
    if (how === 'handled') assert.ok(special.has(type) || type === 'IntoClause' || type === 'VacuumRelation', `${f}: ${type} has no handler`);
  }
});

const tree = (stmt: unknown): never => ({ version: 180004, stmts: [{ stmt }] }) as never;
const facts = (stmt: unknown): string[] =>
  classifyTree('x', tree(stmt)).statements.flatMap((s) => s.facts.map((f) => `${f.action}:${f.detail ?? f.resource}`));

test('an unknown node type anywhere is forbidden', () => {
  assert.equal(facts({ FutureStmt: {} }), ['forbidden:unknown node type FutureStmt']);
  const select = { SelectStmt: { targetList: [{ ResTarget: { val: { FutureExpr: { x: 1 } } } }], op: 'SETOP_NONE' } };
  assert.equal(facts(select), ['forbidden:unknown node type FutureExpr']);
});

test('an unknown field, even a scalar one, is forbidden', () => {
  const select = { SelectStmt: { fromClause: [{ RangeVar: { relname: 't', futureField: 'x' } }] } };
  const got = facts(select);
  assert.ok(got.includes('forbidden:unknown field RangeVar.futureField'), got.join(' '));
  const hidden = { SelectStmt: { futureClause: { FuncCall: { funcname: [{ String: { sval: 'pg_read_file' } }] } } } };
  assert.ok(facts(hidden).includes('forbidden:unknown field SelectStmt.futureClause'));
});

test('unknown fields of the leaf nodes (String, A_Const, ColumnRef) are forbidden', () => {
  const col = (fields: unknown[], extra: Record<string, unknown> = {}) => ({
    SelectStmt: { targetList: [{ ResTarget: { val: { ColumnRef: { fields, ...extra } } } }] },
  });
  assert.ok(facts(col([{ String: { sval: 'a', future: 1 } }])).includes('forbidden:unknown field String.future'));
  assert.ok(facts(col([{ String: { sval: 'a' } }], { future: 1 })).includes('forbidden:unknown field ColumnRef.future'));
  assert.ok(facts(col([{ FuncCall: { funcname: [{ String: { sval: 'evil' } }] } }])).includes('call:public.evil'), 'odd items are walked');
  const constant = { SelectStmt: { targetList: [{ ResTarget: { val: { A_Const: { ival: { ival: 1, future: 2 } } } } }] } };
  assert.ok(facts(constant).includes('forbidden:unknown field Integer.future'));
  const constant2 = { SelectStmt: { targetList: [{ ResTarget: { val: { A_Const: { future: {} } } } }] } };
  assert.ok(facts(constant2).includes('forbidden:unknown field A_Const.future'));
});

test('inherited property names are unknown fields, not field kinds', () => {
  const select = { SelectStmt: { constructor: { FuncCall: {} }, toString: 1 } };
  const got = facts(select);
  assert.ok(got.some((f) => f.startsWith('forbidden:unknown field SelectStmt.')), got.join(' '));
});

test('every deliberately forbidden node type yields a forbidden fact where it appears', () => {
  for (const t of FORBIDDEN_NODES) {
    const select = { SelectStmt: { targetList: [{ ResTarget: { val: { [t]: {} } } }] } };
    assert.ok(facts(select).some((f) => f.startsWith('forbidden:')), t);
  }
});

test('a tree deeper than the walker follows is forbidden', () => {
  let expr: unknown = { A_Const: { ival: { ival: 1 } } };
  for (let i = 0; i < 3000; i++) expr = { BoolExpr: { boolop: 'NOT_EXPR', args: [expr] } };
  const got = facts({ SelectStmt: { targetList: [{ ResTarget: { val: expr } }] } });
  assert.ok(got.some((f) => f.includes('nests deeper')), got.join(' '));
});

test('malformed trees are forbidden, not thrown', () => {
  assert.ok(facts({ SelectStmt: 'oops' }).some((f) => f.startsWith('forbidden:')));
  assert.ok(facts({}).some((f) => f.startsWith('forbidden:')));
  assert.ok(facts({ DeleteStmt: {} }).some((f) => f.startsWith('forbidden:')), 'a DELETE without a target');
});

test.run();
