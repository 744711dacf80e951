// Naming the objects of DDL and DCL statements: the objectKind of each ObjectType and the
// resource keys of the objects a statement names (spec/facts.md §2, §5).

import { relationKeys, splitName } from '../expressions.ts';
import {
  creationCandidates,
  dottedKey,
  globalKey,
  objectCandidates,
  operatorCandidates,
  qualifiedKey,
  quoteIdent,
  relationCandidates,
  routineCandidates,
  splitKey,
} from '../names.ts';
import { addFact, fact, forbid, nodeOf, stringList, type Obj, type Walker } from '../walk.ts';

/** ObjectType → the objectKind of facts. */
export const OBJECT_KINDS: Readonly<Record<string, string>> = {
  OBJECT_ACCESS_METHOD: 'access_method',
  OBJECT_AGGREGATE: 'aggregate',
  OBJECT_AMOP: 'operator_family',
  OBJECT_AMPROC: 'operator_family',
  OBJECT_ATTRIBUTE: 'type',
  OBJECT_CAST: 'cast',
  OBJECT_COLUMN: 'column',
  OBJECT_COLLATION: 'collation',
  OBJECT_CONVERSION: 'conversion',
  OBJECT_DATABASE: 'database',
  OBJECT_DEFAULT: 'default',
  OBJECT_DEFACL: 'default_privileges',
  OBJECT_DOMAIN: 'domain',
  OBJECT_DOMCONSTRAINT: 'domain_constraint',
  OBJECT_EVENT_TRIGGER: 'event_trigger',
  OBJECT_EXTENSION: 'extension',
  OBJECT_FDW: 'foreign_data_wrapper',
  OBJECT_FOREIGN_SERVER: 'server',
  OBJECT_FOREIGN_TABLE: 'foreign_table',
  OBJECT_FUNCTION: 'function',
  OBJECT_INDEX: 'index',
  OBJECT_LANGUAGE: 'language',
  OBJECT_LARGEOBJECT: 'large_object',
  OBJECT_MATVIEW: 'materialized_view',
  OBJECT_OPCLASS: 'operator_class',
  OBJECT_OPERATOR: 'operator',
  OBJECT_OPFAMILY: 'operator_family',
  OBJECT_PARAMETER_ACL: 'parameter',
  OBJECT_POLICY: 'policy',
  OBJECT_PROCEDURE: 'procedure',
  OBJECT_PUBLICATION: 'publication',
  OBJECT_PUBLICATION_NAMESPACE: 'publication',
  OBJECT_PUBLICATION_REL: 'publication',
  OBJECT_ROLE: 'role',
  OBJECT_ROUTINE: 'routine',
  OBJECT_RULE: 'rule',
  OBJECT_SCHEMA: 'schema',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_SUBSCRIPTION: 'subscription',
  OBJECT_STATISTIC_EXT: 'statistics',
  OBJECT_TABCONSTRAINT: 'constraint',
  OBJECT_TABLE: 'table',
  OBJECT_TABLESPACE: 'tablespace',
  OBJECT_TRANSFORM: 'transform',
  OBJECT_TRIGGER: 'trigger',
  OBJECT_TSCONFIGURATION: 'text_search_configuration',
  OBJECT_TSDICTIONARY: 'text_search_dictionary',
  OBJECT_TSPARSER: 'text_search_parser',
  OBJECT_TSTEMPLATE: 'text_search_template',
  OBJECT_TYPE: 'type',
  OBJECT_USER_MAPPING: 'user_mapping',
  OBJECT_VIEW: 'view',
};

export const RELATION_TYPES = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_INDEX',
]);
/** Objects that live on a table: the resource is the table. */
export const ON_TABLE_TYPES = new Set(['OBJECT_COLUMN', 'OBJECT_TABCONSTRAINT', 'OBJECT_TRIGGER', 'OBJECT_RULE', 'OBJECT_POLICY']);
/** Global objects: `kind name`. */
export const GLOBAL_TYPES = new Set([
  'OBJECT_SCHEMA',
  'OBJECT_DATABASE',
  'OBJECT_EXTENSION',
  'OBJECT_LANGUAGE',
  'OBJECT_FDW',
  'OBJECT_FOREIGN_SERVER',
  'OBJECT_ACCESS_METHOD',
  'OBJECT_EVENT_TRIGGER',
  'OBJECT_PUBLICATION',
  'OBJECT_SUBSCRIPTION',
  'OBJECT_TABLESPACE',
  'OBJECT_ROLE',
  'OBJECT_PARAMETER_ACL',
]);
export const ROUTINE_TYPES = new Set(['OBJECT_FUNCTION', 'OBJECT_PROCEDURE', 'OBJECT_ROUTINE', 'OBJECT_AGGREGATE']);
export const NAMED_TYPES = new Set([
  'OBJECT_COLLATION',
  'OBJECT_CONVERSION',
  'OBJECT_STATISTIC_EXT',
  'OBJECT_TSCONFIGURATION',
  'OBJECT_TSDICTIONARY',
  'OBJECT_TSPARSER',
  'OBJECT_TSTEMPLATE',
]);

