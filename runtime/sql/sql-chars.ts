// Character classes of PostgreSQL's SQL lexer (scan.l), for the scanners that read SQL text
// before the parser does: the nesting estimate (nesting.ts) and the lexical key (lexical-key.ts).

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A-Z, a-z and `_`: how an identifier starts, but for the bytes ≥ 128 PostgreSQL also allows. */
export function isAsciiIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
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
