// DDL: create / alter / drop of every object kind, COMMENT, SECURITY LABEL, ownership and
// renames. Resources: `schema.name` for schema-scoped objects; the table an index, trigger,
// rule, policy or statistics object is on; `kind name` for global objects (spec/facts.md §5).
// Privileges and roles are in dcl.ts; object names in objects.ts.

import { callFacts, relationKeys } from '../expressions.ts';
import { globalKey, qualifiedKey, quoteIdent } from '../names.ts';
import { parseSearchPath, renderSetValue } from '../settings.ts';
import {
  ddlFacts,
  GLOBAL_TYPES,
  kindOf,
  movedKey,
  namedKeys,
  newNamedKeys,
  newObjectKeys,
  objectKeys,
  operatorKeys,
  RELATION_TYPES,
  renamedKey,
  roleName,
  routineKeys,
  str,
  typeText,
} from './objects.ts';
import { effect, SETSTMT, setStatement } from './session.ts';
import {
  addFact,
  deferred,
  fact,
  forbid,
  nodeOf,
  rangeVarName,
  stringList,
  walkFields,
  walkList,
  walkNode,
  type Handler,
  type Obj,
  type Walker,
} from '../walk.ts';

// ---- tables, views, indexes, sequences ----------------------------------------------------

const CREATE_SPECIAL = new Set(['relation', 'inhRelations']);

function createTable(w: Walker, s: Obj, objectKind: string): void {
  const rv = s.relation as Obj;
  const { schema, name } = rangeVarName(rv);
  ddlFacts(w, 'create', objectKind, newObjectKeys(w, schema, name, rv.relpersistence === 't'));
  // INHERITS / PARTITION OF change the parent: its queries now see this table's rows
  for (const p of Array.isArray(s.inhRelations) ? s.inhRelations : []) {
    const prv = nodeOf(p, 'RangeVar');
    if (prv === null) walkNode(w, p);
    else ddlFacts(w, 'alter', 'table', relationKeys(w, prv));
  }
  deferred(w, () => walkFields(w, 'CreateStmt', s, CREATE_SPECIAL));
}

export const CreateStmt: Handler = (w, s) => createTable(w, s, 'table');

export const CreateForeignTableStmt: Handler = (w, s, type) => {
  createTable(w, s.base as Obj, 'foreign_table');
  walkFields(w, type, s, BASE);
};
const BASE = new Set(['base']);

export const CreateTableAsStmt: Handler = (w, s, type) => {
  const into = s.into as Obj;
  const kind = s.objtype === 'OBJECT_MATVIEW' ? 'materialized_view' : 'table';
  const rv = into.rel as Obj;
  const { schema, name } = rangeVarName(rv);
  ddlFacts(w, 'create', kind, newObjectKeys(w, schema, name, rv.relpersistence === 't'));
  walkFields(w, 'IntoClause', into, REL);
  walkFields(w, type, s, INTO);
};
const REL = new Set(['rel']);
const INTO = new Set(['into']);

export const ViewStmt: Handler = (w, s, type) => {
  const rv = s.view as Obj;
  const { schema, name } = rangeVarName(rv);
  const keys = newObjectKeys(w, schema, name, rv.relpersistence === 't');
  ddlFacts(w, 'create', 'view', keys);
  if (s.replace === true) ddlFacts(w, 'alter', 'view', keys);
  deferred(w, () => walkFields(w, type, s, VIEW));
};
const VIEW = new Set(['view']);

export const IndexStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'create', 'index', relationKeys(w, s.relation as Obj));
  deferred(w, () => walkFields(w, type, s, RELATION));
};
const RELATION = new Set(['relation']);

export const CreateSeqStmt: Handler = (w, s, type) => {
  const rv = s.sequence as Obj;
  const { schema, name } = rangeVarName(rv);
  ddlFacts(w, 'create', 'sequence', newObjectKeys(w, schema, name, rv.relpersistence === 't'));
  walkFields(w, type, s, SEQUENCE);
};
const SEQUENCE = new Set(['sequence']);