export function kindOf(objtype: unknown): string {
  return OBJECT_KINDS[String(objtype)] ?? String(objtype).toLowerCase().replace(/^object_/, '');
}

/** DDL facts with an object kind. */
export function ddlFacts(w: Walker, action: string, objectKind: string, keys: readonly string[], detail?: string): void {
  for (const k of keys) addFact(w, detail === undefined ? { action, resource: k, objectKind } : { action, resource: k, objectKind, detail });
}

/** Creation keys of a new schema-scoped object; CREATE SCHEMA's elements go to the new schema. */
export function newObjectKeys(w: Walker, schema: string | undefined, name: string, temp = false): string[] {
  if (schema === undefined && w.creationSchema !== null && !temp) return [qualifiedKey(w.creationSchema, name)];
  const keys = creationCandidates(schema, name, w.ctx, temp);
  if (keys.length === 0) forbid(w, `no schema to create ${quoteIdent(name)} in: the search path is empty`);
  return keys;
}

/** Keys of a new object named by a list of String nodes. */
export function newNamedKeys(w: Walker, list: unknown): string[] {
  const n = splitName(list);
  if (n === null) {
    forbid(w, 'an object name that cannot be resolved');
    return [];
  }
  return newObjectKeys(w, n.schema, n.name);
}

/** Keys of an existing schema-scoped object (not a relation or function) named by a String list. */
export function namedKeys(w: Walker, list: unknown): string[] {
  const n = splitName(list);
  if (n === null) {
    forbid(w, 'an object name that cannot be resolved');
    return [];
  }
  const keys = objectCandidates(n.schema, n.name, w.ctx);
  if (keys.length === 0) forbid(w, `${quoteIdent(n.name)} resolves to no schema: the search path is empty`);
  return keys;
}

export function relationListKeys(w: Walker, list: unknown): string[] {
  const n = splitName(list);
  if (n === null) {
    forbid(w, 'a relation name that cannot be resolved');
    return [];
  }
  const keys = relationCandidates(n.schema, n.name, w.ctx);
  if (keys.length === 0) forbid(w, `${quoteIdent(n.name)} resolves to no schema: the search path is empty`);
  return keys;
}

/** A type name as written: `pg_catalog.int4`, `public.mytype[]`. */
export function typeText(t: Obj | null): string {
  if (t === null) return '?';
  const names = stringList(t.names) ?? [];
  const bounds = Array.isArray(t.arrayBounds) ? '[]'.repeat(t.arrayBounds.length) : '';
  return `${t.setof === true ? 'setof ' : ''}${dottedKey(names)}${bounds}`;
}

export function typeNameKeys(w: Walker, t: Obj | null): string[] {
  if (t === null) {
    forbid(w, 'a type name that cannot be resolved');
    return [];
  }
  return namedKeys(w, t.names);
}

export function routineKeys(w: Walker, owa: Obj | null): string[] {
  if (owa === null) {
    forbid(w, 'a function name that cannot be resolved');
    return [];
  }
  const n = splitName(owa.objname);
  if (n === null) {
    forbid(w, 'a function name that cannot be resolved');
    return [];
  }
  const argc = owa.args_unspecified === true ? null : Array.isArray(owa.objargs) ? owa.objargs.length : 0;
  const keys = routineCandidates(n.schema, n.name, argc, w.ctx);
  if (keys.length === 0) forbid(w, `${quoteIdent(n.name)} resolves to no schema: the search path is empty`);
  return keys;
}

export function operatorKeys(w: Walker, owa: Obj | null): string[] {
  const parts = owa !== null ? stringList(owa.objname) : null;
  if (parts === null || parts.length === 0 || parts.length > 2) {
    forbid(w, 'an operator name that cannot be resolved');
    return [];
  }
  return operatorCandidates(parts.length === 2 ? parts[0] : undefined, parts[parts.length - 1]!, w.ctx);
}

