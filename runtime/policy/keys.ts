// Resource-key wildcards as the runtime walks them (spec/language.md §6): a fact's key is
// looked up exactly, then at its parent wildcard (`schema.*`, `kind *`, `prefix.*`), then `*`.

import actionsData from '../../spec/data/actions.json' with { type: 'json' };

type Kinds = Record<string, { actions: Record<string, { resource: string }> }>;
const kinds = actionsData.kinds as Kinds;

/** The resource kind of an action of a target kind, or undefined for an unknown action. */
export function resourceKindOf(targetKind: string, action: string): string | undefined {
  return kinds[targetKind]?.actions[action]?.resource;
}

/** A global object's key starts with its kind word and a space: `schema analytics`. */
const GLOBAL_KEY = /^[a-z_]+ /;

/** End of the first part of a `schema.name` key (the index of the separating dot), or -1. */
function firstDot(key: string): number {
  if (key.charCodeAt(0) !== 34 /* " */) return key.indexOf('.');
  let i = 1;
  while (i < key.length) {
    if (key.charCodeAt(i) === 34) {
      if (key.charCodeAt(i + 1) === 34) i += 2;
      else break;
    } else i++;
  }
  return key.charCodeAt(i + 1) === 46 /* . */ ? i + 1 : -1;
}

/** The wildcard one level above a fact's key, or null. */
export function parentKey(resourceKind: string, key: string): string | null {
  switch (resourceKind) {
    case 'relation':
    case 'function':
    case 'object': {
      const global = resourceKind === 'object' ? GLOBAL_KEY.exec(key) : null;
      if (global) return key.length === global[0].length + 1 && key.endsWith('*') ? null : `${global[0]}*`;
      const dot = firstDot(key);
      if (dot < 0) return null;
      return key.endsWith('.*') ? null : `${key.slice(0, dot)}.*`;
    }
    case 'setting': {
      const dot = key.lastIndexOf('.');
      return dot < 0 || key.endsWith('.*') ? null : `${key.slice(0, dot)}.*`;
    }
    default:
      return null;
  }
}
