// JUnit XML, as CI systems read it (Jenkins, GitLab, GitHub test reporters): one <testsuite> per
// test file, one <testcase> per case, <failure> for a case whose decision differs, <error> for a
// case that could not run. Problems that belong to no case — diagnostics of the file, a policy
// that does not compile, coverage below the minimum — are a <testcase> of their own.

import type { Diagnostic } from '../../language/diagnostic.ts';
import { percentText } from './coverage.ts';
import { decisionDetails } from './outcome.ts';
import { belowMinimum, positioner, textsOf, uncoveredWhere, type ReportOptions } from './report-common.ts';
import type { RunResult } from './run.ts';

/** Text safe in XML 1.0 attributes and content: markup escaped, characters XML forbids written as `\u{…}`. */
export function xmlEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&apos;';
    else if (ch === '\n' || ch === '\t') out += ch;
    else if (ch === '\r') out += '&#13;';
    else if (c < 0x20 || (c >= 0xd800 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** Diagnostics about one case's names (spec/testing.md §8): reported on the case itself. */
const CASE_CODES = new Set(['PAM5042', 'PAM5043', 'PAM5044', 'PAM5045', 'PAM5046']);

interface Case {
  name: string;
  classname: string;
  file: string;
  line: number;
  time: number;
  failure?: { message: string; type: string; body: string };
  error?: { message: string; type: string; body: string };
}

function caseXml(c: Case): string {
  const attrs = `name="${xmlEscape(c.name)}" classname="${xmlEscape(c.classname)}" file="${xmlEscape(c.file)}" line="${c.line}" time="${seconds(c.time)}"`;
  const inner = c.failure ?? c.error;
  if (!inner) return `    <testcase ${attrs}/>`;
  const tag = c.failure ? 'failure' : 'error';
  return [
    `    <testcase ${attrs}>`,
    `      <${tag} message="${xmlEscape(inner.message)}" type="${xmlEscape(inner.type)}">${xmlEscape(inner.body)}</${tag}>`,
    '    </testcase>',
  ].join('\n');
}

export function renderJunit(r: RunResult, o: ReportOptions): string {
  const pos = positioner(textsOf(r));
  const diagText = (d: Diagnostic) => {
    const p = pos(d);
    return `${d.file}:${p.line}:${p.column}: ${d.severity}[${d.code}]: ${d.message}${d.help ? ` (${d.help})` : ''}`;
  };
  const suites: { name: string; file: string; time: number; cases: Case[]; properties: [string, string][] }[] = [];
  for (const f of r.files) {
    const cases: Case[] = [];
    // Errors that stopped the whole file (syntax, a missing policy); those of one case are its <error>.
    const errors = f.diagnostics.filter((d) => d.severity === 'error' && !CASE_CODES.has(d.code));
    if (errors.length > 0) {
      cases.push({
        name: `${f.display} (test file)`,
        classname: f.display,
        file: f.display,
        line: pos(errors[0]).line,
        time: 0,
        error: { message: errors[0].message, type: errors[0].code, body: f.diagnostics.map(diagText).join('\n') },
      });
    }
    if (f.policy && f.policy.compiled === null) {
      const ds = f.policy.diagnostics.filter((d) => d.severity === 'error');
      cases.push({
        name: `${f.policy.display} (policy)`,
        classname: f.display,
        file: f.display,
        line: 1,
        time: 0,
        error: { message: `the policy ${f.policy.display} does not compile`, type: ds[0]?.code ?? 'compile', body: ds.map(diagText).join('\n') },
      });
    }
    for (const c of f.cases) {
      const base: Case = { name: c.name, classname: f.display, file: f.display, line: c.line, time: c.durationMs };
      if (c.status === 'fail') {
        const body = [`at ${f.display}:${c.line}:${c.column}`, ...c.mismatches, ...(c.actual ? decisionDetails(c.actual) : [])].join('\n');
        base.failure = { message: c.mismatches[0] ?? 'the decision differs', type: 'decision', body };
      } else if (c.status === 'error') {
        base.error = { message: c.errors[0] ?? 'not run', type: 'not-run', body: c.errors.join('\n') };
      }
      cases.push(base);
    }
    const properties: [string, string][] = [];
    if (f.policy) properties.push(['policy', f.policy.display]);
    const cov = r.coverage.find((c) => c.policy === f.policy);
    if (cov) properties.push(['decision-coverage', percentText(cov)]);
    suites.push({ name: f.display, file: f.display, time: f.durationMs, cases, properties });
  }
  const low = belowMinimum(r, o);
  if (low.length > 0 || o.coverage) {
    const cases: Case[] = r.coverage.map((c) => {
      const lines = c.uncovered.map((rule) => `${uncoveredWhere(c.policy, rule)}  ${rule.text}`);
      const k: Case = { name: `decision coverage of ${c.policy.display}`, classname: 'coverage', file: c.policy.display, line: 1, time: 0 };
      if (low.includes(c)) {
        k.failure = {
          message: `coverage ${percentText(c)} is below the minimum of ${o.minCoverage}%`,
          type: 'coverage',
          body: [`${c.covered} of ${c.total} rules exercised`, 'not exercised:', ...lines].join('\n'),
        };
      }
      return k;
    });
    suites.push({ name: 'decision coverage', file: '', time: 0, cases, properties: [] });
  }
  const count = (cs: Case[], k: 'failure' | 'error') => cs.filter((c) => c[k] !== undefined).length;
  const all = suites.flatMap((s) => s.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pamc test" tests="${all.length}" failures="${count(all, 'failure')}" errors="${count(all, 'error')}" skipped="0" time="${seconds(suites.reduce((t, s) => t + s.time, 0))}">`,
  ];
  for (const s of suites) {
    lines.push(
      `  <testsuite name="${xmlEscape(s.name)}" tests="${s.cases.length}" failures="${count(s.cases, 'failure')}" errors="${count(s.cases, 'error')}" skipped="0" time="${seconds(s.time)}"${s.file ? ` file="${xmlEscape(s.file)}"` : ''}>`,
    );
    if (s.properties.length > 0) {
      lines.push('    <properties>');
      for (const [k, v] of s.properties) lines.push(`      <property name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`);
      lines.push('    </properties>');
    }
    for (const c of s.cases) lines.push(caseXml(c));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
