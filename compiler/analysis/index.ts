// Analysis of a compiled policy for `pamc check` (spec/diff.md §4): rules that never decide
// anything, conflicts worth a look, masks that never apply, self-approval. Exact on the decision
// tables, no solver. Diagnostics name files by their path relative to the policy root.

import type { PolicyFile } from '../../language/ast.ts';
import type { Diagnostic } from '../../language/diagnostic.ts';
import type { CompiledPolicy } from '../../spec/compiled-policy.ts';
import type { BuiltinData } from '../builtins.ts';
import { deadRules } from './dead-rules.ts';
import { conflicts, selfApprovals, unboundedActionsNamed, unreadableMasks } from './findings.ts';
import { occurrencesByRule } from './occurrences.ts';

export function analyzePolicy(policy: CompiledPolicy, files: { path: string; ast: PolicyFile }[], builtins: BuiltinData): Diagnostic[] {
  const occurrences = occurrencesByRule(policy);
  return [
    ...deadRules(policy, occurrences),
    ...unboundedActionsNamed(policy, files),
    ...conflicts(policy, builtins),
    ...unreadableMasks(policy),
    ...selfApprovals(policy, occurrences),
  ];
}

/** The analysis as a check for compileFiles. */
export const analysisCheck = (policy: CompiledPolicy, files: { path: string; ast: PolicyFile }[], builtins: BuiltinData): Diagnostic[] =>
  analyzePolicy(policy, files, builtins);
