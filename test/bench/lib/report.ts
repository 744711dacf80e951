// Suite results: verdicts against targets, the JSON written to results/latest.json, and the
// markdown tables printed on stdout.

import { quantile, type Measurement } from './stats.ts';
import type { Target } from './suite.ts';
import { machineLine, type Machine } from './machine.ts';

export interface RowResult extends Omit<Measurement, 'samplesNs'> {
  samples: number;
  /** a few quantiles of the samples, nanoseconds */
  quantilesNs: Record<string, number>;
  /** the samples themselves, kept only for rows with few of them (whole runs) */
  samplesNs?: number[];
  baseline: boolean;
  against: string | null;
  /** median ÷ the baseline's median: below 1 is faster than the baseline */
  ratio: number | null;
  target: Target | null;
  targetLabel: string | null;
  verdict: 'pass' | 'miss' | null;
  opsPerSecond: number;
  note: string | null;
}

export interface SuiteResult {
  name: string;
  title: string;
  status: 'ran' | 'skipped' | 'failed';
  /** why the suite was skipped or failed */
  reason: string | null;
  durationMs: number;
  /** 1-minute load average when the suite started and ended: above the core count, other work competed */
  load: { start: number; end: number } | null;
  rows: RowResult[];
  notes: { label: string; value: string | number; detail: string | null }[];
  checks: { label: string; ok: boolean; detail: string | null }[];
}

export interface BenchReport {
  date: string;
  machine: Machine;
  options: { quick: boolean; suites: string[] };
  suites: SuiteResult[];
  summary: { rows: number; pass: number; miss: number; failedChecks: number; skipped: string[]; failed: string[] };
}

export interface RowSpec {
  baseline?: boolean;
  against?: string;
  target?: Target;
  note?: string;
}

// ---- formatting ----------------------------------------------------------------------------

