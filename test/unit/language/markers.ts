// Inline span markers for diagnostic tests: `allow read on ⟦limit⟧` is the text without the
// markers and the span of what they enclose. Several marked spans are returned in order.

import type { Diagnostic, Span } from '../../../language/diagnostic.ts';

export const OPEN = '⟦';
export const CLOSE = '⟧';

export function unmark(marked: string): { text: string; spans: Span[] } {
  let text = '';
  const spans: Span[] = [];
  const open: number[] = [];
  for (const ch of marked) {
    if (ch === OPEN) open.push(text.length);
    else if (ch === CLOSE) {
      const start = open.pop();
      if (start === undefined) throw new Error(`unbalanced ${CLOSE} in ${marked}`);
      spans.push({ start, end: text.length });
    } else text += ch;
  }
  if (open.length > 0) throw new Error(`unbalanced ${OPEN} in ${marked}`);
  spans.sort((a, b) => a.start - b.start || a.end - b.end);
  return { text, spans };
}

/** Puts markers around a span of `text`, for readable failure messages. */
export function mark(text: string, span: Span): string {
  return text.slice(0, span.start) + OPEN + text.slice(span.start, span.end) + CLOSE + text.slice(span.end);
}

/** A compact view of diagnostics: `CODE ⟦marked source⟧`, one per diagnostic. */
export function showDiagnostics(text: string, diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((d) => `${d.code} ${mark(text, d.span)}`);
}