export const AlterSeqStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'sequence', relationKeys(w, s.sequence as Obj));
  walkFields(w, type, s, SEQUENCE);
};

export const AlterTableStmt: Handler = (w, s, type) => {
  const keys = relationKeys(w, s.relation as Obj);
  ddlFacts(w, 'alter', kindOf(s.objtype), keys);
  // INHERIT p: this table's rows are read (and updated, deleted) through p; ATTACH PARTITION c: c's through this one
  for (const c of Array.isArray(s.cmds) ? s.cmds : []) {
    const cmd = nodeOf(c, 'AlterTableCmd');
    if (cmd === null) continue;
    if (cmd.subtype === 'AT_AddInherit') {
      const parent = nodeOf(cmd.def, 'RangeVar');
      if (parent !== null) reachPairs(w, keys, relationKeys(w, parent));
    } else if (cmd.subtype === 'AT_AttachPartition') {
      const part = nodeOf(cmd.def, 'PartitionCmd')?.name;
      if (part !== null && typeof part === 'object') reachPairs(w, relationKeys(w, part as Obj), keys);
    }
  }
  deferred(w, () => walkFields(w, type, s, RELATION));
};

/** Every candidate of `from` may become reachable as every candidate of `as`. */
function reachPairs(w: Walker, from: readonly string[], as: readonly string[]): void {
  for (const f of from) for (const a of as) effect(w, { kind: 'reach', from: f, as: a });
}

/** ALTER TABLE … INHERIT / NO INHERIT p changes p too. */
export const AlterTableCmd: Handler = (w, s, type) => {
  if (s.subtype === 'AT_AddInherit' || s.subtype === 'AT_DropInherit') {
    const rv = nodeOf(s.def, 'RangeVar');
    if (rv !== null) {
      ddlFacts(w, 'alter', 'table', relationKeys(w, rv));
      walkFields(w, type, s, DEF);
      return;
    }
  }
  walkFields(w, type, s);
};
const DEF = new Set(['def']);

/** ATTACH / DETACH PARTITION p: p is altered too. */
export const PartitionCmd: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'table', relationKeys(w, s.name as Obj));
  walkFields(w, type, s, NAME);
};
const NAME = new Set(['name']);

export const CreateSchemaStmt: Handler = (w, s, type) => {
  const name = typeof s.schemaname === 'string' ? s.schemaname : String((s.authrole as Obj | undefined)?.rolename ?? '');
  ddlFacts(w, 'create', 'schema', [globalKey('schema', name)]);
  const ctx = w.ctx;
  const creation = w.creationSchema;
  // PostgreSQL runs the elements with the new schema first in the path and as their creation target.
  w.ctx = { ...ctx, searchPath: [name, ...ctx.searchPath] };
  w.creationSchema = name;
  try {
    walkFields(w, type, s);
  } finally {
    w.ctx = ctx;
    w.creationSchema = creation;
  }
};

// ---- functions, triggers, rules, policies ------------------------------------------------

function defElems(list: unknown): Obj[] {
  const out: Obj[] = [];
  for (const item of Array.isArray(list) ? list : []) {
    const d = nodeOf(item, 'DefElem');
    if (d !== null) out.push(d);
  }
  return out;
}

const FUNCTION_SPECIAL = new Set(['funcname', 'options', 'sql_body', 'parameters']);

