// The report people read: per test file a line, every failing case with where it is, what was
// expected, what happened and the rules behind it; diagnostics as `pamc check` prints them;
// coverage when asked; a summary line last.

import { renderDiagnostics } from '../../compiler/render.ts';
import type { Diagnostic } from '../../language/diagnostic.ts';
import { percentText } from './coverage.ts';
import { decisionDetails, type CaseOutcome } from './outcome.ts';
import { belowMinimum, brokenPolicies, summaryLine, textsOf, uncoveredWhere, type ReportOptions } from './report-common.ts';
import type { RunResult } from './run.ts';

const paint = (on: boolean, code: string, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

/** Diagnostics as `pamc check` renders them, without its summary line. */
function diagnosticsText(ds: Diagnostic[], texts: Map<string, string>, color: boolean): string {
  if (ds.length === 0) return '';
  const out = renderDiagnostics('human', ds, texts, 1, { color });
  const cut = out.lastIndexOf('\n\n');
  return (cut > 0 ? out.slice(0, cut) : out).trimEnd() + '\n';
}

function caseLines(file: string, c: CaseOutcome, o: ReportOptions): string[] {
  const where = `${file}:${c.line}:${c.column}`;
  if (c.status === 'pass') return [`  ${paint(o.color, '32', '✓')} ${c.name}`];
  if (c.status === 'error') {
    return [`  ${paint(o.color, '33', '!')} ${c.name}  (not run)`, `      at ${where}`, ...c.errors.map((e) => `      ${e}`)];
  }
  const lines = [`  ${paint(o.color, '31', '✗')} ${c.name}`, `      at ${where}`];
  for (const m of c.mismatches) lines.push(`      ${paint(o.color, '1', m)}`);
  if (c.actual) for (const d of decisionDetails(c.actual)) lines.push(`        ${d}`);
  return lines;
}

export function renderHuman(r: RunResult, o: ReportOptions): string {
  const texts = textsOf(r);
  const out: string[] = [];
  for (const f of r.files) {
    const passed = f.cases.filter((c) => c.status === 'pass').length;
    const bad = f.cases.length - passed;
    const mark = bad === 0 && !f.diagnostics.some((d) => d.severity === 'error') ? paint(o.color, '32', 'ok') : paint(o.color, '31', 'FAIL');
    const policy = f.policy ? `  (policy ${f.policy.display})` : '';
    out.push(`${mark} ${f.display}: ${passed} of ${f.cases.length} passed${policy}`);
    for (const c of f.cases) if (o.verbose || c.status !== 'pass') out.push(...caseLines(f.display, c, o));
    const ds = diagnosticsText(f.diagnostics, texts, o.color);
    if (ds) out.push('', ds);
  }
  for (const p of brokenPolicies(r)) {
    out.push('', `the policy ${p.display} does not compile:`, '', diagnosticsText(p.diagnostics, texts, o.color));
  }
  if (o.coverage || o.minCoverage !== null) {
    out.push('', 'decision coverage:');
    for (const c of r.coverage) {
      out.push(`  ${c.policy.display}: ${c.covered} of ${c.total} rules exercised, ${percentText(c)}`);
      if (c.uncovered.length > 0) {
        out.push('    not exercised by any case:');
        for (const rule of c.uncovered) out.push(`      ${uncoveredWhere(c.policy, rule)}  ${rule.text}`);
      }
    }
    for (const c of belowMinimum(r, o)) {
      out.push(paint(o.color, '31', `  coverage of ${c.policy.display} is ${percentText(c)}, below the minimum of ${o.minCoverage}%`));
    }
  }
  out.push('', summaryLine(r));
  return out.join('\n').replace(/\n{3,}/g, '\n\n') + '\n';
}
