// Rendering diagnostics for people and for machines: human (file:line:col, the source line
// with the span underlined, help), json, SARIF 2.1.0 for code scanning, and GitHub workflow
// annotations.

import type { Diagnostic, Severity, Span } from '../language/diagnostic.ts';
import { lineIndex, type LineIndex } from '../language/source.ts';
import { DIAGNOSTIC_CODES } from './codes.ts';

export type DiagnosticFormat = 'human' | 'json' | 'sarif' | 'github';

export interface RenderOptions {
  color?: boolean;
  /** the version string written into SARIF */
  toolVersion?: string;
}

interface Range {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

class Positions {
  private readonly indexes = new Map<string, LineIndex>();
  constructor(private readonly texts: Map<string, string>) {}

  index(file: string): LineIndex {
    let idx = this.indexes.get(file);
    if (!idx) this.indexes.set(file, (idx = lineIndex(this.texts.get(file) ?? '')));
    return idx;
  }

  range(file: string, span: Span): Range {
    const idx = this.index(file);
    const a = idx.position(span.start);
    const b = idx.position(Math.max(span.start, span.end));
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }
}

const paint = (on: boolean, code: string, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
const SEVERITY_COLOR: Record<Severity, string> = { error: '1;31', warning: '1;33', info: '1;36' };

function humanOne(d: Diagnostic, pos: Positions, color: boolean): string {
  const r = pos.range(d.file, d.span);
  const idx = pos.index(d.file);
  const lines: string[] = [];
  lines.push(`${paint(color, SEVERITY_COLOR[d.severity], `${d.severity}[${d.code}]`)}${paint(color, '1', `: ${d.message}`)}`);
  const gutter = String(r.line).length;
  const pad = ' '.repeat(gutter);
  lines.push(`${pad}${paint(color, '34', '-->')} ${d.file}:${r.line}:${r.column}`);
  const text = idx.lineText(r.line).replace(/\t/g, ' ');
  if (text.length > 0 || r.line <= idx.lineCount) {
    const shown = text.length > 200 ? text.slice(0, 200) + '…' : text;
    const endCol = r.endLine === r.line ? r.endColumn : text.length + 1;
    const width = Math.max(1, Math.min(endCol, shown.length + 1) - r.column);
    lines.push(`${pad} ${paint(color, '34', '|')}`);
    lines.push(`${paint(color, '34', `${r.line} |`)} ${shown}`);
    const caretColor = SEVERITY_COLOR[d.severity];
    lines.push(`${pad} ${paint(color, '34', '|')} ${' '.repeat(Math.max(0, r.column - 1))}${paint(color, caretColor, '^'.repeat(width))}`);
  }
  for (const rel of d.related ?? []) {
    const rr = pos.range(rel.file, rel.span);
    lines.push(`${pad} ${paint(color, '34', '=')} note: ${rel.message} (${rel.file}:${rr.line}:${rr.column})`);
  }
  if (d.help) lines.push(`${pad} ${paint(color, '34', '=')} help: ${d.help}`);
  return lines.join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summarize(diagnostics: Diagnostic[], fileCount: number): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  if (errors === 0 && warnings === 0) return `${plural(fileCount, 'file')} checked, no problems`;
  return `${plural(fileCount, 'file')} checked: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}

function renderHuman(diagnostics: Diagnostic[], pos: Positions, fileCount: number, color: boolean): string {
  const parts = diagnostics.map((d) => humanOne(d, pos, color));
  parts.push(summarize(diagnostics, fileCount));
  return parts.join('\n\n') + '\n';
}

function renderJson(diagnostics: Diagnostic[], pos: Positions, fileCount: number): string {
  const out = diagnostics.map((d) => ({
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.file,
    ...pos.range(d.file, d.span),
    start: d.span.start,
    end: d.span.end,
    ...(d.help ? { help: d.help } : {}),
    ...(d.related ? { related: d.related.map((r) => ({ message: r.message, file: r.file, ...pos.range(r.file, r.span) })) } : {}),
  }));
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  return JSON.stringify({ files: fileCount, errors, warnings, diagnostics: out }, null, 2) + '\n';
}

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

function sarifLocation(file: string, r: Range) {
  return {
    physicalLocation: {
      artifactLocation: { uri: file.split('\\').join('/') },
      region: { startLine: r.line, startColumn: r.column, endLine: r.endLine, endColumn: r.endColumn },
    },
  };
}

function renderSarif(diagnostics: Diagnostic[], pos: Positions, version: string): string {
  const used = [...new Set(diagnostics.map((d) => d.code))].sort();
  const rules = used.map((code) => ({
    id: code,
    name: (DIAGNOSTIC_CODES[code] ?? code).replace(/(^|\s)(\w)/g, (_m, s: string, c: string) => s + c.toUpperCase()).replace(/\s+/g, ''),
    shortDescription: { text: DIAGNOSTIC_CODES[code] ?? code },
    helpUri: `https://github.com/pamc-dev/pamc/blob/main/spec/diagnostics.md#${code.toLowerCase()}`,
  }));
  const results = diagnostics.map((d) => ({
    ruleId: d.code,
    ruleIndex: used.indexOf(d.code),
    level: SARIF_LEVEL[d.severity],
    message: { text: d.help ? `${d.message} (${d.help})` : d.message },
    locations: [sarifLocation(d.file, pos.range(d.file, d.span))],
    ...(d.related
      ? {
          relatedLocations: d.related.map((r, i) => ({
            id: i,
            message: { text: r.message },
            ...sarifLocation(r.file, pos.range(r.file, r.span)),
          })),
        }
      : {}),
  }));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'pamc', version, informationUri: 'https://github.com/pamc-dev/pamc', rules } },
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

/** GitHub workflow commands: data escapes %, CR, LF; properties also `:` and `,`. */
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
const GITHUB_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'notice' };

function renderGithub(diagnostics: Diagnostic[], pos: Positions): string {
  return diagnostics
    .map((d) => {
      const r = pos.range(d.file, d.span);
      const props = [
        `file=${escapeProperty(d.file)}`,
        `line=${r.line}`,
        `col=${r.column}`,
        `endLine=${r.endLine}`,
        `endColumn=${r.endColumn}`,
        `title=${escapeProperty(`${d.code} ${DIAGNOSTIC_CODES[d.code] ?? ''}`.trim())}`,
      ].join(',');
      return `::${GITHUB_LEVEL[d.severity]} ${props}::${escapeData(d.help ? `${d.message} (${d.help})` : d.message)}\n`;
    })
    .join('');
}

export function renderDiagnostics(
  format: DiagnosticFormat,
  diagnostics: Diagnostic[],
  texts: Map<string, string>,
  fileCount: number,
  options: RenderOptions = {},
): string {
  const pos = new Positions(texts);
  switch (format) {
    case 'human':
      return renderHuman(diagnostics, pos, fileCount, options.color ?? false);
    case 'json':
      return renderJson(diagnostics, pos, fileCount);
    case 'sarif':
      return renderSarif(diagnostics, pos, options.toolVersion ?? '0.0.0');
    case 'github':
      return renderGithub(diagnostics, pos);
  }
}