export const CreateFunctionStmt: Handler = (w, s, type) => {
  const kind = s.is_procedure === true ? 'procedure' : 'function';
  const keys = newNamedKeys(w, s.funcname);
  ddlFacts(w, 'create', kind, keys);
  if (s.replace === true) ddlFacts(w, 'alter', kind, keys);
  let language: string | null = null;
  let body: string[] = [];
  let searchPath: string[] | null = null;
  const options = defElems(s.options);
  for (const d of options) {
    if (d.defname === 'language') language = str(nodeOf(d.arg, 'String')?.sval);
    else if (d.defname === 'as') body = (stringList(nodeOf(d.arg, 'List')?.items) ?? []).concat();
    else if (d.defname === 'set') {
      const vs = nodeOf(d.arg, 'VariableSetStmt');
      if (vs === null) {
        forbid(w, 'an unknown SET clause');
        continue;
      }
      setStatement(w, vs, 'definition');
      if (vs.name === 'search_path' && vs.kind === 'VAR_SET_VALUE') {
        const value = renderSetValue('search_path', vs.args);
        if (value !== null) searchPath = parseSearchPath(value);
      }
    } else walkNode(w, { DefElem: d });
  }
  deferred(w, () => {
    walkList(w, s.parameters);
    if (s.sql_body !== undefined) walkNode(w, s.sql_body);
  });
  if (s.sql_body !== undefined) language ??= 'sql';
  if (language === null || language === 'sql') {
    if (s.sql_body === undefined) {
      const ctx = searchPath !== null ? { searchPath } : { searchPath: w.ctx.searchPath };
      const statements = w.classifyText(body[0] ?? '', ctx, w.nesting);
      for (const st of statements) for (const f of st.facts) addFact(w, f);
    }
  } else {
    // The body is opaque to the gateway: creating it needs `do` on its language.
    fact(w, 'do', quoteIdent(language));
    if (language === 'c' && body[0] !== undefined) fact(w, 'load', body[0]);
  }
  walkFields(w, type, s, FUNCTION_SPECIAL);
};

export const AlterFunctionStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', kindOf(s.objtype), routineKeys(w, s.func as Obj));
  for (const d of defElems(s.actions)) {
    if (d.defname === 'set') {
      const vs = nodeOf(d.arg, 'VariableSetStmt');
      if (vs !== null) setStatement(w, vs, 'definition');
      else forbid(w, 'an unknown SET clause');
    } else walkNode(w, { DefElem: d });
  }
  walkFields(w, type, s, FUNC_ACTIONS);
};
const FUNC_ACTIONS = new Set(['func', 'actions']);

const TRIGGER_SPECIAL = new Set(['relation', 'funcname', 'whenClause']);

export const CreateTrigStmt: Handler = (w, s, type) => {
  const keys = relationKeys(w, s.relation as Obj);
  ddlFacts(w, 'create', 'trigger', keys);
  if (s.replace === true) ddlFacts(w, 'alter', 'trigger', keys);
  callFacts(w, s.funcname, 0);
  deferred(w, () => walkNode(w, s.whenClause));
  walkFields(w, type, s, TRIGGER_SPECIAL);
};

export const CreateEventTrigStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'create', 'event_trigger', [globalKey('event_trigger', str(s.trigname))]);
  callFacts(w, s.funcname, 0);
  walkFields(w, type, s, FUNCNAME);
};
const FUNCNAME = new Set(['funcname']);

export const AlterEventTrigStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'event_trigger', [globalKey('event_trigger', str(s.trigname))]);
  walkFields(w, type, s);
};

export const RuleStmt: Handler = (w, s, type) => {
  const keys = relationKeys(w, s.relation as Obj);
  ddlFacts(w, 'create', 'rule', keys);
  if (s.replace === true) ddlFacts(w, 'alter', 'rule', keys);
  deferred(w, () => walkFields(w, type, s, RELATION));
};

export const CreatePolicyStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'create', 'policy', relationKeys(w, s.table as Obj));
  deferred(w, () => walkFields(w, type, s, TABLE));
};
const TABLE = new Set(['table']);

export const AlterPolicyStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'policy', relationKeys(w, s.table as Obj));
  deferred(w, () => walkFields(w, type, s, TABLE));
};

export const CreateStatsStmt: Handler = (w, s, type) => {
  for (const r of Array.isArray(s.relations) ? s.relations : []) {
    const rv = nodeOf(r, 'RangeVar');
    if (rv === null) walkNode(w, r);
    else ddlFacts(w, 'create', 'statistics', relationKeys(w, rv));
  }
  deferred(w, () => walkFields(w, type, s, RELATIONS));
};
const RELATIONS = new Set(['relations']);

