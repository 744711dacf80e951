import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeString, durationValue, lex, quoteString, timeValue } from '../../../language/lexer.ts';
import { RESERVED_WORDS, SOFT_KEYWORDS } from '../../../language/tokens.ts';
import { sortDiagnostics } from '../../../language/diagnostic.ts';
import { showDiagnostics, unmark } from './markers.ts';

function kinds(text: string): string[] {
  return lex(text, 't.pam').tokens.map((t) => `${t.tokenType.name}:${t.image}`);
}

function lexErrors(marked: string, codes: string[]): void {
  const { text, spans } = unmark(marked);
  const r = lex(text, 't.pam');
  const got = showDiagnostics(text, sortDiagnostics(r.diagnostics));
  const want = codes.map((c, i) => showDiagnostics(text, [{ code: c, span: spans[i], severity: 'error', message: '', file: '' }])[0]);
  assert.equal(got, want);
}

test('identifiers', () => {
  assert.equal(kinds('a _b c9 d_e$f Orders'), [
    'Identifier:a',
    'Identifier:_b',
    'Identifier:c9',
    'Identifier:d_e$f',
    'Identifier:Orders',
  ]);
});

test('every reserved word is its own token, not an identifier', () => {
  for (const w of RESERVED_WORDS) assert.equal(kinds(w), [`Kw_${w}:${w}`]);
});

test('every soft keyword is its own token', () => {
  for (const w of SOFT_KEYWORDS) assert.equal(kinds(w), [`Kw_${w}:${w}`]);
});

test('keywords are whole words: a longer word is an identifier', () => {
  assert.equal(kinds('groups group grouping policyx onx in index notable'), [
    'Kw_groups:groups',
    'Kw_group:group',
    'Identifier:grouping',
    'Identifier:policyx',
    'Identifier:onx',
    'Kw_in:in',
    'Identifier:index',
    'Identifier:notable',
  ]);
});

test('keywords are case sensitive', () => {
  assert.equal(kinds('Allow ON'), ['Identifier:Allow', 'Identifier:ON']);
});

test('strings and escapes', () => {
  assert.equal(kinds('"a" "" "x y"'), ['StringLiteral:"a"', 'StringLiteral:""', 'StringLiteral:"x y"']);
  assert.is(decodeString('"a\\"b\\\\c\\nd\\te"').value, 'a"b\\c\nd\te');
  assert.is(decodeString('"\\u{41}\\u{1F600}\\u{e9}"').value, 'A😀é');
  assert.equal(decodeString('"ok"').problems, []);
  assert.equal(lex('"a\\"b\\\\c\\nd\\te\\u{41}"', 't').diagnostics, []);
});

test('strings are printed with canonical escapes', () => {
  assert.is(quoteString('a"b\\c\nd\te'), '"a\\"b\\\\c\\nd\\te"');
  assert.is(quoteString('\u0001é😀'), '"\\u{1}é😀"');
  for (const s of ['', 'plain', 'a"b', '\\', '\n\t', '\u0000\u007f\u2028', 'ünïcödé']) {
    assert.is(decodeString(quoteString(s)).value, s);
  }
});

test('integers, durations and times', () => {
  assert.equal(kinds('0 42 10000 15m 1h30m 500ms 2d 90s 09:00 24:00'), [
    'IntegerLiteral:0',
    'IntegerLiteral:42',
    'IntegerLiteral:10000',
    'DurationLiteral:15m',
    'DurationLiteral:1h30m',
    'DurationLiteral:500ms',
    'DurationLiteral:2d',
    'DurationLiteral:90s',
    'TimeLiteral:09:00',
    'TimeLiteral:24:00',
  ]);
  assert.is(durationValue('15m').ms, 900_000);
  assert.is(durationValue('1h30m').ms, 5_400_000);
  assert.is(durationValue('500ms').ms, 500);
  assert.is(durationValue('2d').ms, 172_800_000);
  assert.is(durationValue('1m30s').ms, 90_000);
  assert.is(timeValue('09:30').minutes, 570);
  assert.is(timeValue('24:00').minutes, 1440);
  assert.equal(lex('0 42 15m 1h30m 500ms 2d 09:00 24:00 00:00 23:59', 't').diagnostics, []);
});

test('punctuation', () => {
  assert.equal(kinds('{ } [ ] ( ) , . : = != - *'), [
    'LCurly:{',
    'RCurly:}',
    'LBracket:[',
    'RBracket:]',
    'LParen:(',
    'RParen:)',
    'Comma:,',
    'Dot:.',
    'Colon::',
    'Equals:=',
    'NotEquals:!=',
    'Minus:-',
    'Star:*',
  ]);
  assert.equal(kinds('mon-fri 09:00-17:00 public.*'), [
    'Identifier:mon',
    'Minus:-',
    'Identifier:fri',
    'TimeLiteral:09:00',
    'Minus:-',
    'TimeLiteral:17:00',
    'Identifier:public',
    'Dot:.',
    'Star:*',
  ]);
});

