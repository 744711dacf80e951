// The diff's three formats (spec/diff.md §3): human (a terminal), json (programs), markdown (a
// pull-request comment: a summary line, widenings first, a table).

import { describeGroup } from './describe.ts';
import type { Report, ReportItem, RuleRef, Scope } from './report.ts';

export type DiffFormat = 'human' | 'json' | 'markdown';

export function renderDiff(format: DiffFormat, report: Report, options: { color?: boolean } = {}): string {
  switch (format) {
    case 'human':
      return renderHuman(report, options.color ?? false);
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report);
  }
}

export function verdict(i: { widening: boolean; narrowing: boolean }): string {
  if (i.widening && i.narrowing) return 'widens and narrows';
  if (i.widening) return 'widens';
  if (i.narrowing) return 'narrows';
  return 'changes';
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function summaryLine(report: Report): string {
  const { changes, widening, narrowing, other } = report.summary;
  if (changes === 0) return 'no change in what the policy decides';
  const parts: string[] = [];
  if (widening > 0) parts.push(`${widening} ${widening === 1 ? 'widens' : 'widen'} access`);
  if (narrowing > 0) parts.push(`${narrowing} ${narrowing === 1 ? 'narrows' : 'narrow'} it`);
  if (other > 0) parts.push(plural(other, 'other change', 'other changes'));
  return `${plural(changes, 'change', 'changes')}: ${parts.join(', ')}`;
}

function scopeText(s: Scope): string {
  const actions = s.actions.join(', ');
  return s.shown.length === 0 ? actions : `${actions} on ${s.shown.join(', ')}`;
}

/** What an item is about, in one line: `group "a" · select on public.*`. */
export function subject(i: ReportItem): string {
  const where = i.target === null ? 'identity' : `target ${i.target}`;
  switch (i.kind) {
    case 'setting':
      return `${where} · ${i.setting}`;
    case 'limit':
      return `${where} · ${describeGroup(i.group!)} · row limit`;
    case 'mask':
      return `${where} · ${describeGroup(i.group!)} · mask ${i.columns.map((c) => `${i.relation}.${c}`).join(', ')}`;
    case 'access':
      return `${where} · ${describeGroup(i.group!)} · ${i.baseline ? baselineText(i) : i.scope.map(scopeText).join('; ')}`;
  }
}

/** Items made by the baseline alone read as the baseline, not as its dozens of keys. */
function baselineText(i: ReportItem): string {
  const r = i.rules.head[0] ?? i.rules.base[0];
  return `the baseline (${r.text.replace(/^baseline: /, '')})`;
}

/** `for an identity also in "ops": deny → allow` */
export function exampleLines(i: ReportItem): string[] {
  const out: string[] = [];
  for (const e of [i.examples.widening, i.examples.narrowing]) {
    if (!e) continue;
    out.push(`for an identity in ${e.groups.map((g) => JSON.stringify(g)).join(' and ')}: ${e.before} → ${e.after}`);
  }
  return out;
}

const paint = (on: boolean, code: string, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

function ruleLine(sign: string, r: RuleRef): string {
  return `${sign} ${r.location ?? '(baseline)'}  ${r.text}`;
}

function renderHuman(report: Report, color: boolean): string {
  const lines: string[] = [];
  lines.push(`pamc diff ${report.base.label} → ${report.head.label}: ${summaryLine(report)}`);
  for (const i of report.items) {
    lines.push('');
    const v = verdict(i);
    const code = i.widening ? '1;31' : i.narrowing ? '1;32' : '1;33';
    lines.push(`${paint(color, code, v)}  ${subject(i)}`);
    lines.push(`    before  ${i.before}`);
    lines.push(`    after   ${i.after}`);
    for (const e of exampleLines(i)) lines.push(`    ${e}`);
    for (const r of i.rules.base) lines.push(`    ${ruleLine('-', r)}`);
    for (const r of i.rules.head) lines.push(`    ${ruleLine('+', r)}`);
  }
  return lines.join('\n') + '\n';
}

function renderJson(report: Report): string {
  const items = report.items.map((i) => ({
    kind: i.kind,
    verdict: verdict(i),
    widening: i.widening,
    narrowing: i.narrowing,
    target: i.target,
    ...(i.kind === 'setting' ? { setting: i.setting } : { group: i.group }),
    ...(i.kind === 'access' ? { scope: i.scope.map((s) => ({ actions: s.actions, resources: s.resources })) } : {}),
    ...(i.kind === 'mask' ? { relation: i.relation, columns: i.columns } : {}),
    before: i.before,
    after: i.after,
    ...(i.kind === 'access' ? { entries: { before: i.beforeEntries, after: i.afterEntries } } : {}),
    ...(i.examples.widening || i.examples.narrowing ? { examples: i.examples } : {}),
    ...(i.kind === 'setting' ? {} : { rules: i.rules }),
  }));
  return JSON.stringify({ base: report.base, head: report.head, summary: report.summary, changes: items }, null, 2) + '\n';
}

/** Text for a table cell: no pipes or newlines; code spans where the text is policy syntax. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const code = (s: string) => (s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``);

function markdownWhat(i: ReportItem): string {
  switch (i.kind) {
    case 'setting':
      return code(i.setting!);
    case 'limit':
      return 'row limit';
    case 'mask':
      return `mask ${i.columns.map((c) => code(`${i.relation}.${c}`)).join(', ')}`;
    case 'access':
      if (i.baseline) return baselineText(i);
      return i.scope
        .map((s) => `${s.actions.map(code).join(', ')}${s.shown.length > 0 ? ` on ${s.shown.map(code).join(', ')}` : ''}`)
        .join('; ');
  }
}

function markdownRules(i: ReportItem): string {
  const refs = [
    ...i.rules.base.map((r) => `− ${r.location ? code(r.location) : 'baseline'}`),
    ...i.rules.head.map((r) => `+ ${r.location ? code(r.location) : 'baseline'}`),
  ];
  return refs.join('<br>');
}

function renderMarkdown(report: Report): string {
  const lines: string[] = [];
  const { widening } = report.summary;
  lines.push(`### pamc diff: ${summaryLine(report)}`);
  lines.push('');
  lines.push(
    `Base ${code(report.base.label)} (policy ${code(report.base.policy)}), head ${code(report.head.label)} (policy ${code(report.head.policy)}).` +
      (widening > 0 ? ` **${plural(widening, 'change widens', 'changes widen')} access: review ${widening === 1 ? 'it' : 'them'} first.**` : ''),
  );
  if (report.items.length === 0) return lines.join('\n') + '\n';
  lines.push('');
  lines.push('| | target | who | what | before | after | rules |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const i of report.items) {
    const mark = i.widening ? `**${verdict(i)}**` : verdict(i);
    const who = i.group === null ? '' : i.group === '*' ? 'every identity' : code(i.group);
    const after = [code(i.after), ...exampleLines(i).map((e) => `_${e}_`)].join('<br>');
    lines.push(`| ${[mark, i.target === null ? 'identity' : code(i.target), who, markdownWhat(i), code(i.before), after, markdownRules(i)].map(cell).join(' | ')} |`);
  }
  const withRules = report.items.filter((i) => i.rules.base.length + i.rules.head.length > 0);
  if (withRules.length > 0) {
    lines.push('');
    lines.push('<details><summary>rules behind the changes</summary>');
    lines.push('');
    const seen = new Set<string>();
    for (const i of withRules) {
      for (const [sign, r] of [...i.rules.base.map((r) => ['−', r] as const), ...i.rules.head.map((r) => ['+', r] as const)]) {
        const line = `- ${sign} ${r.location ? code(r.location) : 'baseline'} ${code(r.text)}`;
        if (!seen.has(line)) {
          seen.add(line);
          lines.push(line);
        }
      }
    }
    lines.push('');
    lines.push('</details>');
  }
  return lines.join('\n') + '\n';
}
