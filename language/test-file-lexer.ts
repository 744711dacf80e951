// Tokens of a `.pamtest` file (spec/testing.md §2). Hand-written rather than Chevrotain: the
// fenced SQL form (```…```, any length of fence, an optional `sql` info string) is a
// context-free scan that a token pattern expresses poorly, and the parser's recovery wants to
// know which tokens start a line. Strings share the .pam escapes (lexer.ts `decodeString`).
//
// Lexing never stops at an error: an unexpected character is skipped (PAM5001) — except a
// single-quoted string, reported once and read as the string it meant —, an unterminated string
// runs to the end of its line (PAM5002), a bad escape still yields the string (PAM5003), an
// unterminated fence runs to the end of the file (PAM5004).

import { diagnostic, type Diagnostic } from './diagnostic.ts';
import { decodeString, showText } from './lexer.ts';

export type TokenKind = 'word' | 'string' | 'fence' | 'number' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** the text as written */
  image: string;
  /** strings and fences: the value; otherwise the image */
  value: string;
  start: number;
  end: number;
  /** the first token on its line */
  first: boolean;
}

export interface TestLexResult {
  /** ends with one `eof` token */
  tokens: Token[];
  diagnostics: Diagnostic[];
  /** a fence ran to the end of the file: whatever is missing after it was swallowed by it */
  unterminatedFence: boolean;
}

const WORD = /[A-Za-z_][A-Za-z0-9_$]*/y;
const NUMBER = /-?[0-9]+(?:\.[0-9]+)?/y;
const STRING = /"(?:[^"\\\n\r]|\\[^\n\r]?)*"?/y;
const SINGLE_QUOTED = /'(?:[^'\n\r]|'')*'?/y;
const PUNCT = new Set(['{', '}', '[', ']', '(', ')', ',', '.', '=', '*']);

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

function startsToken(text: string, i: number): boolean {
  const c = text[i];
  if (c === undefined) return true;
  if (isSpace(text.charCodeAt(i)) || c === '#' || c === '"' || c === "'" || c === '`' || PUNCT.has(c)) return true;
  if (/[A-Za-z_0-9]/.test(c)) return true;
  return c === '-' && /[0-9]/.test(text[i + 1] ?? '');
}

function unexpected(text: string, path: string, start: number, end: number): Diagnostic {
  const run = text.slice(start, end);
  const first = String.fromCodePoint(run.codePointAt(0) ?? 0);
  let help: string | undefined;
  if (first === "'") help = 'strings are written in double quotes: `"…"`; fence SQL that holds quotes: ```…```';
  else if (first === '`') help = 'fence SQL with three backticks: ```SELECT …```';
  else if (first === ':') help = 'a rule location is a string: `rule "policy.pam:12"`';
  else if (first === ';') help = 'statements need no separator';
  else if (first === '/' && run.startsWith('//')) help = 'comments start with `#`';
  else if (/\p{L}/u.test(first) || first === '$') help = 'names are ASCII letters, digits and `_`; quote other names: `"…"`';
  const message = [...run].length === 1 ? `unexpected character \`${showText(run)}\`` : `unexpected characters \`${showText(run, 20)}\``;
  return diagnostic('PAM5001', 'error', path, { start, end }, message, help === undefined ? {} : { help });
}

/** Reads a fence at `i` (three or more backticks); returns its token and where lexing goes on. */
function lexFence(text: string, path: string, i: number, first: boolean, diagnostics: Diagnostic[]): { token: Token; next: number; open: boolean } {
  let n = 0;
  while (text[i + n] === '`') n++;
  const fence = '`'.repeat(n);
  let bodyStart = i + n;
  // An info string (` ```sql `) alone on the rest of the line, as in Markdown; the line break
  // after the opening fence is not part of the SQL.
  const eol = text.slice(bodyStart).search(/\r\n|\r|\n/);
  const restOfLine = eol < 0 ? text.slice(bodyStart) : text.slice(bodyStart, bodyStart + eol);
  if (eol >= 0 && /^[ \t]*(sql)?[ \t]*$/i.test(restOfLine)) {
    bodyStart += eol + (text.startsWith('\r\n', bodyStart + eol) ? 2 : 1);
  }
  const close = text.indexOf(fence, bodyStart);
  if (close < 0) {
    diagnostics.push(
      diagnostic('PAM5004', 'error', path, { start: i, end: i + n }, `unterminated sql fence: no closing \`${fence}\` before the end of the file`, {
        help: `close the sql with \`${fence}\`; sql that holds \`${fence}\` needs a longer fence`,
      }),
    );
    const value = text.slice(bodyStart);
    return { token: { kind: 'fence', image: text.slice(i), value, start: i, end: text.length, first }, next: text.length, open: true };
  }
  const end = close + n;
  return {
    token: { kind: 'fence', image: text.slice(i, end), value: text.slice(bodyStart, close), start: i, end, first },
    next: end,
    open: false,
  };
}