export const AlterStatsStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'statistics', namedKeys(w, s.defnames));
  walkFields(w, type, s, DEFNAMES);
};
const DEFNAMES = new Set(['defnames']);

// ---- generic object statements -----------------------------------------------------------

export const DropStmt: Handler = (w, s, type) => {
  const objtype = String(s.removeType);
  const detail = s.behavior === 'DROP_CASCADE' ? 'CASCADE also drops every object that depends on it' : undefined;
  for (const o of Array.isArray(s.objects) ? s.objects : []) ddlFacts(w, 'drop', kindOf(objtype), objectKeys(w, objtype, o), detail);
  walkFields(w, type, s, OBJECTS);
};
const OBJECTS = new Set(['objects']);

/** Keys of the object a RenameStmt / AlterOwnerStmt / … names (relation, object or subname). */
function statementObjectKeys(w: Walker, objtype: string, s: Obj): string[] {
  if (s.relation !== undefined) return relationKeys(w, s.relation as Obj);
  if (s.object !== undefined) return objectKeys(w, objtype, s.object);
  if (GLOBAL_TYPES.has(objtype) && typeof s.subname === 'string') return [globalKey(kindOf(objtype), s.subname)];
  forbid(w, `an object of kind ${kindOf(objtype)} that cannot be resolved`);
  return [];
}

const RENAME_SPECIAL = new Set(['relation', 'object']);

export const RenameStmt: Handler = (w, s, type) => {
  const objtype = String(s.renameType);
  const keys = statementObjectKeys(w, objtype, s);
  const onTable = s.relation !== undefined && !RELATION_TYPES.has(objtype);
  const kind = kindOf(objtype);
  const action = objtype === 'OBJECT_ROLE' ? 'role' : 'alter';
  if (action === 'role') for (const k of keys) fact(w, 'role', k);
  else ddlFacts(w, 'alter', kind, keys);
  // the object also appears under its new name
  if (!onTable && typeof s.newname === 'string') {
    const renamed = keys.map((k) => renamedKey(k, s.newname as string));
    if (action === 'role') for (const k of renamed) fact(w, 'role', k);
    else ddlFacts(w, 'alter', kind, renamed);
    // its rows (a schema's: every relation's) are reached under the new name
    if (RELATION_TYPES.has(objtype)) keys.forEach((k, i) => effect(w, { kind: 'reach', from: k, as: renamed[i] }));
    else if (objtype === 'OBJECT_SCHEMA' && typeof s.subname === 'string') effect(w, { kind: 'reach', from: `${quoteIdent(s.subname)}.*`, as: `${quoteIdent(s.newname)}.*` });
  } else if ((objtype === 'OBJECT_COLUMN' || objtype === 'OBJECT_ATTRIBUTE') && typeof s.subname === 'string' && typeof s.newname === 'string') {
    // a column's values are reached under its new name, where masks (by name) may not follow;
    // ALTER TYPE t RENAME ATTRIBUTE renames the column of the table whose row type t is
    for (const k of keys) effect(w, { kind: 'reach_column', relation: k, from: s.subname, as: s.newname });
  }
  walkFields(w, type, s, RENAME_SPECIAL);
};

export const AlterObjectSchemaStmt: Handler = (w, s, type) => {
  const objtype = String(s.objectType);
  const keys = statementObjectKeys(w, objtype, s);
  ddlFacts(w, 'alter', kindOf(objtype), keys);
  if (typeof s.newschema === 'string') {
    const moved = keys.map((k) => movedKey(k, s.newschema as string));
    ddlFacts(w, 'alter', kindOf(objtype), moved);
    if (RELATION_TYPES.has(objtype)) keys.forEach((k, i) => effect(w, { kind: 'reach', from: k, as: moved[i] }));
  }
  walkFields(w, type, s, RENAME_SPECIAL);
};

