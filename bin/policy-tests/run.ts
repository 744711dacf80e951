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
import { coverageOf, exercisedRules as exercisedOf, type PolicyCoverage } from './coverage.ts';
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

async function runFile(
  full: string,
  cwd: string,
  cache: ReturnType<typeof createPolicyCache>,
  exercised: Map<string, Set<number>>,
): Promise<FileOutcome> {
  const started = performance.now();
  const display = relative(cwd, full) || full;
  const parsed = await readTestFile(full, display);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const idx = lineIndex(parsed.text);
  const line = (offset: number) => idx.position(offset);
  const done = (policy: PolicyUnderTest | null, cases: CaseOutcome[]): FileOutcome => ({
    display,
    text: parsed.text,
    diagnostics: sortDiagnostics(dedupe(diagnostics)),
    policy,
    cases,
    durationMs: performance.now() - started,
  });
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
  if (hasErrors(parsed.diagnostics)) return done(null, notRun('the test file has errors'));
  const resolved = await cache.resolvePolicy(full, parsed.file);
  if (!resolved.ok) {
    diagnostics.push(resolved.diagnostic);
    return done(null, notRun(resolved.diagnostic.message));
  }
  const p = resolved.policy;
  if (p.compiled === null || p.loaded === null) return done(p, notRun(`the policy \`${p.display}\` does not compile`));
  let hits = exercised.get(p.key);
  if (!hits) exercised.set(p.key, (hits = new Set()));
  const cases: CaseOutcome[] = [];
  for (const c of parsed.file.cases) {
    const r = runCase(p, parsed.file, c, line);
    diagnostics.push(...r.diagnostics);
    cases.push(r.outcome);
    for (const id of r.outcome.exercised) hits.add(id);
  }
  return done(p, cases);
}

export async function runTestFiles(fullPaths: readonly string[], cwd = process.cwd()): Promise<RunResult> {
  await loadParser();
  const cache = createPolicyCache(cwd);
  const exercised = new Map<string, Set<number>>();
  const files: FileOutcome[] = [];
  for (const full of fullPaths) files.push(await runFile(full, cwd, cache, exercised));
  const order = [...new Set(files.flatMap((f) => (f.policy ? [f.policy] : [])))];
  const policies = order.filter((p) => p.fileCount > 0);
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
