// Tokenizing: the Chevrotain lexer plus our own checks of literals. Lexing never stops at an
// error: an unexpected character is skipped (PAM0001), an unterminated string runs to the end
// of its line (PAM0002), a bad escape (PAM0003) or a malformed literal (PAM0009) still yields
// its token, so the parser sees what the author most likely meant and reports nothing more.

import { Lexer, type IToken } from 'chevrotain';
import { diagnostic, type Diagnostic, type Span } from './diagnostic.ts';
import { DurationLiteral, IntegerLiteral, SizeLiteral, StringLiteral, TimeLiteral, lexerTokens } from './tokens.ts';

/** Chevrotain's grammar self-checks are for development (a test runs them); they cost a cold start. */
export const VALIDATE_GRAMMAR = process.env.PAMC_VALIDATE_GRAMMAR === '1';

export interface LexResult {
  /** significant tokens, comments excluded */
  tokens: IToken[];
  /** `#` comments, in order */
  comments: IToken[];
  diagnostics: Diagnostic[];
}

let lexerInstance: Lexer | undefined;

function lexer(): Lexer {
  lexerInstance ??= new Lexer(lexerTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false, skipValidations: !VALIDATE_GRAMMAR });
  return lexerInstance;
}

/** Offset just past a token. */
export function tokenEnd(t: IToken): number {
  return t.startOffset + t.image.length;
}

/** How a piece of user input is shown inside backticks in a message. */
export function showText(s: string, max = 40): string {
  let out = '';
  let n = 0;
  for (const ch of s) {
    if (n++ >= max) {
      out += '…';
      break;
    }
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029 || (c >= 0xd800 && c <= 0xdfff) || c === 0xfeff) {
      out += `\\u{${c.toString(16)}}`;
    } else if (ch === '`') {
      out += "'";
    } else {
      out += ch;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Strings

export interface StringProblem {
  code: 'PAM0002' | 'PAM0003';
  /** offsets relative to the start of the token */
  start: number;
  end: number;
  message: string;
  help?: string;
}

/** The value of a string token's image, and what is wrong with it. */
export function decodeString(image: string): { value: string; terminated: boolean; problems: StringProblem[] } {
  const problems: StringProblem[] = [];
  let value = '';
  let i = 1;
  let terminated = false;
  while (i < image.length) {
    const ch = image[i];
    if (ch === '"') {
      terminated = true;
      i++;
      break;
    }
    if (ch !== '\\') {
      // copy a run of plain characters at once
      let j = i + 1;
      while (j < image.length && image[j] !== '"' && image[j] !== '\\') j++;
      value += image.slice(i, j);
      i = j;
      continue;
    }
    const next = image[i + 1];
    if (next === '"' || next === '\\') {
      value += next;
      i += 2;
    } else if (next === 'n') {
      value += '\n';
      i += 2;
    } else if (next === 't') {
      value += '\t';
      i += 2;
    } else if (next === 'u') {
      const m = /^\{([0-9A-Fa-f]{1,6})\}/.exec(image.slice(i + 2, i + 12));
      const code = m ? parseInt(m[1], 16) : -1;
      if (m && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) {
        value += String.fromCodePoint(code);
        i += 2 + m[0].length;
      } else {
        const rest = m ? m[0] : (/^\{[0-9A-Za-z]{0,8}\}?/.exec(image.slice(i + 2, i + 13))?.[0] ?? '');
        const shown = 2 + rest.length;
        problems.push({
          code: 'PAM0003',
          start: i,
          end: i + shown,
          message: m
            ? `invalid unicode escape \`${showText(image.slice(i, i + shown))}\`: not a unicode scalar value`
            : 'invalid unicode escape, expected `\\u{` hex digits `}`',
          help: 'write a code point as `\\u{1F600}`',
        });
        value += image.slice(i, i + shown);
        i += shown;
      }
    } else if (next === undefined) {
      // a backslash at the end of an unterminated string
      value += '\\';
      i += 1;
    } else {
      const len = (next.codePointAt(0) ?? 0) > 0xffff ? 3 : 2;
      problems.push({
        code: 'PAM0003',
        start: i,
        end: i + len,
        message: `invalid escape \`${showText(image.slice(i, i + len))}\` in a string`,
        help: 'the escapes are `\\"`, `\\\\`, `\\n`, `\\t` and `\\u{HEX}`',
      });
      value += image.slice(i, i + len);
      i += len;
    }
  }
  if (!terminated) {
    problems.push({ code: 'PAM0002', start: 0, end: image.length, message: 'unterminated string', help: 'close it with `"` on the same line' });
  }
  return { value, terminated, problems };
}

/** Writes `value` as a string literal with canonical escapes. */
export function quoteString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029 || (c >= 0xd800 && c <= 0xdfff) || c === 0xfeff) {
      out += `\\u{${c.toString(16).toUpperCase()}}`;
    } else out += ch;
  }
  return out + '"';
}

// ---------------------------------------------------------------------------------------------
// Numbers

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const UNIT_RANK: Record<string, number> = { d: 0, h: 1, m: 2, s: 3, ms: 4 };

/** Milliseconds of a duration, or an explanation of why it is malformed. */
export function durationValue(text: string): { ms: number; error?: string } {
  const re = /([0-9]+)(ms|s|m|h|d)/y;
  let ms = 0;
  let pos = 0;
  let lastRank = -1;
  let error: string | undefined;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) {
      error = `malformed duration \`${showText(text)}\``;
      break;
    }
    const rank = UNIT_RANK[m[2]];
    if (rank <= lastRank && error === undefined) {
      error = `malformed duration \`${showText(text)}\`: units must go from largest to smallest, each once`;
    }
    lastRank = rank;
    ms += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  if (error === undefined && !Number.isSafeInteger(ms)) error = `duration \`${showText(text)}\` is too long`;
  return error === undefined ? { ms } : { ms: Number.isFinite(ms) ? ms : 0, error };
}

