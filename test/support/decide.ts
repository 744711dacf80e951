// Deciding hand-written facts against a policy compiled from text, for tests of the decision
// function that do not depend on the SQL classifier.

import * as assert from 'uvu/assert';
import type { ClassifiedStatement, Fact } from '../../runtime/sql/facts.ts';
import { loadPolicy, type LoadedPolicy } from '../../runtime/policy/load.ts';
import { createPrincipal, type Principal } from '../../runtime/policy/principal.ts';
import { compileTexts, HEADER } from './compile.ts';

export function loadText(rules: string): LoadedPolicy {
  const out = compileTexts({ 'policy.pam': HEADER + rules });
  const errors = out.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.map((d) => `${d.code} ${d.message}`), [], 'the test policy compiles');
  return loadPolicy(JSON.parse(JSON.stringify(out.policy)));
}

export function principal(policy: LoadedPolicy, target: string, groups: string[], claims: Record<string, unknown> = {}): Principal {
  return createPrincipal(policy, policy.targets.get(target)!, { subject: 'test', groups, agent: null, claims });
}

export function statement(facts: Fact[], extra: Partial<ClassifiedStatement> = {}): ClassifiedStatement {
  return { text: '', location: 0, length: 0, nodeType: 'Test', facts, limited: false, fingerprint: '', effects: [], ...extra };
}

export const fact = (action: string, resource: string, extra: Partial<Fact> = {}): Fact => ({ action, resource, ...extra });
