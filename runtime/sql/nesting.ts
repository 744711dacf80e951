// A cheap upper estimate of how deep libpg_query's tree for a text would be, computed before
// the text reaches the parser.
//
// Why: the WASM parser serialises its tree recursively on the JavaScript stack. A statement
// nested or chained a few thousand levels deep (`SELECT 1+1+1…`, `NOT NOT …`, `x::int::int…`,
// thousands of UNIONs) overflows that stack; the parser module is left corrupted and, after a
// few dozen such failures, answers "memory access out of bounds" to everything (measured with
// libpg-query 18.1.5). So deep text never reaches the parser: it is forbidden here.
//
// The estimate skips string literals, quoted identifiers, dollar-quoted bodies and comments,
// and counts per parenthesis level: the enclosing levels, the current operator chain (reset by
// `,` and by keywords that separate expressions, AND/OR lists are flat in the tree), set
// operations and joins. It over-estimates; real statements stay far below the limit.

import { isIdentChar, isIdentStart, isOpChar } from './sql-chars.ts';

const OPEN = 1;
const CASE = 2;

const CHAIN = 1;
const RESET = 2;
const SETOP = 3;
const JOIN = 4;
const CASE_WORD = 5;
const END_WORD = 6;

const WORDS: Record<string, number> = {
  not: CHAIN, is: CHAIN, isnull: CHAIN, notnull: CHAIN, collate: CHAIN, like: CHAIN, ilike: CHAIN,
  similar: CHAIN, between: CHAIN, in: CHAIN, at: CHAIN, overlaps: CHAIN, escape: CHAIN, operator: CHAIN,
  and: RESET, or: RESET, when: RESET, then: RESET, else: RESET, select: RESET, from: RESET, where: RESET,
  set: RESET, values: RESET, returning: RESET, having: RESET, by: RESET, on: RESET, using: RESET,
  limit: RESET, offset: RESET, into: RESET,
  union: SETOP, intersect: SETOP, except: SETOP,
  join: JOIN,
  case: CASE_WORD,
  end: END_WORD,
};

/** Keyword class of text[start, end) (ASCII, case-insensitive), 0 for other words. */
function wordClass(text: string, start: number, end: number): number {
  const len = end - start;
  if (len < 2 || len > 9) return 0;
  let w = '';
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) w += String.fromCharCode(c + 32);
    else if (c >= 97 && c <= 122) w += text[i];
    else return 0;
  }
  return WORDS[w] ?? 0;
}

/**
 * Estimated tree depth of `text`, or a number above `limit` as soon as the estimate exceeds it.
 * The estimate grows by at most one per character, so it never exceeds the text's length.
 */
export function estimateNesting(text: string, limit: number): number {
  const n = text.length;
  // per level: base depth, chain, set operations, joins, kind
  const stack: number[] = [];
  let base = 1;
  let chain = 0;
  let setops = 0;
  let joins = 0;
  let kind = 0;
  let max = 1;
  let i = 0;
  const open = (k: number): void => {
    stack.push(base, chain, setops, joins, kind);
    base = base + chain + setops + joins + 1;
    chain = 0;
    setops = 0;
    joins = 0;
    kind = k;
    if (base > max) max = base;
  };
  const close = (): void => {
    if (stack.length === 0) return;
    kind = stack.pop()!;
    joins = stack.pop()!;
    setops = stack.pop()!;
    chain = stack.pop()!;
    base = stack.pop()!;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 39) {
      // '…' with '' doubling; E'…' also has backslash escapes
      const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
      const escapes = (prev === 69 || prev === 101) && !(i > 1 && isIdentChar(text.charCodeAt(i - 2)));
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (escapes && d === 92) i += 2;
        else if (d === 39) {
          if (i + 1 < n && text.charCodeAt(i + 1) === 39) i += 2;
          else break;
        } else i++;
      }
      i++;
      continue;
    }
    if (c === 34) {
      i++;
      while (i < n) {
        if (text.charCodeAt(i) === 34) {
          if (i + 1 < n && text.charCodeAt(i + 1) === 34) i += 2;
          else break;
        } else i++;
      }
      i++;
      continue;
    }
    if (c === 45 && i + 1 < n && text.charCodeAt(i + 1) === 45) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === 47 && i + 1 < n && text.charCodeAt(i + 1) === 42) {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        const d = text.charCodeAt(i);
        if (d === 47 && i + 1 < n && text.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (d === 42 && i + 1 < n && text.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (c === 36 && !(i > 0 && isIdentChar(text.charCodeAt(i - 1)))) {
      // $tag$ … $tag$ (not $1)
      let j = i + 1;
      if (j < n && isIdentStart(text.charCodeAt(j))) {
        j++;
        while (j < n && isIdentChar(text.charCodeAt(j)) && text.charCodeAt(j) !== 36) j++;
      }
      if (j < n && text.charCodeAt(j) === 36) {
        const tag = text.slice(i, j + 1);
        const end = text.indexOf(tag, j + 1);
        i = end < 0 ? n : end + tag.length;
        continue;
      }
      i++;
      continue;
    }
    if (c === 40 || c === 91) {
      open(OPEN);
      i++;
    } else if (c === 41 || c === 93) {
      while (kind === CASE && stack.length > 0) close();
      close();
      i++;
    } else if (c === 44) {
      chain = 0;
      i++;
    } else if (c === 59) {
      stack.length = 0;
      base = 1;
      chain = setops = joins = kind = 0;
      i++;
    } else if (c === 58 && i + 1 < n && text.charCodeAt(i + 1) === 58) {
      chain++;
      i += 2;
    } else if (isOpChar(c)) {
      chain++;
      i++;
      while (i < n && isOpChar(text.charCodeAt(i))) i++;
    } else if (isIdentStart(c)) {
      const start = i;
      i++;
      while (i < n && isIdentChar(text.charCodeAt(i))) i++;
      switch (wordClass(text, start, i)) {
        case CHAIN:
          chain++;
          break;
        case RESET:
          chain = 0;
          break;
        case SETOP:
          setops++;
          break;
        case JOIN:
          joins++;
          break;
        case CASE_WORD:
          open(CASE);
          break;
        case END_WORD:
          if (kind === CASE) close();
          break;
      }
    } else i++;
    const d = base + chain + setops + joins;
    if (d > max) {
      max = d;
      if (max > limit) return max;
    }
  }
  return max;
}
