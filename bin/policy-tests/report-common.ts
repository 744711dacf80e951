// What the report formats share: options, positions of diagnostics, the coverage verdict, the
// summary line.

import type { Diagnostic } from '../../language/diagnostic.ts';
import { lineIndex, type LineIndex } from '../../language/source.ts';
import type { CompiledRule } from '../../spec/compiled-policy.ts';
import { meetsMinimum, type PolicyCoverage } from './coverage.ts';
import { ruleWhere, sharedSource, type PolicyUnderTest } from './policies.ts';
import type { RunResult } from './run.ts';

export interface ReportOptions {
  /** show decision coverage */
  coverage: boolean;
  /** fail when a policy's coverage is below this percentage */
  minCoverage: number | null;
  /** human: list passing cases too */
  verbose: boolean;
  color: boolean;
  version: string;
}

export interface DiagnosticPosition {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** Display path → text of every file a run read (test files and policy files). */
export function textsOf(r: RunResult): Map<string, string> {
  const texts = new Map<string, string>();
  for (const p of r.policies) for (const [k, v] of p.texts) texts.set(k, v);
  for (const f of r.files) texts.set(f.display, f.text);
  return texts;
}

export function positioner(texts: Map<string, string>): (d: Diagnostic) => DiagnosticPosition {
  const indexes = new Map<string, LineIndex>();
  return (d) => {
    let idx = indexes.get(d.file);
    if (!idx) indexes.set(d.file, (idx = lineIndex(texts.get(d.file) ?? '')));
    const a = idx.position(d.span.start);
    const b = idx.position(Math.max(d.span.start, d.span.end));
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  };
}

/** The policies whose diagnostics a report shows: those that do not compile. */
export function brokenPolicies(r: RunResult): PolicyUnderTest[] {
  return r.policies.filter((p) => p.compiled === null);
}

export function belowMinimum(r: RunResult, o: ReportOptions): PolicyCoverage[] {
  if (o.minCoverage === null) return [];
  const min = o.minCoverage;
  return r.coverage.filter((c) => !meetsMinimum(c, min));
}

/** `examples/multi-file/policies/30-engineers.pam:3:5 (on billing)` */
export function uncoveredWhere(p: PolicyUnderTest, rule: CompiledRule): string {
  return `${ruleWhere(p, rule)}${sharedSource(p, rule) ? ` (on ${rule.target})` : ''}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function summaryLine(r: RunResult): string {
  const t = r.totals;
  const parts = [`${t.passed} passed`, `${t.failed} failed`];
  if (t.errors > 0) parts.push(`${t.errors} not run`);
  return `${plural(t.files, 'test file')}, ${plural(t.cases, 'case')}: ${parts.join(', ')}`;
}
