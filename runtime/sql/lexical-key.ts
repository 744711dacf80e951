// The lexical key of a statement text: the text with each constant replaced by a placeholder of
// its token kind, found by a scanner written here instead of by the parser (templates.ts).
//
// libpg_query's normalize finds constants with PostgreSQL's own lexer and grammar, but costs half
// a parse (≈ 6 µs, more inside a busy gateway). This scanner reads the plain subset of SQL that
// drivers write — identifiers, quoted identifiers, decimal numbers, standard '…' strings,
// operators, punctuation, spaces — and refuses everything else (null): comments, dollar quotes,
// E'…', B'…', X'…', U&'…', parameters, string continuation across lines, numbers in any notation
// but digits with an optional fraction, non-ASCII outside quotes. Within that subset it splits
// tokens where PostgreSQL's lexer does, so two texts with one key are the same token sequence
// but for the values of their constants, and each constant is of the same token kind:
//
//   $i  an integer constant that fits in 32 bits (ICONST)
//   $n  a decimal, or an integer too large for 32 bits (FCONST)
//   $s  a '…' string (SCONST)
//
// Everything between constants is kept byte for byte, and holds no `$`, so the key is
// unambiguous. The grammar is LR: the same token kinds parse to the same tree, but for what its
// actions do with a constant's value. Whether each constant became a constant node of the tree
// (and not, say, an array bound or the precision of float(p)) is checked on the first text of a
// key, with the parser's own tree (classify.ts, classifyExemplar).

import { isAsciiIdentStart, isDigit, isOpChar, isSelfChar, isSpace, quotedEnd } from './sql-chars.ts';

export interface LexicalKey {
  key: string;
  /** string offset of each constant's first character, in text order */
  constants: number[];
  /**
   * per constant, the offset of a minus sign before it (spaces between), or -1: the grammar
   * makes `-5` one constant node that starts at the sign, `a -5` a subtraction of the node 5
   */
  signs: number[];
}

const QUOTE = 39;
const DOUBLE_QUOTE = 34;
const DOT = 46;
const MINUS = 45;
const SLASH = 47;
const STAR = 42;
const AMPERSAND = 38;

/** PostgreSQL also continues identifiers with `$` and bytes ≥ 128: this scanner refuses those. */
function isIdentChar(c: number): boolean {
  return isAsciiIdentStart(c) || isDigit(c);
}

/** Operator characters and punctuation, but the dot (scanned on its own). */
function isPunctuation(c: number): boolean {
  return isOpChar(c) || (isSelfChar(c) && c !== DOT);
}

/** Whether the digits text[start, end) make an integer PostgreSQL's lexer keeps as ICONST. */
function fitsInt32(text: string, start: number, end: number): boolean {
  let s = start;
  while (s < end - 1 && text.charCodeAt(s) === 48) s++;
  const len = end - s;
  return len < 10 || (len === 10 && text.slice(s, end) <= '2147483647');
}

/** The lexical key of `text`, or null when the text leaves the subset this scanner reads. */
export function lexicalKey(text: string): LexicalKey | null {
  const n = text.length;
  const constants: number[] = [];
  const signs: number[] = [];
  let key = '';
  let verbatimFrom = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
    } else if (isAsciiIdentStart(c)) {
      i++;
      while (i < n && isIdentChar(text.charCodeAt(i))) i++;
      // a word runs on with `$` or non-ASCII; E'…', B'…', X'…', N'…' are other string kinds
      if (i < n) {
        const d = text.charCodeAt(i);
        if (d === QUOTE || d === DOUBLE_QUOTE || d === 36 || d >= 128) return null;
      }
    } else if (isDigit(c)) {
      const start = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      let kind = fitsInt32(text, start, i) ? '$i' : '$n';
      if (i < n && text.charCodeAt(i) === DOT) {
        i++;
        if (!(i < n && isDigit(text.charCodeAt(i)))) return null;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
        kind = '$n';
      }
      // exponents, hexadecimal and underscores (which PostgreSQL versions read differently),
      // trailing junk, a second dot
      if (i < n) {
        const d = text.charCodeAt(i);
        if (isIdentChar(d) || d === DOT || d === 36 || d >= 128 || d === QUOTE || d === DOUBLE_QUOTE) return null;
      }
      key += text.slice(verbatimFrom, start) + kind;
      verbatimFrom = i;
      constants.push(start);
      let j = start - 1;
      while (j >= 0 && isSpace(text.charCodeAt(j))) j--;
      signs.push(j >= 0 && text.charCodeAt(j) === MINUS ? j : -1);
    } else if (c === QUOTE) {
      const end = quotedEnd(text, i, QUOTE);
      if (end < 0) return null;
      // '…' then a newline and another '…' is one string; anything right after the quote is odd
      let j = end;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (j < n && text.charCodeAt(j) === QUOTE) return null;
      if (end < n && !isSpace(text.charCodeAt(end)) && !isPunctuation(text.charCodeAt(end))) return null;
      key += text.slice(verbatimFrom, i) + '$s';
      verbatimFrom = end;
      constants.push(i);
      signs.push(-1);
      i = end;
    } else if (c === DOUBLE_QUOTE) {
      const end = quotedEnd(text, i, DOUBLE_QUOTE);
      // "" is no identifier: PostgreSQL's lexer fails on it
      if (end < 0 || end === i + 2) return null;
      i = end;
    } else if (c === DOT) {
      // .5 is a number
      if (i + 1 < n && isDigit(text.charCodeAt(i + 1))) return null;
      i++;
    } else if (isPunctuation(c)) {
      const d = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      // comments; U&'…' and U&"…"
      if ((c === MINUS && d === MINUS) || (c === SLASH && d === STAR) || (c === AMPERSAND && (d === QUOTE || d === DOUBLE_QUOTE))) return null;
      i++;
    } else {
      // `$` (parameters, dollar quotes), `\`, braces, control characters, non-ASCII
      return null;
    }
  }
  return { key: key + text.slice(verbatimFrom), constants, signs };
}