export function listItems(node: unknown): unknown[] {
  const l = nodeOf(node, 'List');
  return l !== null && Array.isArray(l.items) ? l.items : [];
}

/** Keys of an existing object of a kind, as DROP / COMMENT / ALTER … OWNER / GRANT name it. */
export function objectKeys(w: Walker, objtype: string, object: unknown): string[] {
  const rv = nodeOf(object, 'RangeVar');
  if (rv !== null) return relationKeys(w, rv);
  if (RELATION_TYPES.has(objtype)) return relationListKeys(w, listItems(object));
  if (ON_TABLE_TYPES.has(objtype)) return relationListKeys(w, listItems(object).slice(0, -1));
  if (GLOBAL_TYPES.has(objtype)) {
    const s = nodeOf(object, 'String');
    if (s === null) {
      forbid(w, `a ${kindOf(objtype)} name that cannot be resolved`);
      return [];
    }
    return [globalKey(kindOf(objtype), String(s.sval ?? ''))];
  }
  if (ROUTINE_TYPES.has(objtype)) return routineKeys(w, nodeOf(object, 'ObjectWithArgs'));
  if (objtype === 'OBJECT_OPERATOR') return operatorKeys(w, nodeOf(object, 'ObjectWithArgs'));
  if (objtype === 'OBJECT_TYPE' || objtype === 'OBJECT_DOMAIN') {
    const t = nodeOf(object, 'TypeName');
    return t !== null ? typeNameKeys(w, t) : namedKeys(w, listItems(object));
  }
  if (objtype === 'OBJECT_DOMCONSTRAINT') return typeNameKeys(w, nodeOf(listItems(object)[0], 'TypeName'));
  if (objtype === 'OBJECT_CAST') {
    const [a, b] = listItems(object);
    return [`cast (${typeText(nodeOf(a, 'TypeName'))} as ${typeText(nodeOf(b, 'TypeName'))})`];
  }
  if (objtype === 'OBJECT_TRANSFORM') {
    const [a, b] = listItems(object);
    return [`transform (${typeText(nodeOf(a, 'TypeName'))} language ${quoteIdent(String(nodeOf(b, 'String')?.sval ?? ''))})`];
  }
  if (objtype === 'OBJECT_OPCLASS' || objtype === 'OBJECT_OPFAMILY') return namedKeys(w, listItems(object).slice(1));
  if (NAMED_TYPES.has(objtype)) return namedKeys(w, listItems(object));
  if (objtype === 'OBJECT_LARGEOBJECT') {
    const i = nodeOf(object, 'Integer');
    const f = nodeOf(object, 'Float');
    const oid = i !== null ? String(i.ival ?? 0) : f !== null ? String(f.fval ?? '') : null;
    if (oid !== null) return [`large_object ${oid}`];
  }
  forbid(w, `an object of kind ${kindOf(objtype)} that cannot be resolved`);
  return [];
}

/** The key an object gets under a new name (same schema) or in a new schema. */
export function renamedKey(key: string, newName: string): string {
  const space = key.indexOf(' ');
  if (space > 0 && !key.startsWith('"')) return `${key.slice(0, space)} ${quoteIdent(newName)}`;
  const parts = splitKey(key);
  return parts === null ? key : `${parts[0]}.${quoteIdent(newName)}`;
}

export function movedKey(key: string, newSchema: string): string {
  const parts = splitKey(key);
  return parts === null ? key : `${quoteIdent(newSchema)}.${parts[1]}`;
}

export function roleName(spec: Obj | undefined | null): string {
  if (spec === undefined || spec === null) return '*';
  switch (spec.roletype) {
    case 'ROLESPEC_CSTRING':
      return quoteIdent(String(spec.rolename ?? ''));
    case 'ROLESPEC_CURRENT_ROLE':
      return 'current_role';
    case 'ROLESPEC_CURRENT_USER':
      return 'current_user';
    case 'ROLESPEC_SESSION_USER':
      return 'session_user';
    case 'ROLESPEC_PUBLIC':
      return 'public';
    default:
      return '*';
  }
}

/** `role name` for a RoleSpec; `role *` for ALL. */
export function roleKey(spec: Obj | undefined | null): string {
  return `role ${roleName(spec)}`;
}

export function roleFacts(w: Walker, list: unknown): void {
  for (const r of Array.isArray(list) ? list : []) fact(w, 'role', roleKey(nodeOf(r, 'RoleSpec')));
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
