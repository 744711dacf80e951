// Loads the built-in sets (spec/data/builtin-sets.json) and catalog names
// (spec/data/pg-catalog.json) into the shape the compiler resolves names against.

import builtinSets from '../spec/data/builtin-sets.json' with { type: 'json' };
import pgCatalog from '../spec/data/pg-catalog.json' with { type: 'json' };
import type { BuiltinData, BuiltinSet, BuiltinSetKind } from './builtins.ts';

interface SetData {
  doc: string;
  members?: Record<string, string>;
  union?: string[];
}

const SYSTEM_SCHEMAS = ['pg_catalog', 'information_schema', 'pg_toast'];

let cached: BuiltinData | null = null;

export function loadBuiltins(): BuiltinData {
  if (cached) return cached;
  const sets = new Map<string, BuiltinSet>();
  const groups: [BuiltinSetKind, Record<string, SetData>][] = [
    ['relation', builtinSets.relations as Record<string, SetData>],
    ['function', builtinSets.functions as Record<string, SetData>],
    ['setting', builtinSets.settings as Record<string, SetData>],
  ];
  for (const [kind, byName] of groups) {
    const members = (name: string, seen: string[] = []): string[] => {
      const s = byName[name];
      if (!s || seen.includes(name)) return [];
      const own = Object.keys(s.members ?? {}).map((m) => (kind === 'setting' ? m.toLowerCase() : m));
      const nested = (s.union ?? []).flatMap((n) => members(n, [...seen, name]));
      return [...new Set([...own, ...nested])].sort();
    };
    for (const [name, s] of Object.entries(byName)) sets.set(name, { kind, members: members(name), doc: s.doc });
  }
  const setMembers = (name: string) => new Set(sets.get(name)?.members ?? []);
  cached = {
    sets,
    catalogRelations: new Set(pgCatalog.relations.filter((r) => r.schema === 'pg_catalog').map((r) => r.name)),
    catalogFunctions: new Set(pgCatalog.functions.map((f) => f.name)),
    secretRelations: setMembers('secret_catalog'),
    privilegedSettings: setMembers('privileged_settings'),
    // `SHOW ALL` shows every setting, the secret ones included.
    secretSettings: new Set([...setMembers('secret_settings'), 'all']),
    textSettings: setMembers('text_settings'),
    systemSchemas: new Set(SYSTEM_SCHEMAS),
  };
  return cached;
}