function sig3(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function formatNs(ns: number | null): string {
  if (ns === null || !Number.isFinite(ns)) return '—';
  if (ns < 1e3) return `${sig3(ns)} ns`;
  if (ns < 1e6) return `${sig3(ns / 1e3)} µs`;
  if (ns < 1e9) return `${sig3(ns / 1e6)} ms`;
  return `${sig3(ns / 1e9)} s`;
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—';
  if (perSecond >= 1e6) return `${sig3(perSecond / 1e6)} M/s`;
  if (perSecond >= 1e3) return `${sig3(perSecond / 1e3)} k/s`;
  return `${sig3(perSecond)} /s`;
}

function formatCount(n: number): string {
  if (n >= 1e6) return `${sig3(n / 1e6)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  return String(n);
}

export function formatRatio(r: number | null): string {
  return r === null || !Number.isFinite(r) ? '—' : `${sig3(r)}×`;
}

export function targetLabel(t: Target): string {
  if (t.label !== undefined) return t.label;
  const parts: string[] = [];
  if (t.medianAtMostNs !== undefined) parts.push(`≤ ${formatNs(t.medianAtMostNs)}`);
  if (t.medianBelowNs !== undefined) parts.push(`< ${formatNs(t.medianBelowNs)}`);
  if (t.ratioAtMost !== undefined) parts.push(`≤ ${t.ratioAtMost}× baseline`);
  return parts.join(', ');
}

// ---- verdicts ------------------------------------------------------------------------------

export function toRows(measured: { m: Measurement; spec: RowSpec }[]): RowResult[] {
  const byName = new Map(measured.map((x) => [x.m.name, x.m]));
  return measured.map(({ m, spec }) => {
    const base = spec.against !== undefined ? byName.get(spec.against) : undefined;
    const ratio = base !== undefined && base.failed === undefined && m.failed === undefined ? m.medianNs / base.medianNs : null;
    const t = spec.target ?? null;
    let verdict: RowResult['verdict'] = null;
    if (t !== null && m.failed === undefined && m.samplesNs.length > 0) {
      let ok = true;
      if (t.medianAtMostNs !== undefined && !(m.medianNs <= t.medianAtMostNs)) ok = false;
      if (t.medianBelowNs !== undefined && !(m.medianNs < t.medianBelowNs)) ok = false;
      if (t.ratioAtMost !== undefined && !(ratio !== null && ratio <= t.ratioAtMost)) ok = false;
      verdict = ok ? 'pass' : 'miss';
    }
    const sorted = [...m.samplesNs].sort((a, b) => a - b);
    const quantilesNs: Record<string, number> = {};
    if (sorted.length > 0) for (const q of [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) quantilesNs[`p${q * 100}`] = quantile(sorted, q);
    const { samplesNs, ...rest } = m;
    return {
      ...rest,
      samples: samplesNs.length,
      quantilesNs,
      ...(samplesNs.length <= 100 ? { samplesNs } : {}),
      baseline: spec.baseline === true,
      against: spec.against ?? null,
      ratio,
      target: t,
      targetLabel: t === null ? null : targetLabel(t),
      verdict,
      opsPerSecond: 1e9 / m.medianNs,
      note: spec.note ?? null,
    };
  });
}

// ---- markdown ------------------------------------------------------------------------------

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function samplesCell(r: RowResult): string {
  if (r.kind === 'runs') return `${r.samples} runs${r.discarded !== undefined ? ` (${r.discarded} discarded)` : ''}`;
  if (r.kind === 'external') return `${r.samples} samples`;
  if (r.batch === 1) return `${formatCount(r.samples)} calls`;
  return `${r.samples} × ${formatCount(r.batch)}`;
}

/** The interquartile range of the samples as a share of the median: how noisy the row was. */
function spreadCell(r: RowResult): string {
  const q1 = r.quantilesNs.p25;
  const q3 = r.quantilesNs.p75;
  if (q1 === undefined || q3 === undefined || !(r.medianNs > 0)) return '—';
  return `±${((50 * (q3 - q1)) / r.medianNs).toFixed(0)}%`;
}

function resultCell(r: RowResult): string {
  if (r.failed !== undefined) return `failed: ${r.failed}`;
  if (r.verdict === 'pass') return 'pass';
  if (r.verdict === 'miss') return '**MISS**';
  return '';
}

export function renderSuite(s: SuiteResult): string {
  const out: string[] = [`## ${s.name} — ${s.title}`, ''];
  if (s.status === 'skipped') return [...out, `Skipped: ${s.reason}`, ''].join('\n');
  if (s.status === 'failed') out.push(`**The suite failed:** ${s.reason}`, '');
  if (s.rows.length > 0) {
    out.push(
      table(
        ['case', 'median', 'IQR', 'p99', 'ops/s', 'samples', 'ratio', 'baseline', 'target', 'result'],
        s.rows.map((r) => [
          r.name,
          formatNs(r.medianNs),
          spreadCell(r),
          formatNs(r.p99Ns),
          formatRate(r.opsPerSecond),
          samplesCell(r),
          r.baseline ? 'baseline' : formatRatio(r.ratio),
          r.against ?? '',
          r.targetLabel ?? '',
          resultCell(r),
        ]),
      ),
      '',
    );
  }
  const lines: string[] = [];
  for (const r of s.rows) if (r.note !== null) lines.push(`- ${r.name}: ${r.note}`);
  for (const n of s.notes) lines.push(`- ${n.label}: **${n.value}**${n.detail !== null ? ` — ${n.detail}` : ''}`);
  for (const c of s.checks) lines.push(`- ${c.ok ? '✓' : '✗ **FAILED**'} ${c.label}${c.detail !== null ? ` — ${c.detail}` : ''}`);
  if (lines.length > 0) out.push(...lines, '');
  out.push(
    `_median: of batch means for fast operations, of single calls or runs otherwise; IQR: half the interquartile range of the samples, relative to the median; ratio: median ÷ the baseline's median (below 1: faster than the baseline). The suite took ${(s.durationMs / 1000).toFixed(1)} s${s.load !== null ? `; 1-minute load average ${s.load.start.toFixed(1)} at its start, ${s.load.end.toFixed(1)} at its end` : ''}._`,
    '',
  );
  return out.join('\n');
}

export function summarizeReport(suites: SuiteResult[]): BenchReport['summary'] {
  const rows = suites.flatMap((s) => s.rows);
  return {
    rows: rows.length,
    pass: rows.filter((r) => r.verdict === 'pass').length,
    miss: rows.filter((r) => r.verdict === 'miss').length,
    failedChecks: suites.flatMap((s) => s.checks).filter((c) => !c.ok).length,
    skipped: suites.filter((s) => s.status === 'skipped').map((s) => s.name),
    failed: suites.filter((s) => s.status === 'failed').map((s) => s.name),
  };
}

export function renderHeader(machine: Machine, date: string): string {
  return [`# pamc benchmarks — ${date}`, '', machineLine(machine), ''].join('\n');
}

export function renderSummary(report: BenchReport): string {
  const out: string[] = ['## Summary', ''];
  out.push(
    table(
      ['suite', 'status', 'rows with a target', 'pass', 'miss', 'failed checks', 'time'],
      report.suites.map((s) => {
        const judged = s.rows.filter((r) => r.verdict !== null);
        return [
          s.name,
          s.status === 'ran' ? 'ran' : `${s.status}: ${s.reason ?? ''}`,
          String(judged.length),
          String(judged.filter((r) => r.verdict === 'pass').length),
          String(judged.filter((r) => r.verdict === 'miss').length),
          String(s.checks.filter((c) => !c.ok).length),
          `${(s.durationMs / 1000).toFixed(1)} s`,
        ];
      }),
    ),
    '',
  );
  const misses = report.suites.flatMap((s) => s.rows.filter((r) => r.verdict === 'miss').map((r) => ({ s, r })));
  if (misses.length === 0) out.push('No target missed in the suites that ran.');
  else {
    out.push('Targets missed:', '');
    for (const { s, r } of misses) out.push(`- ${s.name} / ${r.name}: median ${formatNs(r.medianNs)}${r.ratio !== null ? ` (${formatRatio(r.ratio)} ${r.against})` : ''}, target ${r.targetLabel}`);
  }
  const failedChecks = report.suites.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${s.name}: ${c.label}`));
  if (failedChecks.length > 0) out.push('', 'Failed checks:', '', ...failedChecks.map((c) => `- ${c}`));
  out.push('');
  return out.join('\n');
}