test('comments are kept apart from the tokens', () => {
  const r = lex('allow # a comment\r\n# another\nx #', 't');
  assert.equal(
    r.tokens.map((t) => t.image),
    ['allow', 'x'],
  );
  assert.equal(
    r.comments.map((t) => t.image),
    ['# a comment', '# another', '#'],
  );
  assert.equal(kinds('"# not a comment"'), ['StringLiteral:"# not a comment"']);
});

test('whitespace: spaces, tabs, newlines, CRLF', () => {
  assert.equal(kinds(' \ta\r\n\r\nb\n'), ['Identifier:a', 'Identifier:b']);
});

test('offsets are UTF-16 offsets into the text', () => {
  const r = lex('"é😀" x', 't');
  assert.is(r.tokens[1].startOffset, 6);
});

// --- lexical errors

test('PAM0001 unexpected characters, and lexing goes on', () => {
  lexErrors('allow ⟦@⟧ read', ['PAM0001']);
  lexErrors('a ⟦;⟧ b ⟦%%⟧ c', ['PAM0001', 'PAM0001']);
  lexErrors('caf⟦é⟧', ['PAM0001']);
  lexErrors("host ⟦'⟧x⟦'⟧", ['PAM0001', 'PAM0001']);
  lexErrors('a ⟦!⟧ b', ['PAM0001']);
  const r = lex('a @ b', 't');
  assert.equal(
    r.tokens.map((t) => t.image),
    ['a', 'b'],
  );
  assert.match(r.diagnostics[0].message, 'unexpected character `@`');
});

test('PAM0001 help for common mistakes', () => {
  assert.match(lex("'x'", 't').diagnostics[0].help ?? '', 'double quotes');
  assert.match(lex('a ! b', 't').diagnostics[0].help ?? '', '!=');
  assert.match(lex('// c', 't').diagnostics[0].help ?? '', '#');
});

test('PAM0001 shows control characters escaped', () => {
  const d = lex('a \u0001 b', 't').diagnostics[0];
  assert.is(d.message, 'unexpected character `\\u{1}`');
});

test('PAM0002 unterminated string: from the quote to the end of the line', () => {
  lexErrors('host ⟦"orders.internal⟧\nport 5', ['PAM0002']);
  lexErrors('host ⟦"abc\\"⟧\n', ['PAM0002']);
  lexErrors('policy ⟦"x⟧', ['PAM0002']);
  lexErrors('policy ⟦"x\\⟧', ['PAM0002']);
  lexErrors('policy ⟦"⟧\r\nx', ['PAM0002']);
  // the string token is still there, so parsing goes on without a second error
  assert.equal(kinds('host "abc\nport 5').slice(0, 3), ['Kw_host:host', 'StringLiteral:"abc', 'Kw_port:port']);
});

test('PAM0003 invalid escapes', () => {
  lexErrors('"a⟦\\q⟧b"', ['PAM0003']);
  lexErrors('"⟦\\u⟧41"', ['PAM0003']);
  lexErrors('"⟦\\u{D800}⟧"', ['PAM0003']);
  lexErrors('"⟦\\u{110000}⟧"', ['PAM0003']);
  lexErrors('"⟦\\x⟧⟦\\0⟧"', ['PAM0003', 'PAM0003']);
  lexErrors('"⟦\\u{}⟧"', ['PAM0003']);
});

test('PAM0009 malformed literals', () => {
  lexErrors('⟦25:61⟧', ['PAM0009']);
  lexErrors('⟦24:01⟧ ⟦9:00⟧ ⟦09:000⟧', ['PAM0009', 'PAM0009', 'PAM0009']);
  lexErrors('⟦99999999999999999⟧', ['PAM0009']);
  lexErrors('9007199254740991 ⟦9007199254740993⟧', ['PAM0009']);
  lexErrors('⟦15min⟧ ⟦30m1h⟧ ⟦1h1h⟧ ⟦12abc⟧ ⟦5y⟧', ['PAM0009', 'PAM0009', 'PAM0009', 'PAM0009', 'PAM0009']);
  lexErrors('⟦99999999999999999d⟧', ['PAM0009']);
});

test('several lexical errors in one run, in order', () => {
  lexErrors('⟦@⟧ ⟦"x⟦\\q⟧⟧\n⟦25:99⟧ ⟦"abc⟧', ['PAM0001', 'PAM0002', 'PAM0003', 'PAM0009', 'PAM0002']);
});

test.run();