export const AlterOwnerStmt: Handler = (w, s, type) => {
  const objtype = String(s.objectType);
  ddlFacts(w, 'alter', kindOf(objtype), statementObjectKeys(w, objtype, s));
  walkFields(w, type, s, RENAME_SPECIAL);
};

export const AlterObjectDependsStmt: Handler = (w, s, type) => {
  const objtype = String(s.objectType);
  ddlFacts(w, 'alter', kindOf(objtype), statementObjectKeys(w, objtype, s));
  walkFields(w, type, s, RENAME_SPECIAL);
};

const OBJECT = new Set(['object']);

export const CommentStmt: Handler = (w, s, type) => {
  const objtype = String(s.objtype);
  ddlFacts(w, 'alter', kindOf(objtype), objectKeys(w, objtype, s.object));
  walkFields(w, type, s, OBJECT);
};

export const SecLabelStmt: Handler = (w, s, type) => {
  const objtype = String(s.objtype);
  ddlFacts(w, 'alter', kindOf(objtype), objectKeys(w, objtype, s.object));
  walkFields(w, type, s, OBJECT);
};

// ---- types, domains, operators, text search, ... -----------------------------------------

export const CreateDomainStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'create', 'domain', newNamedKeys(w, s.domainname));
  deferred(w, () => walkFields(w, type, s, DOMAINNAME));
};
const DOMAINNAME = new Set(['domainname']);

export const AlterDomainStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'domain', namedKeys(w, s.typeName));
  deferred(w, () => walkFields(w, type, s, TYPENAME));
};
const TYPENAME = new Set(['typeName']);

export const DefineStmt: Handler = (w, s, type) => {
  const kind = kindOf(s.kind);
  let keys: string[];
  if (s.kind === 'OBJECT_OPERATOR') {
    const parts = stringList(s.defnames) ?? [];
    const op = parts[parts.length - 1] ?? '';
    keys = newObjectKeys(w, parts.length === 2 ? parts[0] : undefined, op);
  } else keys = newNamedKeys(w, s.defnames);
  ddlFacts(w, 'create', kind, keys);
  if (s.replace === true) ddlFacts(w, 'alter', kind, keys);
  walkFields(w, type, s, DEFNAMES);
};

export const CompositeTypeStmt: Handler = (w, s, type) => {
  const { schema, name } = rangeVarName(s.typevar as Obj);
  ddlFacts(w, 'create', 'type', newObjectKeys(w, schema, name));
  walkFields(w, type, s, TYPEVAR);
};
const TYPEVAR = new Set(['typevar']);

function typeStatement(action: string, field: string): Handler {
  const skip = new Set([field]);
  return (w, s, type) => {
    ddlFacts(w, action, 'type', action === 'create' ? newNamedKeys(w, s[field]) : namedKeys(w, s[field]));
    walkFields(w, type, s, skip);
  };
}

function namedStatement(action: string, kind: string, field: string): Handler {
  const skip = new Set([field]);
  return (w, s, type) => {
    ddlFacts(w, action, kind, action === 'create' ? newNamedKeys(w, s[field]) : namedKeys(w, s[field]));
    walkFields(w, type, s, skip);
  };
}

function globalStatement(action: string, kind: string, field: string): Handler {
  return (w, s, type) => {
    ddlFacts(w, action, kind, [globalKey(kind, str(s[field]))]);
    walkFields(w, type, s);
  };
}

export const AlterOperatorStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'operator', operatorKeys(w, s.opername as Obj));
  walkFields(w, type, s, OPERNAME);
};
const OPERNAME = new Set(['opername']);

export const CreateCastStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'create', 'cast', [`cast (${typeText(s.sourcetype as Obj)} as ${typeText(s.targettype as Obj)})`]);
  walkFields(w, type, s);
};

export const CreateTransformStmt: Handler = (w, s, type) => {
  const keys = [`transform (${typeText(s.type_name as Obj)} language ${quoteIdent(str(s.lang))})`];
  ddlFacts(w, 'create', 'transform', keys);
  if (s.replace === true) ddlFacts(w, 'alter', 'transform', keys);
  walkFields(w, type, s);
};

