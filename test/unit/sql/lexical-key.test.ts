// The lexical key (runtime/sql/lexical-key.ts) stands in for PostgreSQL's lexer on the texts it
// accepts: checked against libpg_query's own scanner on the corpus, on the corpus with its
// constants replaced, and on random texts built from the pieces that make lexers disagree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModule, normalizeSync, scanSync } from 'libpg-query';
import { lexicalKey } from '../../../runtime/sql/lexical-key.ts';
import { contextCases, corpus } from './corpus.ts';

await loadModule();

const PLACEHOLDER: Record<string, string> = { ICONST: '$i', FCONST: '$n', SCONST: '$s' };

/** The key PostgreSQL's scanner gives: each constant token replaced by its kind; null if it holds a token the key must not accept. */
function scannerKey(text: string): { key: string; constants: number[] } | null | 'error' {
  let tokens;
  try {
    tokens = scanSync(text).tokens;
  } catch {
    return 'error';
  }
  const bytes = Buffer.from(text, 'utf8');
  const at = (b: number): number => bytes.subarray(0, b).toString('utf8').length;
  let key = '';
  let from = 0;
  const constants: number[] = [];
  for (const t of tokens) {
    if (['BCONST', 'XCONST', 'USCONST', 'UIDENT', 'PARAM', 'SQL_COMMENT', 'C_COMMENT'].includes(t.tokenName)) return null;
    const placeholder = PLACEHOLDER[t.tokenName];
    if (placeholder === undefined) continue;
    const start = at(t.start);
    key += text.slice(from, start) + placeholder;
    from = at(t.end);
    constants.push(start);
  }
  return { key: key + text.slice(from), constants };
}

/** Asserts that a text the lexical key accepts gets the key PostgreSQL's scanner gives it. */
function agrees(text: string): boolean {
  const mine = lexicalKey(text);
  if (mine === null) return false;
  const theirs = scannerKey(text);
  assert.ok(theirs !== 'error', `PostgreSQL's scanner fails on ${JSON.stringify(text)}, which the lexical key accepts`);
  assert.equal({ key: mine.key, constants: mine.constants }, theirs, JSON.stringify(text));
  return true;
}

function variants(sql: string): string[] {
  let normalized: string;
  try {
    normalized = normalizeSync(sql);
  } catch {
    return [];
  }
  return ['0', '42', '2147483647', '2147483648', '0002147483647', '99999999999999999999', '1.5', '0.000', "''", "'it''s'", "'a\\'", "'\n'", "'é😀'", "'--'", "'/*'", '"q"']
    .map((k) => normalized.replace(/\$\d+/g, () => k));
}

test('on the corpus and its variants, the key is the one PostgreSQL\'s scanner gives, or none', () => {
  let accepted = 0;
  const texts = [...corpus.map((c) => c.sql), ...contextCases.map((c) => c.sql)];
  for (const sql of texts) {
    if (agrees(sql)) accepted++;
    for (const v of variants(sql)) if (agrees(v)) accepted++;
  }
  assert.ok(accepted > 1000, `${accepted} texts accepted: too few to say anything`);
});

/** Random texts of `count` pieces at most; asserts agreement on each the key accepts. Returns how many it accepted and their constants. */
function fuzz(pieces: string[], texts: number, seed: number): { accepted: number; constants: number } {
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  let accepted = 0;
  let constants = 0;
  for (let n = 0; n < texts; n++) {
    let text = '';
    const len = 1 + (next() % 12);
    for (let i = 0; i < len; i++) text += pieces[next() % pieces.length];
    if (agrees(text)) {
      accepted++;
      constants += lexicalKey(text)!.constants.length;
    }
  }
  return { accepted, constants };
}

test('on random texts made of the pieces lexers disagree on, the key is the scanner\'s or none', () => {
  const everything = [
    ' ', '\n', '\t', '\r', '\f', '\v', 'a', 'x', 'E', 'e', 'U', 'u', 'B', 'X', 'N', '_', '$', '$1', '$$', '0', '1', '9', '2147483648',
    '.', '..', '..5', '-', '+', '*', '/', '&', '|', '::', ':', ';', ',', '(', ')', '[', ']', "'", "''", '"', '""', '\\', '--', '/*',
    '*/', 'é', '😀', '\u0000', '{', '0x', '1_0', 'SELECT', 'FROM', 'UESCAPE', 'IS NULL', 'true',
  ];
  // few pieces, so that their combinations (a string, a newline, a string; a number, a dot, a letter) come up
  const constants = ["'", "''", "'a'", '\n', ' ', '1', '0', '.', 'e', '-', '"', 'x', '&', '+', '2147483647', '2147483648'];
  const a = fuzz(everything, 30000, 12345);
  const b = fuzz(constants, 30000, 54321);
  assert.ok(a.accepted > 1000 && a.constants > 500, `${a.accepted} texts accepted, ${a.constants} constants`);
  assert.ok(b.accepted > 2000 && b.constants > 1500, `${b.accepted} texts accepted, ${b.constants} constants`);
});

test('texts that differ only in constants of one kind share a key; other kinds, spacing or case do not', () => {
  const key = (s: string): string | undefined => lexicalKey(s)?.key;
  assert.is(key('SELECT * FROM t WHERE id = 1'), key('SELECT * FROM t WHERE id = 2147483647'));
  assert.is(key("SELECT * FROM t WHERE s = 'a'"), key("SELECT * FROM t WHERE s = 'it''s -- /* $$'"));
  assert.is(key('SELECT * FROM t WHERE x = 1.5'), key('SELECT * FROM t WHERE x = 2147483648'));
  const distinct = [
    'SELECT * FROM t WHERE id = 1',
    'SELECT * FROM t WHERE id = 1.0',
    "SELECT * FROM t WHERE id = '1'",
    'SELECT * FROM t WHERE id = "1"',
    'SELECT * FROM t WHERE id =  1',
    'select * from t where id = 1',
    'SELECT * FROM t WHERE id = 1;',
  ].map(key);
  assert.is(new Set(distinct).size, distinct.length, JSON.stringify(distinct));
  // the sign before a number is kept in the key; where it is, the first text's tree tells
  assert.equal(lexicalKey("SELECT x - 5, -6, 'a', 7 FROM t"), { key: 'SELECT x - $i, -$i, $s, $i FROM t', constants: [11, 15, 18, 23], signs: [9, 14, -1, -1] });
});

test('texts outside the subset the scanner reads have no lexical key', () => {
  for (const text of [
    "SELECT E'\\''",
    "SELECT e'a'",
    "SELECT B'101'",
    "SELECT X'ff'",
    "SELECT N'a'",
    "SELECT U&'d\\0061t\\+000061'",
    'SELECT U&"a" FROM t',
    'SELECT $$a$$',
    'SELECT $q$a$q$',
    'SELECT $1',
    'SELECT a$b FROM t',
    'SELECT 1 -- comment',
    'SELECT /* c */ 1',
    'SELECT 1e5',
    'SELECT 0x1F',
    'SELECT 0b101',
    'SELECT 1_000',
    'SELECT .5',
    'SELECT 5.',
    'SELECT 1..2',
    'SELECT 1a',
    "SELECT 'a'\n'b'",
    "SELECT 'a' 'b'",
    "SELECT 'unterminated",
    'SELECT "unterminated',
    'SELECT é FROM t',
    'SELECT 1\v',
    'SELECT \\x',
    'SELECT {1}',
    "SELECT 'a\u0000b'",
    "SELECT '\ud800'",
    'SELECT "" FROM t',
  ]) {
    assert.is(lexicalKey(text), null, JSON.stringify(text));
  }
});

test.run();
