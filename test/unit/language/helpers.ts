// Shared helpers for the language tests.

import * as assert from 'uvu/assert';
import type { Diagnostic } from '../../../language/diagnostic.ts';
import { parsePolicy, type PolicyFile } from '../../../language/index.ts';
import { mark, unmark } from './markers.ts';

/** Parses and asserts there is no diagnostic. */
export function parseOk(text: string): PolicyFile {
  const r = parsePolicy(text, 'test.pam');
  assert.equal(
    r.diagnostics.map((d) => `${d.code} ${d.message} ${mark(text, d.span)}`),
    [],
    'expected no diagnostics',
  );
  return r.file;
}

/**
 * Parses marked text and asserts the diagnostics: one code per marked span, in order.
 * Returns the diagnostics for further checks.
 */
export function expectDiagnostics(marked: string, codes: string[]): Diagnostic[] {
  const { text, spans } = unmark(marked);
  const r = parsePolicy(text, 'test.pam');
  const got = r.diagnostics.map((d) => `${d.code} ${mark(text, d.span)}`);
  const want = codes.map((c, i) => `${c} ${spans[i] ? mark(text, spans[i]) : '(no span marked)'}`);
  assert.equal(got, want);
  return r.diagnostics;
}

/** Removes positions (and the fields a round trip may change) so two trees can be compared. */
export function stripPositions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripPositions);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'span' || k === 'effectSpan' || k === 'lineStarts') continue;
      if (k === 'path' && typeof v === 'string') continue;
      out[k] = stripPositions(v);
    }
    return out;
  }
  return value;
}

/** The first rule of the first `on` block of a file. */
export function firstRule(file: PolicyFile) {
  const on = file.items.find((i) => i.kind === 'On');
  if (!on || on.kind !== 'On') throw new Error('no on block');
  const r = on.rules[0];
  if (!r) throw new Error('no rule');
  return r;
}
