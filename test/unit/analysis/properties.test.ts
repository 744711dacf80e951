// The analysis is sound on seeded random policies: removing every rule it reports as shadowed
// (PAM4001) or redundant (PAM4002), all at once, changes no decision: the semantic diff of the
// policy and its pruned copy is empty, except for the baseline a group loses when the removed
// rule was its only grant (spec/diff.md §4.1). A dead rule planted in a random policy is found.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analysisCheck } from '../../../compiler/analysis/index.ts';
import { compileFiles } from '../../../compiler/index.ts';
import { diffPolicies } from '../../../compiler/diff/index.ts';
import { lineIndex } from '../../../language/source.ts';
import { decodeSource } from '../../../language/source.ts';
import type { CompiledPolicy } from '../../../spec/compiled-policy.ts';
import { policyLayout, randomPolicy, rng, type PolicySpec } from '../diff/generate.ts';

const RUNS = Number(process.env.ANALYSIS_RUNS ?? 150);

function analyse(text: string) {
  const out = compileFiles([{ path: 'p.pam', display: 'p.pam', source: decodeSource(Buffer.from(text), 'p.pam') }], undefined, [analysisCheck]);
  assert.ok(out.policy, text);
  return out;
}

function withoutBaseline(policy: CompiledPolicy, ids: number[]) {
  return ids.every((id) => policy.rules[id].source === null);
}

test('removing every shadowed and redundant rule changes no decision', () => {
  const r = rng(11);
  let removed = 0;
  for (let i = 0; i < RUNS; i++) {
    const spec = randomPolicy(r, 6 + Math.floor(r() * 10));
    const layout = policyLayout(spec);
    const out = analyse(layout.text);
    const lines = lineIndex(layout.text);
    const dead = out.diagnostics.filter((d) => d.code === 'PAM4001' || d.code === 'PAM4002');
    if (dead.length === 0) continue;
    const pruned: PolicySpec = new Map([...spec].map(([g, rules]) => [g, [...rules]]));
    const drop = new Map<string, Set<number>>();
    for (const d of dead) {
      const at = layout.rules.get(lines.position(d.span.start).line)!;
      assert.ok(at, `a finding on a rule line: ${d.message}`);
      drop.set(at.group, (drop.get(at.group) ?? new Set()).add(at.index));
    }
    for (const [g, idx] of drop) pruned.set(g, spec.get(g)!.filter((_, k) => !idx.has(k)));
    removed += dead.length;
    const after = analyse(policyLayout(pruned).text);
    const diff = diffPolicies(out.policy!, after.policy!);
    const meaningful = diff.changes.filter(
      (c) => !(c.kind === 'access' && withoutBaseline(out.policy!, c.rules.base) && withoutBaseline(after.policy!, c.rules.head)),
    );
    assert.equal(meaningful, [], `${layout.text}\nreported: ${dead.map((d) => `${lines.position(d.span.start).line} ${d.code}`).join(', ')}`);
  }
  assert.ok(removed > 20, `the generator plants enough dead rules (${removed})`);
});

test('a rule planted under an unconditional deny is reported as shadowed', () => {
  const r = rng(12);
  for (let i = 0; i < RUNS / 3; i++) {
    const spec = randomPolicy(r, 4 + Math.floor(r() * 6));
    spec.get('*')!.push({ kind: 'access', effect: 'deny', actions: ['truncate'], resources: ['public.planted'], when: [], approval: null });
    spec.get('g1')!.push({ kind: 'access', effect: 'allow', actions: ['truncate'], resources: ['public.planted'], when: ['limited'], approval: null });
    const layout = policyLayout(spec);
    const out = analyse(layout.text);
    const lines = lineIndex(layout.text);
    const plantedLine = [...layout.rules].find(([, at]) => at.group === 'g1' && at.index === spec.get('g1')!.length - 1)![0];
    assert.ok(
      out.diagnostics.some((d) => d.code === 'PAM4001' && lines.position(d.span.start).line === plantedLine),
      `the planted rule is found\n${layout.text}`,
    );
  }
});

test.run();