/** Minutes after midnight of a time of day, or an explanation of why it is malformed. */
export function timeValue(text: string): { minutes: number; error?: string } {
  const m = /^([0-9]+):([0-9]+)$/.exec(text);
  const h = m ? Number(m[1]) : 0;
  const min = m ? Number(m[2]) : 0;
  const minutes = Number.isFinite(h * 60 + min) ? h * 60 + min : 0;
  if (!m || m[1].length !== 2 || m[2].length !== 2 || h > 24 || min > 59 || (h === 24 && min !== 0)) {
    return { minutes, error: `malformed time of day \`${showText(text)}\`` };
  }
  return { minutes };
}

const SIZE_UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

/** Bytes of a size (`64MiB`), or an explanation of why it is malformed. */
export function sizeValue(text: string): { bytes: number; error?: string; help?: string } {
  const m = /^([0-9]+)([A-Za-z]+)$/.exec(text);
  const digits = m ? m[1] : '0';
  const unit = m ? m[2] : '';
  const factor = SIZE_UNITS[unit];
  if (factor === undefined) {
    const k = unit.charAt(0).toUpperCase();
    const suggestion = k === 'B' ? 'B' : `${k}iB`;
    return {
      bytes: 0,
      error: `malformed size \`${showText(text)}\``,
      help: `sizes are in B, KiB, MiB, GiB or TiB: write \`${digits}${suggestion}\``,
    };
  }
  const bytes = Number(digits) * factor;
  if (!Number.isSafeInteger(bytes)) return { bytes: 0, error: `size \`${showText(text)}\` is too large` };
  return { bytes };
}

export function integerValue(text: string): { value: number; error?: string } {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) return { value, error: `integer \`${showText(text)}\` is too large` };
  return { value };
}

// ---------------------------------------------------------------------------------------------

function unexpectedCharacters(text: string, path: string, offset: number, length: number): Diagnostic {
  const run = text.slice(offset, offset + length);
  const first = String.fromCodePoint(run.codePointAt(0) ?? 0);
  const span: Span = { start: offset, end: offset + length };
  let help: string | undefined;
  if (first === "'") help = 'strings are written in double quotes: `"…"`';
  else if (first === '!') help = 'did you mean `!=`?';
  else if (first === ';') help = 'rules and settings need no separator';
  else if (first === '/' && run.startsWith('//')) help = 'comments start with `#`';
  else if (first === '$' || /\p{L}/u.test(first)) help = 'identifiers are ASCII letters, digits, `_` and `$`; quote other names: `"…"`';
  const message =
    [...run].length === 1 ? `unexpected character \`${showText(run)}\`` : `unexpected characters \`${showText(run, 20)}\``;
  return diagnostic('PAM0001', 'error', path, span, message, help === undefined ? {} : { help });
}

/** Tokenizes `text`. Never throws. */
export function lex(text: string, path: string): LexResult {
  const result = lexer().tokenize(text);
  const diagnostics: Diagnostic[] = [];
  for (const e of result.errors) {
    diagnostics.push(unexpectedCharacters(text, path, e.offset, Math.max(1, e.length)));
  }
  const tokens = result.tokens;
  for (const t of tokens) {
    const start = t.startOffset;
    // `onlyOffset` tracking leaves endOffset out; the parser's node locations need it
    t.endOffset = start + t.image.length - 1;
    switch (t.tokenType) {
      case StringLiteral: {
        if (t.image.length >= 2 && t.image.indexOf('\\') < 0 && t.image.endsWith('"')) break;
        for (const p of decodeString(t.image).problems) {
          diagnostics.push(
            diagnostic(p.code, 'error', path, { start: start + p.start, end: start + p.end }, p.message, p.help === undefined ? {} : { help: p.help }),
          );
        }
        break;
      }
      case TimeLiteral: {
        const v = timeValue(t.image);
        if (v.error !== undefined) {
          diagnostics.push(
            diagnostic('PAM0009', 'error', path, { start, end: tokenEnd(t) }, v.error, { help: 'write a time of day from `00:00` to `24:00`' }),
          );
        }
        break;
      }
      case DurationLiteral: {
        const v = durationValue(t.image);
        if (v.error !== undefined) {
          diagnostics.push(
            diagnostic('PAM0009', 'error', path, { start, end: tokenEnd(t) }, v.error, {
              help: 'write a duration such as `500ms`, `90s`, `15m`, `1h30m` or `2d`',
            }),
          );
        }
        break;
      }
      case SizeLiteral: {
        const v = sizeValue(t.image);
        if (v.error !== undefined) {
          diagnostics.push(
            diagnostic('PAM0009', 'error', path, { start, end: tokenEnd(t) }, v.error, {
              help: v.help ?? 'write a size such as `64MiB`',
            }),
          );
        }
        break;
      }
      case IntegerLiteral: {
        if (t.image.length < 16) break;
        const v = integerValue(t.image);
        if (v.error !== undefined) {
          diagnostics.push(
            diagnostic('PAM0009', 'error', path, { start, end: tokenEnd(t) }, v.error, { help: 'the largest integer is 9007199254740991' }),
          );
        }
        break;
      }
    }
  }
  const comments = (result.groups['comments'] ?? []) as IToken[];
  return { tokens, comments, diagnostics };
}
