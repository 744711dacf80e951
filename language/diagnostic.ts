// The one Diagnostic shape every phase reports (DESIGN.md §8). Positions are offsets into the
// file's text; line and column are computed only when a diagnostic is rendered.

export type Severity = 'error' | 'warning' | 'info';

export interface Span {
  /** offset of the first character (UTF-16 code units into the decoded text) */
  start: number;
  /** offset just past the last character */
  end: number;
}

export interface Related {
  file: string;
  span: Span;
  message: string;
}

export interface Diagnostic {
  /** stable code, `PAM` + four digits; the catalog is spec/diagnostics.md */
  code: string;
  severity: Severity;
  /** one line, lower case, no final period, user input in backticks */
  message: string;
  file: string;
  span: Span;
  help?: string;
  related?: Related[];
}

export function diagnostic(
  code: string,
  severity: Severity,
  file: string,
  span: Span,
  message: string,
  extra: { help?: string; related?: Related[] } = {},
): Diagnostic {
  const d: Diagnostic = { code, severity, message, file, span };
  if (extra.help !== undefined) d.help = extra.help;
  if (extra.related !== undefined && extra.related.length > 0) d.related = extra.related;
  return d;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Orders diagnostics by file, then position, then code, so every run prints the same list. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.span.start - b.span.start ||
      a.span.end - b.span.end ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}
