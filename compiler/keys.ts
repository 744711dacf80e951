// The wildcard structure of resource keys (spec/language.md §6): a key's parent wildcard,
// and which keys wildcards never grant.

import type { BuiltinData } from './builtins.ts';
import type { ResourceKind } from './taxonomy.ts';

/** Splits a `schema.name` key into its two parts, honouring quoted parts; null if it is not one. */
export function splitQualified(key: string): [string, string] | null {
  let i = 0;
  if (key.startsWith('"')) {
    i = 1;
    while (i < key.length) {
      if (key[i] === '"') {
        if (key[i + 1] === '"') i += 2;
        else break;
      } else i++;
    }
    i++;
  } else {
    while (i < key.length && key[i] !== '.') i++;
  }
  if (key[i] !== '.') return null;
  return [key.slice(0, i), key.slice(i + 1)];
}

function unquote(part: string): string {
  return part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part;
}

/** The wildcard one level above a key, or null (the next level is always `*`). */
export function parentKey(kind: ResourceKind, key: string): string | null {
  if (key === '*') return null;
  if (kind === 'relation' || kind === 'function' || kind === 'object') {
    const global = kind === 'object' ? /^[a-z_]+ /.exec(key) : null;
    if (global) return key.slice(global[0].length) === '*' ? null : `${global[0]}*`;
    const q = splitQualified(key);
    if (!q || q[1] === '*') return null;
    return `${q[0]}.*`;
  }
  if (kind === 'setting') {
    const dot = key.lastIndexOf('.');
    if (dot < 0 || key.endsWith('.*')) return null;
    return `${key.slice(0, dot)}.*`;
  }
  return null;
}

/** The schema of a schema-scoped key (`pg_catalog.pg_class` → `pg_catalog`), else null. */
export function schemaOf(kind: ResourceKind, key: string): string | null {
  if (kind !== 'relation' && kind !== 'function' && kind !== 'object') return null;
  const q = splitQualified(key);
  return q ? unquote(q[0]) : null;
}

/**
 * Settings only an explicit rule grants for an action (SET and SHOW protect different ones);
 * without an action, both.
 */
export function protectedSettings(b: BuiltinData, action?: string): Set<string> {
  if (action === 'show') return b.secretSettings;
  const set = new Set([...b.privilegedSettings, ...b.textSettings]);
  if (action === undefined) for (const s of b.secretSettings) set.add(s);
  return set;
}

/** Keys only an explicit rule grants: wildcards above them contribute their denials only. */
export function isProtected(b: BuiltinData, kind: ResourceKind, key: string, action?: string): boolean {
  if (kind === 'relation' || kind === 'object') return b.secretRelations.has(key);
  if (kind === 'setting') return protectedSettings(b, action).has(key);
  return false;
}

/** Keys in schemas where `*` grants nothing (pg_catalog, information_schema, pg_toast). */
export function inSystemSchema(b: BuiltinData, kind: ResourceKind, key: string): boolean {
  const schema = schemaOf(kind, key);
  return schema !== null && b.systemSchemas.has(schema);
}