export const CreatePLangStmt: Handler = (w, s, type) => {
  const keys = [globalKey('language', str(s.plname))];
  ddlFacts(w, 'create', 'language', keys);
  if (s.replace === true) ddlFacts(w, 'alter', 'language', keys);
  walkFields(w, type, s);
};

export const AlterExtensionContentsStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'extension', [globalKey('extension', str(s.extname))]);
  const objtype = String(s.objtype);
  ddlFacts(w, 'alter', kindOf(objtype), objectKeys(w, objtype, s.object));
  walkFields(w, type, s, OBJECT);
};

export const CreateExtensionStmt: Handler = (w, s, type) => {
  const cascade = defElems(s.options).some((d) => d.defname === 'cascade');
  ddlFacts(w, 'create', 'extension', [globalKey('extension', str(s.extname))], cascade ? 'CASCADE also creates the extensions it requires' : undefined);
  walkFields(w, type, s);
};

function userMappingStatement(action: string): Handler {
  return (w, s, type) => {
    ddlFacts(w, action, 'user_mapping', [`user_mapping ${roleName(s.user as Obj)}@${quoteIdent(str(s.servername))}`]);
    walkFields(w, type, s);
  };
}

export const ImportForeignSchemaStmt: Handler = (w, s, type) => {
  const local = str(s.local_schema);
  const tables = Array.isArray(s.table_list) ? s.table_list : [];
  if (s.list_type === 'FDW_IMPORT_SCHEMA_LIMIT_TO' && tables.length > 0) {
    for (const t of tables) ddlFacts(w, 'create', 'foreign_table', [qualifiedKey(local, str(nodeOf(t, 'RangeVar')?.relname))]);
  } else ddlFacts(w, 'create', 'foreign_table', [`${quoteIdent(local)}.*`]);
  // table_list names remote tables: not walked as local relations
  walkFields(w, type, s, TABLE_LIST);
};
const TABLE_LIST = new Set(['table_list']);

export const AlterTableMoveAllStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'tablespace', [globalKey('tablespace', str(s.orig_tablespacename)), globalKey('tablespace', str(s.new_tablespacename))]);
  walkFields(w, type, s);
};

export const CreateTableSpaceStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'create', 'tablespace', [globalKey('tablespace', str(s.tablespacename))], `location ${str(s.location)}`);
  walkFields(w, type, s);
};

export const AlterDatabaseSetStmt: Handler = (w, s, type) => {
  ddlFacts(w, 'alter', 'database', [globalKey('database', str(s.dbname))]);
  setStatement(w, s.setstmt as Obj, 'definition');
  walkFields(w, type, s, SETSTMT);
};

/** FOR TABLE t / TABLES IN SCHEMA s: publishing exposes the rows, so it reads them. */
export const PublicationObjSpec: Handler = (w, s, type) => {
  switch (s.pubobjtype) {
    case 'PUBLICATIONOBJ_TABLES_IN_SCHEMA':
      fact(w, 'select', `${quoteIdent(str(s.name))}.*`);
      break;
    case 'PUBLICATIONOBJ_TABLES_IN_CUR_SCHEMA':
      for (const schema of w.ctx.searchPath.slice(0, 1)) fact(w, 'select', `${quoteIdent(schema)}.*`);
      break;
    case 'PUBLICATIONOBJ_TABLE':
      break;
    case 'PUBLICATIONOBJ_CONTINUATION':
      if (s.pubtable === undefined && typeof s.name === 'string') fact(w, 'select', `${quoteIdent(s.name)}.*`);
      break;
    default:
      forbid(w, `an unknown publication object ${String(s.pubobjtype)}`);
  }
  walkFields(w, type, s);
};

function publicationStatement(action: string): Handler {
  return (w, s, type) => {
    ddlFacts(w, action, 'publication', [globalKey('publication', str(s.pubname))]);
    if (s.for_all_tables === true) fact(w, 'select', '*');
    walkFields(w, type, s);
  };
}

