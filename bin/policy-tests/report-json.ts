// The machine-readable report: every file, case, decision and diagnostic, and the coverage.

import type { Diagnostic } from '../../language/diagnostic.ts';
import { meetsMinimum } from './coverage.ts';
import { positioner, summaryLine, textsOf, uncoveredWhere, type ReportOptions } from './report-common.ts';
import { runFailed, type RunResult } from './run.ts';

export const JSON_REPORT_VERSION = 1;

export function renderJson(r: RunResult, o: ReportOptions): string {
  const pos = positioner(textsOf(r));
  const diag = (d: Diagnostic) => ({
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.file,
    ...pos(d),
    ...(d.help ? { help: d.help } : {}),
  });
  const ok = !runFailed(r) && r.coverage.every((c) => o.minCoverage === null || meetsMinimum(c, o.minCoverage));
  const report = {
    format: 'pamc.test-report',
    version: JSON_REPORT_VERSION,
    ok,
    summary: { ...r.totals, text: summaryLine(r) },
    files: r.files.map((f) => ({
      file: f.display,
      policy: f.policy?.display ?? null,
      durationMs: Math.round(f.durationMs * 1000) / 1000,
      diagnostics: f.diagnostics.map(diag),
      cases: f.cases.map((c) => ({
        name: c.name,
        file: f.display,
        line: c.line,
        column: c.column,
        status: c.status,
        mismatches: c.mismatches,
        errors: c.errors,
        decision: c.actual,
        exercised: f.policy?.compiled ? c.exercised.map((id) => uncoveredWhere(f.policy!, f.policy!.compiled!.rules[id])) : [],
        durationMs: Math.round(c.durationMs * 1000) / 1000,
      })),
    })),
    policies: r.policies.map((p) => ({
      policy: p.display,
      compiles: p.compiled !== null,
      diagnostics: p.compiled === null ? p.diagnostics.map(diag) : [],
    })),
    coverage: r.coverage.map((c) => ({
      policy: c.policy.display,
      total: c.total,
      covered: c.covered,
      percent: Math.floor(c.percent * 10) / 10,
      meetsMinimum: o.minCoverage === null ? null : meetsMinimum(c, o.minCoverage),
      uncovered: c.uncovered.map((rule) => ({ location: uncoveredWhere(c.policy, rule), text: rule.text, target: rule.target })),
    })),
    minCoverage: o.minCoverage,
  };
  return JSON.stringify(report, null, 2) + '\n';
}
