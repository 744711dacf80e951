// GitHub Actions workflow commands: an `::error` annotation on every failing case (at its
// `case` line), on every diagnostic, on a policy that does not compile; with --coverage a
// `::warning` on every rule no case exercised; a plain summary line last.

import type { Diagnostic } from '../../language/diagnostic.ts';
import { percentText } from './coverage.ts';
import { decisionDetails } from './outcome.ts';
import { belowMinimum, brokenPolicies, positioner, summaryLine, textsOf, type ReportOptions } from './report-common.ts';
import { ruleWhere } from './policies.ts';
import type { RunResult } from './run.ts';

/** Workflow command escaping: data escapes %, CR and LF; properties also `:` and `,`. */
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

function annotation(level: 'error' | 'warning' | 'notice', props: Record<string, string | number | undefined>, message: string): string {
  const p = Object.entries(props)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',');
  return `::${level}${p ? ` ${p}` : ''}::${escapeData(message)}\n`;
}

export function renderGithub(r: RunResult, o: ReportOptions): string {
  const pos = positioner(textsOf(r));
  let out = '';
  const diag = (d: Diagnostic) => {
    const p = pos(d);
    const level = d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'notice';
    out += annotation(level, { file: d.file, line: p.line, col: p.column, endLine: p.endLine, endColumn: p.endColumn, title: `pamc test ${d.code}` }, d.help ? `${d.message} (${d.help})` : d.message);
  };
  for (const f of r.files) {
    f.diagnostics.forEach(diag);
    for (const c of f.cases) {
      if (c.status === 'fail') {
        const details = c.actual ? decisionDetails(c.actual) : [];
        out += annotation('error', { file: f.display, line: c.line, col: c.column, title: `pamc test: ${c.name}` }, [...c.mismatches, ...details].join('\n'));
      } else if (c.status === 'error' && c.errors.length > 0 && !f.diagnostics.some((d) => d.severity === 'error')) {
        out += annotation('error', { file: f.display, line: c.line, col: c.column, title: `pamc test: ${c.name} (not run)` }, c.errors.join('\n'));
      }
    }
  }
  for (const p of brokenPolicies(r)) p.diagnostics.filter((d) => d.severity === 'error').forEach(diag);
  if (o.coverage || o.minCoverage !== null) {
    for (const c of r.coverage) {
      for (const rule of c.uncovered) {
        const s = rule.source!;
        out += annotation(
          'warning',
          { file: c.policy.sourceDisplay[s.file], line: s.line, col: s.column, title: 'rule not exercised by any pamc test' },
          `${rule.text} (on ${rule.target}); ${ruleWhere(c.policy, rule)}`,
        );
      }
      out += `decision coverage of ${c.policy.display}: ${c.covered} of ${c.total} rules, ${percentText(c)}\n`;
    }
    for (const c of belowMinimum(r, o)) {
      out += annotation('error', { title: 'pamc test coverage' }, `decision coverage of ${c.policy.display} is ${percentText(c)}, below the minimum of ${o.minCoverage}%`);
    }
  }
  return out + summaryLine(r) + '\n';
}
