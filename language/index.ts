// The public API of the language layer: text or bytes in, AST and diagnostics out; AST out,
// canonical text back. Nothing here throws on user input, and every phase is linear in the size
// of the input (the parser stops after MAX_ERRORS syntax errors).

import type { PolicyFile } from './ast.ts';
import { diagnostic, sortDiagnostics, type Diagnostic } from './diagnostic.ts';
import { cstToAst } from './cst-to-ast.ts';
import { lex } from './lexer.ts';
import { MAX_ERRORS, parseTokens } from './parser.ts';
import { printPolicy } from './printer.ts';
import { computeLineStarts, decodeSource, textTooLarge, tooLargeText } from './source.ts';

export type * from './ast.ts';
export type { Diagnostic, Related, Severity, Span } from './diagnostic.ts';
export { diagnostic, hasErrors, sortDiagnostics } from './diagnostic.ts';
export { decodeSource, lineIndex, readSource, MAX_SOURCE_BYTES, type DecodedSource, type LineIndex, type Position } from './source.ts';
export { RESERVED_WORDS, SOFT_KEYWORDS, isBareIdentifier, isReservedWord } from './tokens.ts';

export interface ParseResult {
  file: PolicyFile;
  diagnostics: Diagnostic[];
}

function emptyFile(path: string, length: number): PolicyFile {
  return { kind: 'File', path, items: [], comments: [], span: { start: 0, end: length } };
}

/** Caps the list at MAX_ERRORS errors, adding PAM0008 when some were left out. */
function capDiagnostics(all: Diagnostic[], path: string, stopped: boolean, end: number): Diagnostic[] {
  const sorted = sortDiagnostics(all);
  if (sorted.length <= MAX_ERRORS && !stopped) return sorted;
  const kept = sorted.slice(0, MAX_ERRORS);
  const last = kept[kept.length - 1];
  const at = last === undefined ? end : last.span.end;
  kept.push(
    diagnostic('PAM0008', 'error', path, { start: at, end: at }, `too many errors, stopped after ${MAX_ERRORS}`, {
      help: 'fix the errors above and check again',
    }),
  );
  return kept;
}

function mergeSorted(a: number[], b: number[]): number[] {
  return [...a, ...b].sort((x, y) => x - y);
}

/** Parses the text of a policy file. Never throws. */
export function parsePolicy(text: string, path: string): ParseResult {
  if (textTooLarge(text)) return { file: emptyFile(path, 0), diagnostics: [tooLargeText(path, text)] };
  try {
    const lexed = lex(text, path);
    const parsed = parseTokens(lexed.tokens, text, path);
    const errorOffsets = lexed.diagnostics.length === 0 ? parsed.errorOffsets : mergeSorted(parsed.errorOffsets, lexed.diagnostics.map((d) => d.span.start));
    const built = cstToAst(parsed.cst, path, text.length, lexed.comments, parsed.clean, errorOffsets);
    built.file.lineStarts = computeLineStarts(text);
    const diagnostics = capDiagnostics([...lexed.diagnostics, ...parsed.diagnostics, ...built.diagnostics], path, parsed.stopped, text.length);
    return { file: built.file, diagnostics };
  } catch {
    // A bug of ours, not the user's: say so without a stack trace.
    return {
      file: emptyFile(path, text.length),
      diagnostics: [diagnostic('PAM0013', 'error', path, { start: 0, end: 0 }, 'internal error while parsing this file', { help: 'please report it with the file' })],
    };
  }
}

/** Decodes (strict UTF-8, BOM stripped, 8 MiB limit) and parses a policy file. Never throws. */
export function parsePolicyBytes(bytes: Uint8Array, path: string): ParseResult & { text: string } {
  const decoded = decodeSource(bytes, path);
  if (!decoded.ok) return { file: emptyFile(path, decoded.text.length), diagnostics: decoded.diagnostics, text: decoded.text };
  return { ...parsePolicy(decoded.text, path), text: decoded.text };
}

/** Prints a policy in canonical form (`pamc fmt`). Format only files that parsed without errors. */
export function formatPolicy(file: PolicyFile): string {
  return printPolicy(file);
}
