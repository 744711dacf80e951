// Source text: decoding a file's bytes (strict UTF-8, BOM stripped, size limit) and the line
// index that turns offsets into line and column when a diagnostic is rendered.

import { stat, readFile } from 'node:fs/promises';
import { diagnostic, type Diagnostic } from './diagnostic.ts';

/** Files larger than this are rejected unread (PAM0007). */
export const MAX_SOURCE_BYTES = 8 * 1024 * 1024;

export interface DecodedSource {
  /** the decoded text; for a rejected file, a lossy decoding (or '') for renderers only */
  text: string;
  /** false when the file was rejected: do not parse `text` */
  ok: boolean;
  diagnostics: Diagnostic[];
}

function tooLarge(path: string, size: number): Diagnostic {
  return diagnostic(
    'PAM0007',
    'error',
    path,
    { start: 0, end: 0 },
    `file is too large (${size} bytes, the limit is 8 MiB)`,
    { help: 'split the policy into several files' },
  );
}

/** Whether `text` would exceed the size limit once encoded as UTF-8. */
export function textTooLarge(text: string): boolean {
  if (text.length > MAX_SOURCE_BYTES) return true;
  if (text.length * 3 <= MAX_SOURCE_BYTES) return false;
  return Buffer.byteLength(text, 'utf8') > MAX_SOURCE_BYTES;
}

export function tooLargeText(path: string, text: string): Diagnostic {
  return tooLarge(path, Buffer.byteLength(text, 'utf8'));
}

/**
 * The offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong forms,
 * surrogates and code points above U+10FFFF are ill-formed), or -1 when all bytes are well formed.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (i + k >= n) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Decodes a policy file's bytes. Never throws. */
export function decodeSource(bytes: Uint8Array, path: string): DecodedSource {
  if (bytes.length > MAX_SOURCE_BYTES) {
    return { text: '', ok: false, diagnostics: [tooLarge(path, bytes.length)] };
  }
  try {
    // `fatal` rejects ill-formed input; the default `ignoreBOM: false` strips a leading BOM.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { text, ok: true, diagnostics: [] };
  } catch {
    const bad = Math.max(0, firstInvalidUtf8(bytes));
    const prefix = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
    const text = new TextDecoder('utf-8').decode(bytes);
    // The lossy decoding agrees with the prefix up to the bad byte, so this offset is valid in `text`.
    const at = prefix.length;
    const hex = bytes[bad] === undefined ? 'end of file' : `0x${bytes[bad].toString(16).padStart(2, '0')}`;
    return {
      text,
      ok: false,
      diagnostics: [
        diagnostic(
          'PAM0006',
          'error',
          path,
          { start: at, end: Math.min(text.length, at + 1) },
          `file is not valid utf-8: bad byte ${hex} at byte offset ${bad}`,
          { help: 'save the file as utf-8' },
        ),
      ],
    };
  }
}

/** Reads and decodes a file, refusing one over the size limit without reading it. Never throws. */
export async function readSource(path: string): Promise<DecodedSource> {
  try {
    const st = await stat(path);
    if (st.size > MAX_SOURCE_BYTES) return { text: '', ok: false, diagnostics: [tooLarge(path, st.size)] };
    return decodeSource(await readFile(path), path);
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'error';
    return {
      text: '',
      ok: false,
      diagnostics: [diagnostic('PAM0011', 'error', path, { start: 0, end: 0 }, `cannot read the file (${code.toLowerCase()})`)],
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Line index

export interface Position {
  /** 1-based */
  line: number;
  /** 1-based, in UTF-16 code units; a tab counts as one */
  column: number;
}

export interface LineIndex {
  /** offset of the first character of each line */
  readonly lineStarts: readonly number[];
  readonly lineCount: number;
  position(offset: number): Position;
  /** the text of a 1-based line, without its line terminator */
  lineText(line: number): string;
  /** the offset of a 1-based line and column */
  offset(position: Position): number;
}

/** Offsets at which lines start; a line ends at `\n`, `\r\n` or a lone `\r`. */
export function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return starts;
}

/** The 0-based line containing `offset` in `lineStarts`. */
export function lineOfOffset(lineStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function lineIndex(text: string): LineIndex {
  const lineStarts = computeLineStarts(text);
  const position = (offset: number): Position => {
    const o = Math.max(0, Math.min(text.length, Number.isFinite(offset) ? offset : 0));
    const line = lineOfOffset(lineStarts, o);
    return { line: line + 1, column: o - lineStarts[line] + 1 };
  };
  const lineText = (line: number): string => {
    if (line < 1 || line > lineStarts.length) return '';
    const start = lineStarts[line - 1];
    let end = line < lineStarts.length ? lineStarts[line] : text.length;
    while (end > start && (text.charCodeAt(end - 1) === 10 || text.charCodeAt(end - 1) === 13)) end--;
    return text.slice(start, end);
  };
  const offset = (p: Position): number => {
    const line = Math.max(1, Math.min(lineStarts.length, p.line));
    return Math.min(text.length, lineStarts[line - 1] + Math.max(0, p.column - 1));
  };
  return { lineStarts, lineCount: lineStarts.length, position, lineText, offset };
}