/** Tokenizes a test file's text. Never throws. */
export function lexTestFile(text: string, path: string): TestLexResult {
  const tokens: Token[] = [];
  const diagnostics: Diagnostic[] = [];
  let unterminatedFence = false;
  let i = 0;
  let lineHasToken = false;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) {
      lineHasToken = false;
      i++;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    const ch = text[i];
    if (ch === '#') {
      while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
      continue;
    }
    const first = !lineHasToken;
    lineHasToken = true;
    if (ch === '"') {
      STRING.lastIndex = i;
      const image = STRING.exec(text)![0];
      const decoded = decodeString(image);
      for (const p of decoded.problems) {
        const code = p.code === 'PAM0002' ? 'PAM5002' : 'PAM5003';
        diagnostics.push(diagnostic(code, 'error', path, { start: i + p.start, end: i + p.end }, p.message, p.help === undefined ? {} : { help: p.help }));
      }
      tokens.push({ kind: 'string', image, value: decoded.value, start: i, end: i + image.length, first });
      i += image.length;
      continue;
    }
    if (ch === "'") {
      // SQL habits: a single-quoted string is reported once and read as the string it meant,
      // so the statement around it parses
      SINGLE_QUOTED.lastIndex = i;
      const image = SINGLE_QUOTED.exec(text)![0];
      diagnostics.push(unexpected(text, path, i, i + 1));
      const closed = image.length > 1 && image.endsWith("'");
      const value = image.slice(1, closed ? -1 : undefined).replace(/''/g, "'");
      tokens.push({ kind: 'string', image, value, start: i, end: i + image.length, first });
      i += image.length;
      continue;
    }
    if (ch === '`' && text.startsWith('```', i)) {
      const f = lexFence(text, path, i, first, diagnostics);
      tokens.push(f.token);
      if (f.open) unterminatedFence = true;
      // the text after a closing fence continues the line the fence ends on
      i = f.next;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      WORD.lastIndex = i;
      const image = WORD.exec(text)![0];
      tokens.push({ kind: 'word', image, value: image, start: i, end: i + image.length, first });
      i += image.length;
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const image = NUMBER.exec(text)![0];
      tokens.push({ kind: 'number', image, value: image, start: i, end: i + image.length, first });
      i += image.length;
      continue;
    }
    if (PUNCT.has(ch)) {
      tokens.push({ kind: 'punct', image: ch, value: ch, start: i, end: i + 1, first });
      i++;
      continue;
    }
    // a run of characters that start no token is one diagnostic
    let j = i + (text.codePointAt(i)! > 0xffff ? 2 : 1);
    while (j < n && !startsToken(text, j)) j += text.codePointAt(j)! > 0xffff ? 2 : 1;
    if (ch === '`') while (j < n && text[j] === '`') j++;
    diagnostics.push(unexpected(text, path, i, j));
    lineHasToken = true;
    i = j;
  }
  tokens.push({ kind: 'eof', image: '', value: '', start: n, end: n, first: true });
  return { tokens, diagnostics, unterminatedFence };
}

/** How a token is shown in a message: `groups`, `"x"`, `}`, or the end of the file. */
export function showToken(t: Token): string {
  if (t.kind === 'eof') return 'the end of the file';
  if (t.kind === 'fence') return 'fenced sql';
  return `\`${showText(t.image, 30)}\``;
}
