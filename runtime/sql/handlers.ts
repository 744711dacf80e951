// The handler of every node type libpg_query can produce: special handlers where a node means
// something, the generic walk where it does not, and a forbidden fact for node types that a
// raw parse tree never contains (analyser and planner nodes) or that must not appear.
// test/unit/sql/node-types.test.ts checks that every type of @pgsql/types is in exactly one list.

import { A_Const, A_Expr, ColumnRef, FuncCall, RangeTableSample, RangeVar, SortBy, SubLink } from './expressions.ts';
import { dclHandlers } from './statements/dcl.ts';
import { ddlHandlers } from './statements/ddl.ts';
import { dmlHandlers } from './statements/dml.ts';
import { sessionHandlers } from './statements/session.ts';
import { forbidden, generic, leaf, type Handler } from './walk.ts';

/** Node types with a meaning of their own. */
export const SPECIAL_HANDLERS: Readonly<Record<string, Handler>> = {
  String: leaf('String'),
  Integer: leaf('Integer'),
  Float: leaf('Float'),
  Boolean: leaf('Boolean'),
  BitString: leaf('BitString'),
  A_Star: leaf('A_Star'),
  ParamRef: leaf('ParamRef'),
  A_Const,
  ColumnRef,
  RangeVar,
  FuncCall,
  A_Expr,
  SubLink,
  SortBy,
  RangeTableSample,
  ...dmlHandlers,
  ...sessionHandlers,
  ...ddlHandlers,
  ...dclHandlers,
};

/** Node types walked field by field: expressions, clauses and names with no meaning of their own. */
export const GENERIC_NODES: readonly string[] = [
  'List', 'Alias', 'TypeCast', 'CollateClause', 'RoleSpec', 'A_Indices',
  'A_Indirection', 'A_ArrayExpr', 'ResTarget', 'MultiAssignRef', 'WindowDef', 'RangeSubselect',
  'RangeFunction', 'RangeTableFunc', 'RangeTableFuncCol', 'ColumnDef', 'TableLikeClause',
  'IndexElem', 'DefElem', 'LockingClause', 'XmlSerialize', 'PartitionElem', 'PartitionSpec',
  'PartitionBoundSpec', 'PartitionRangeDatum', 'GroupingSet', 'WithClause', 'InferClause',
  'OnConflictClause', 'CTESearchClause', 'CTECycleClause', 'CommonTableExpr', 'MergeWhenClause',
  'ReturningOption', 'ReturningClause', 'TriggerTransition', 'JsonOutput', 'JsonArgument',
  'JsonFuncExpr', 'JsonTablePathSpec', 'JsonTable', 'JsonTableColumn', 'JsonKeyValue',
  'JsonParseExpr', 'JsonScalarExpr', 'JsonSerializeExpr', 'JsonObjectConstructor',
  'JsonArrayConstructor', 'JsonArrayQueryConstructor', 'JsonAggConstructor', 'JsonObjectAgg',
  'JsonArrayAgg', 'JsonFormat', 'JsonReturning', 'JsonValueExpr', 'JsonIsPredicate', 'JsonBehavior',
  'BoolExpr', 'CaseExpr', 'CaseWhen', 'RowExpr', 'CoalesceExpr', 'MinMaxExpr', 'SQLValueFunction',
  'XmlExpr', 'NullTest', 'BooleanTest', 'SetToDefault', 'CurrentOfExpr', 'NamedArgExpr',
  'GroupingFunc', 'MergeSupportFunc', 'JoinExpr', 'TypeName', 'ObjectWithArgs', 'AccessPriv',
  'Constraint', 'FunctionParameter', 'CreateOpClassItem', 'StatsElem', 'VacuumRelation',
  'PublicationTable', 'ReplicaIdentityStmt', 'ATAlterConstraint', 'ReturnStmt',
];

/**
 * Node types that are forbidden wherever they appear: nodes of the analyser and planner (a raw
 * parse tree does not contain them), result wrappers, PL/pgSQL-only statements, and IntoClause,
 * which only SELECT INTO and CREATE TABLE AS may carry (they handle it themselves).
 */
export const FORBIDDEN_NODES: readonly string[] = [
  'ParseResult', 'ScanResult', 'RawStmt', 'OidList', 'IntList', 'TableFunc', 'IntoClause', 'Var',
  'Param', 'Aggref', 'WindowFunc', 'WindowFuncRunCondition', 'SubscriptingRef', 'FuncExpr',
  'OpExpr', 'DistinctExpr', 'NullIfExpr', 'ScalarArrayOpExpr', 'SubPlan', 'AlternativeSubPlan',
  'FieldSelect', 'FieldStore', 'RelabelType', 'CoerceViaIO', 'ArrayCoerceExpr',
  'ConvertRowtypeExpr', 'CollateExpr', 'CaseTestExpr', 'ArrayExpr', 'RowCompareExpr',
  'JsonConstructorExpr', 'JsonExpr', 'JsonTablePath', 'JsonTablePathScan', 'JsonTableSiblingJoin',
  'MergeAction', 'CoerceToDomain', 'CoerceToDomainValue', 'NextValueExpr', 'InferenceElem',
  'ReturningExpr', 'TargetEntry', 'RangeTblRef', 'FromExpr', 'OnConflictExpr', 'Query',
  'RangeTblEntry', 'RTEPermissionInfo', 'RangeTblFunction', 'TableSampleClause', 'WithCheckOption',
  'SortGroupClause', 'WindowClause', 'RowMarkClause', 'SetOperationStmt', 'PLAssignStmt',
  'InlineCodeBlock', 'CallContext', 'ScanToken', 'SummaryResult', 'Table', 'Function', 'FilterColumn',
];

function build(): Map<string, Handler> {
  const table = new Map<string, Handler>();
  for (const t of GENERIC_NODES) table.set(t, generic);
  for (const t of FORBIDDEN_NODES) table.set(t, forbidden);
  for (const [t, h] of Object.entries(SPECIAL_HANDLERS)) table.set(t, h);
  return table;
}

export const HANDLERS: ReadonlyMap<string, Handler> = build();
