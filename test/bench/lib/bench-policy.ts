// The policy the decide and classify suites decide against: a generated policy compiled with the
// real compiler and loaded by the runtime, its rules as data for the naive evaluator, and the
// benchmark principal.

import { loadPolicy } from '../../../runtime/policy/load.ts';
import { createPrincipal } from '../../../runtime/policy/principal.ts';
import { compileTexts } from '../../support/compile.ts';
import { BENCH_CLAIMS, BENCH_GROUPS, BENCH_TARGET, generatePolicy } from './policy-gen.ts';

export const RULES = 1000;

/** A fixed instant (a Monday, 12:00 UTC), so time-window conditions decide the same way every run. */
export const NOW = Date.UTC(2025, 5, 2, 12, 0, 0);

/** Generates, compiles and loads the policy; throws when it does not compile. */
export function benchPolicy(rules = RULES) {
  const gen = generatePolicy(rules);
  const t0 = process.hrtime.bigint();
  const out = compileTexts({ 'policy.pam': gen.text });
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const errors = out.diagnostics.filter((d) => d.severity === 'error');
  if (out.policy === null || errors.length > 0) {
    throw new Error(`the generated policy does not compile: ${errors.slice(0, 3).map((d) => `${d.code} ${d.message}`).join('; ')}`);
  }
  const loaded = loadPolicy(JSON.parse(JSON.stringify(out.policy)));
  const principal = createPrincipal(loaded, loaded.targets.get(BENCH_TARGET)!, {
    subject: 'bench',
    groups: BENCH_GROUPS,
    agent: null,
    claims: BENCH_CLAIMS,
  });
  const who = { groups: new Set(BENCH_GROUPS), claims: BENCH_CLAIMS };
  return { gen, compiled: out.policy, loaded, principal, who, compileMs, warnings: out.diagnostics.length - errors.length };
}

