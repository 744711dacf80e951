// The action taxonomy of spec/data/actions.json, typed, with the lookups the compiler needs.

import actionsData from '../spec/data/actions.json' with { type: 'json' };

export type TargetKind = 'postgres' | 'ssh' | 'kubernetes';
export const TARGET_KINDS: readonly TargetKind[] = ['postgres', 'ssh', 'kubernetes'];

export type ResourceKind =
  | 'relation'
  | 'function'
  | 'object'
  | 'setting'
  | 'channel'
  | 'language'
  | 'file'
  | 'program'
  | 'none'
  | 'command'
  | 'path'
  | 'address'
  | 'k8s';

interface KindData {
  actions: Record<string, { resource: string; doc: string }>;
  groups: Record<string, string[]>;
  baseline: { actions: string[]; settings?: string };
  unbounded: string[];
}

const kinds = actionsData.kinds as Record<TargetKind, KindData>;

/** Object kinds written as a word before a global object's name: `schema analytics`. */
export const GLOBAL_OBJECT_KINDS: readonly string[] = [
  'schema',
  'database',
  'role',
  'extension',
  'language',
  'tablespace',
  'server',
  'publication',
  'subscription',
  'event_trigger',
  'foreign_data_wrapper',
  'access_method',
  'cast',
  'transform',
  'user_mapping',
  'parameter',
  'large_object',
];

export function isTargetKind(name: string): name is TargetKind {
  return (TARGET_KINDS as readonly string[]).includes(name);
}

export function actionNames(kind: TargetKind): string[] {
  return Object.keys(kinds[kind].actions);
}

export function groupNames(kind: TargetKind): string[] {
  return Object.keys(kinds[kind].groups);
}

/** The concrete actions a name stands for (itself, or the members of a named group), or undefined. */
export function expandAction(kind: TargetKind, name: string): string[] | undefined {
  const k = kinds[kind];
  if (Object.hasOwn(k.actions, name)) return [name];
  if (Object.hasOwn(k.groups, name)) return [...k.groups[name]];
  return undefined;
}

export function resourceKindOf(kind: TargetKind, action: string): ResourceKind {
  return kinds[kind].actions[action].resource as ResourceKind;
}

export function baselineOf(kind: TargetKind): { actions: string[]; settings?: string } {
  return kinds[kind].baseline;
}

/** Actions whose facts can carry `unbounded`. */
export function unboundedActions(kind: TargetKind): string[] {
  return kinds[kind].unbounded;
}