export const ddlHandlers: Record<string, Handler> = {
  CreateStmt,
  CreateForeignTableStmt,
  CreateTableAsStmt,
  ViewStmt,
  IndexStmt,
  CreateSeqStmt,
  AlterSeqStmt,
  AlterTableStmt,
  AlterTableCmd,
  PartitionCmd,
  CreateSchemaStmt,
  CreateFunctionStmt,
  AlterFunctionStmt,
  CreateTrigStmt,
  CreateEventTrigStmt,
  AlterEventTrigStmt,
  RuleStmt,
  CreatePolicyStmt,
  AlterPolicyStmt,
  CreateStatsStmt,
  AlterStatsStmt,
  DropStmt,
  RenameStmt,
  AlterObjectSchemaStmt,
  AlterOwnerStmt,
  AlterObjectDependsStmt,
  CommentStmt,
  SecLabelStmt,
  CreateDomainStmt,
  AlterDomainStmt,
  DefineStmt,
  CompositeTypeStmt,
  CreateEnumStmt: typeStatement('create', 'typeName'),
  CreateRangeStmt: typeStatement('create', 'typeName'),
  AlterEnumStmt: typeStatement('alter', 'typeName'),
  AlterTypeStmt: typeStatement('alter', 'typeName'),
  AlterOperatorStmt,
  CreateCastStmt,
  CreateTransformStmt,
  CreateConversionStmt: namedStatement('create', 'conversion', 'conversion_name'),
  AlterCollationStmt: namedStatement('alter', 'collation', 'collname'),
  CreateOpClassStmt: namedStatement('create', 'operator_class', 'opclassname'),
  CreateOpFamilyStmt: namedStatement('create', 'operator_family', 'opfamilyname'),
  AlterOpFamilyStmt: namedStatement('alter', 'operator_family', 'opfamilyname'),
  AlterTSDictionaryStmt: namedStatement('alter', 'text_search_dictionary', 'dictname'),
  AlterTSConfigurationStmt: namedStatement('alter', 'text_search_configuration', 'cfgname'),
  CreatePLangStmt,
  CreateExtensionStmt,
  AlterExtensionStmt: globalStatement('alter', 'extension', 'extname'),
  AlterExtensionContentsStmt,
  CreateFdwStmt: globalStatement('create', 'foreign_data_wrapper', 'fdwname'),
  AlterFdwStmt: globalStatement('alter', 'foreign_data_wrapper', 'fdwname'),
  CreateForeignServerStmt: globalStatement('create', 'server', 'servername'),
  AlterForeignServerStmt: globalStatement('alter', 'server', 'servername'),
  CreateUserMappingStmt: userMappingStatement('create'),
  AlterUserMappingStmt: userMappingStatement('alter'),
  DropUserMappingStmt: userMappingStatement('drop'),
  ImportForeignSchemaStmt,
  CreateAmStmt: globalStatement('create', 'access_method', 'amname'),
  CreateTableSpaceStmt,
  DropTableSpaceStmt: globalStatement('drop', 'tablespace', 'tablespacename'),
  AlterTableSpaceOptionsStmt: globalStatement('alter', 'tablespace', 'tablespacename'),
  AlterTableMoveAllStmt,
  CreatedbStmt: globalStatement('create', 'database', 'dbname'),
  AlterDatabaseStmt: globalStatement('alter', 'database', 'dbname'),
  AlterDatabaseRefreshCollStmt: globalStatement('alter', 'database', 'dbname'),
  AlterDatabaseSetStmt,
  DropdbStmt: globalStatement('drop', 'database', 'dbname'),
  CreatePublicationStmt: publicationStatement('create'),
  AlterPublicationStmt: publicationStatement('alter'),
  PublicationObjSpec,
  CreateSubscriptionStmt: globalStatement('create', 'subscription', 'subname'),
  AlterSubscriptionStmt: globalStatement('alter', 'subscription', 'subname'),
  DropSubscriptionStmt: globalStatement('drop', 'subscription', 'subname'),
};

