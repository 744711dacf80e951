// Character classes of PostgreSQL's SQL lexer (scan.l), for the scanners that read SQL text
// before the parser does: the nesting estimate (nesting.ts), the lexical key (lexical-key.ts)
// and the assignment targets of PL/pgSQL (plpgsql.ts).

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A-Z, a-z and `_`: how an identifier starts, but for the bytes ≥ 128 PostgreSQL also allows. */
export function isAsciiIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

/** `ident_start`: A-Z, a-z, `_` and every byte ≥ 128 (here: every UTF-16 unit ≥ 128). */
export function isIdentStart(c: number): boolean {
  return isAsciiIdentStart(c) || c >= 128;
}

/** `ident_cont`: `ident_start`, digits and `$`. */
export function isIdentChar(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === 36;
}

/** Space, tab, newline, carriage return, form feed (not vertical tab: lexers disagree on it). */
export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

/** End of the quoted run that opens at text[start] (`'` or `"`, doubled to escape), or -1. */
export function quotedEnd(text: string, start: number, quote: number): number {
  const n = text.length;
  let i = start + 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      if (i + 1 < n && text.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    // NUL ends a C string early; a lone surrogate is not text (the parser refuses both)
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) return -1;
    i++;
  }
  return -1;
}

/** `op_chars`: + - * / < > = ~ ! @ # % ^ & | ` ? */
export function isOpChar(c: number): boolean {
  return (
    c === 43 || c === 45 || c === 42 || c === 47 || c === 60 || c === 62 || c === 61 || c === 126 ||
    c === 33 || c === 64 || c === 35 || c === 37 || c === 94 || c === 38 || c === 124 || c === 96 || c === 63
  );
}

/** `self` but for the operator characters: , ( ) [ ] . ; : */
export function isSelfChar(c: number): boolean {
  return c === 44 || c === 40 || c === 41 || c === 91 || c === 93 || c === 46 || c === 59 || c === 58;
}
