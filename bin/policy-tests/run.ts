// Running test files: parse each, resolve and compile its policy (once per run), and decide
// every case as the gateway would — the real classifier, then the decision function — then
// compare and record what each case exercised. Nothing here prints; reports render the result.

import { relative } from 'node:path';
import { hasErrors, sortDiagnostics, type Diagnostic } from '../../language/diagnostic.ts';
import { lineIndex } from '../../language/source.ts';
import { readTestFile } from '../../language/test-file.ts';
import type { TestCase, TestFile } from '../../language/test-file-ast.ts';
import { explain } from '../../runtime/policy/explain.ts';
import { createPrincipal } from '../../runtime/policy/principal.ts';
import { classify } from '../../runtime/sql/classify.ts';
import { loadParser } from '../../runtime/sql/parser.ts';
import { compareCase } from './compare.ts';
import { coverageOf, type PolicyCoverage } from './coverage.ts';
import { actualDecision, type CaseOutcome, type FileOutcome } from './outcome.ts';
import { createPolicyCache, type PolicyUnderTest } from './policies.ts';
import { caseSetup } from './setup.ts';

export interface RunResult {
  files: FileOutcome[];
  /** every policy some test file named and that has files, in the order first named */
  policies: PolicyUnderTest[];
  /** per policy key: the rule ids the cases exercised */
  coverage: PolicyCoverage[];
  totals: { files: number; cases: number; passed: number; failed: number; errors: number };
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.code}\0${d.span.start}\0${d.span.end}\0${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function runCase(p: PolicyUnderTest, file: TestFile, c: TestCase, line: (offset: number) => { line: number; column: number }): { outcome: CaseOutcome; diagnostics: Diagnostic[] } {
  const started = performance.now();
  const pos = line(c.span.start);
  const base = { name: c.name.value, span: c.span, line: pos.line, column: pos.column };
  const setup = caseSetup(p, file, c);
  const errors = setup.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || setup.target === null || c.sql === null || c.expect === null) {
    return {
      outcome: { ...base, status: 'error', mismatches: [], actual: null, errors: errors.map((d) => d.message), exercised: [], durationMs: performance.now() - started },
      diagnostics: setup.diagnostics,
    };
  }
  const principal = createPrincipal(p.loaded!, setup.target, { subject: 'pamc-test', groups: setup.groups, agent: setup.agent, claims: setup.claims });
  const classification = classify(c.sql.text, { searchPath: setup.target.compiled.searchPath });
  const explanation = explain(principal, classification.statements, setup.at);
  const d = explanation.decision;
  const actual = actualDecision(p, d, classification);
  const mismatches = compareCase(c, p.compiled!, d, actual);
  return {
    outcome: {
      ...base,
      status: mismatches.length === 0 ? 'pass' : 'fail',
      mismatches,
      actual,
      errors: [],
      exercised: exercisedOf(explanation),
      durationMs: performance.now() - started,
    },
    diagnostics: setup.diagnostics,
  };
}

import { exercisedRules as exercisedOf } from './coverage.ts';

export async function runTestFiles(fullPaths: readonly string[], cwd = process.cwd()): Promise<RunResult> {
  await loadParser();
  const cache = createPolicyCache(cwd);
  const files: FileOutcome[] = [];
  const order: string[] = [];
  const exercised = new Map<string, Set<number>>();
  for (const full of fullPaths) {
    const started = performance.now();
    const display = relative(cwd, full) || full;
    const parsed = await readTestFile(full, display);
    const diagnostics: Diagnostic[] = [...parsed.diagnostics];
    const outcome: FileOutcome = { display, text: parsed.text, diagnostics, policy: null, cases: [], durationMs: 0 };
    files.push(outcome);
    const idx = lineIndex(parsed.text);
    const line = (offset: number) => idx.position(offset);
    const notRun = (why: string): CaseOutcome[] =>
      parsed.file.cases.map((c) => ({
        name: c.name.value,
        span: c.span,
        ...line(c.span.start),
        status: 'error' as const,
        mismatches: [],
        actual: null,
        errors: [why],
        exercised: [],
        durationMs: 0,
      }));
    if (hasErrors(parsed.diagnostics)) {
      outcome.cases = notRun('the test file has errors');
      outcome.durationMs = performance.now() - started;
      continue;
    }
    const resolved = await cache.resolvePolicy(full, parsed.file);
    if (!resolved.ok) {
      diagnostics.push(resolved.diagnostic);
      outcome.cases = notRun(resolved.diagnostic.message);
      outcome.durationMs = performance.now() - started;
      continue;
    }
    const p = resolved.policy;
    outcome.policy = p;
    if (!order.includes(p.key)) order.push(p.key);
    if (p.compiled === null || p.loaded === null) {
      outcome.cases = notRun(`the policy \`${p.display}\` does not compile`);
      outcome.durationMs = performance.now() - started;
      continue;
    }
    let hits = exercised.get(p.key);
    if (!hits) exercised.set(p.key, (hits = new Set()));
    for (const c of parsed.file.cases) {
      const r = runCase(p, parsed.file, c, line);
      diagnostics.push(...r.diagnostics);
      outcome.cases.push(r.outcome);
      for (const id of r.outcome.exercised) hits.add(id);
    }
    outcome.diagnostics = sortDiagnostics(dedupe(diagnostics));
    outcome.durationMs = performance.now() - started;
  }
  const all = await cache.policies();
  const policies = order.map((k) => all.find((p) => p.key === k)!).filter((p) => p.fileCount > 0);
  const coverage = policies.filter((p) => p.compiled !== null).map((p) => coverageOf(p, exercised.get(p.key) ?? []));
  const cases = files.flatMap((f) => f.cases);
  return {
    files,
    policies,
    coverage,
    totals: {
      files: files.length,
      cases: cases.length,
      passed: cases.filter((c) => c.status === 'pass').length,
      failed: cases.filter((c) => c.status === 'fail').length,
      errors: cases.filter((c) => c.status === 'error').length,
    },
  };
}

/** Whether a run has anything wrong: a failing or erroring case, a diagnostic error, a policy that does not compile. */
export function runFailed(r: RunResult): boolean {
  return (
    r.totals.failed > 0 ||
    r.totals.errors > 0 ||
    r.files.some((f) => hasErrors(f.diagnostics)) ||
    r.policies.some((p) => p.compiled === null || hasErrors(p.diagnostics))
  );
}
