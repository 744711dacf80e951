// Privileges and roles (DCL): GRANT / REVOKE of privileges and of role membership, ALTER
// DEFAULT PRIVILEGES, CREATE / ALTER / DROP ROLE, REASSIGN OWNED, DROP OWNED (spec/facts.md §5).

import { globalKey, quoteIdent } from '../names.ts';
import { ddlFacts, kindOf, objectKeys, roleFacts, roleKey, str } from './objects.ts';
import { SETSTMT, setStatement } from './session.ts';
import { fact, forbid, nodeOf, stringList, walkFields, walkNode, type Handler, type Obj } from '../walk.ts';

const OBJECTS = new Set(['objects']);

function defElems(list: unknown): Obj[] {
  const out: Obj[] = [];
  for (const item of Array.isArray(list) ? list : []) {
    const d = nodeOf(item, 'DefElem');
    if (d !== null) out.push(d);
  }
  return out;
}

export const GrantStmt: Handler = (w, s, type) => {
  const action = s.is_grant === true ? 'grant' : 'revoke';
  const objtype = String(s.objtype);
  const kind = kindOf(objtype);
  const objects = Array.isArray(s.objects) ? s.objects : [];
  if (s.targtype === 'ACL_TARGET_ALL_IN_SCHEMA') {
    for (const o of objects) ddlFacts(w, action, kind, [`${quoteIdent(str(nodeOf(o, 'String')?.sval))}.*`]);
  } else if (s.targtype === 'ACL_TARGET_OBJECT') {
    for (const o of objects) ddlFacts(w, action, kind, objectKeys(w, objtype, o));
  } else forbid(w, `a GRANT target ${String(s.targtype)} outside ALTER DEFAULT PRIVILEGES`);
  walkFields(w, type, s, OBJECTS);
};

export const GrantRoleStmt: Handler = (w, s, type) => {
  const action = s.is_grant === true ? 'grant' : 'revoke';
  for (const r of Array.isArray(s.granted_roles) ? s.granted_roles : []) {
    const p = nodeOf(r, 'AccessPriv');
    fact(w, action, globalKey('role', str(p?.priv_name)));
  }
  walkFields(w, type, s, GRANTED);
};
const GRANTED = new Set(['granted_roles']);

export const AlterDefaultPrivilegesStmt: Handler = (w, s, type) => {
  const grant = s.action as Obj;
  const kind = kindOf(grant.objtype);
  let schemas: string[] = [];
  for (const d of defElems(s.options)) {
    if (d.defname === 'schemas') schemas = stringList(nodeOf(d.arg, 'List')?.items) ?? [];
    else walkNode(w, { DefElem: d });
  }
  const keys = schemas.length > 0 ? schemas.map((x) => `${quoteIdent(x)}.*`) : ['*'];
  ddlFacts(w, 'grant', kind, keys);
  walkFields(w, 'GrantStmt', grant, OBJECTS);
  walkFields(w, type, s, OPTIONS_ACTION);
};
const OPTIONS_ACTION = new Set(['options', 'action']);

export const CreateRoleStmt: Handler = (w, s, type) => {
  fact(w, 'role', globalKey('role', str(s.role)));
  walkFields(w, type, s);
};

export const AlterRoleStmt: Handler = (w, s, type) => {
  fact(w, 'role', roleKey(s.role as Obj));
  walkFields(w, type, s, ROLE);
};
const ROLE = new Set(['role']);

export const AlterRoleSetStmt: Handler = (w, s, type) => {
  fact(w, 'role', roleKey(s.role as Obj | undefined));
  setStatement(w, s.setstmt as Obj, 'definition');
  walkFields(w, type, s, SETSTMT);
};

export const DropRoleStmt: Handler = (w, s, type) => {
  roleFacts(w, s.roles);
  walkFields(w, type, s);
};

export const ReassignOwnedStmt: Handler = (w, s, type) => {
  roleFacts(w, s.roles);
  fact(w, 'role', roleKey(s.newrole as Obj));
  walkFields(w, type, s);
};

export const DropOwnedStmt: Handler = (w, s, type) => {
  roleFacts(w, s.roles);
  walkFields(w, type, s);
};

export const dclHandlers: Record<string, Handler> = {
  GrantStmt,
  GrantRoleStmt,
  AlterDefaultPrivilegesStmt,
  CreateRoleStmt,
  AlterRoleStmt,
  AlterRoleSetStmt,
  DropRoleStmt,
  ReassignOwnedStmt,
  DropOwnedStmt,
};
