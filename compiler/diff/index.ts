// The semantic diff of two compiled policies (spec/diff.md): what changes for whom, computed
// exactly on the decision tables, never on the text.

import type { CompiledPolicy } from '../../spec/compiled-policy.ts';
import { loadBuiltins } from '../builtin-data.ts';
import type { BuiltinData } from '../builtins.ts';
import { diffAccess, type AccessChange } from './access.ts';
import { diffLimits, diffMasks, type LimitChange, type MaskChange } from './masks.ts';
import { diffSettings, type SettingChange } from './settings.ts';
import { cmp } from './tables.ts';

export type { AccessChange } from './access.ts';
export type { LimitChange, MaskChange } from './masks.ts';
export type { SettingChange } from './settings.ts';

export type Change = AccessChange | MaskChange | LimitChange | SettingChange;

export interface PolicyDiff {
  base: CompiledPolicy;
  head: CompiledPolicy;
  /** fine-grained: one per group and action and key (access), column (masks), target (limits), setting */
  changes: Change[];
}

export function diffPolicies(base: CompiledPolicy, head: CompiledPolicy, builtins: BuiltinData = loadBuiltins()): PolicyDiff {
  const changes: Change[] = [...diffSettings(base, head)];
  const names = [...new Set([...Object.keys(base.targets), ...Object.keys(head.targets)])].sort(cmp);
  for (const name of names) {
    const bt = base.targets[name];
    const ht = head.targets[name];
    // A target whose kind changed is a different target: compare each version against nothing.
    const pairs =
      bt && ht && bt.kind !== ht.kind
        ? [
            [bt, undefined],
            [undefined, ht],
          ]
        : [[bt, ht]];
    for (const [b, h] of pairs) {
      const sb = { policy: base, target: b };
      const sh = { policy: head, target: h };
      changes.push(...diffAccess(builtins, name, sb, sh), ...diffMasks(name, sb, sh), ...diffLimits(name, sb, sh));
    }
  }
  return { base, head, changes };
}

export function isEmpty(diff: PolicyDiff): boolean {
  return diff.changes.length === 0;
}

export function widens(diff: PolicyDiff): boolean {
  return diff.changes.some((c) => c.widening);
}
