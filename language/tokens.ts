// Token definitions of the .pam language (spec/language.md §1). Every token has a `label`,
// used in messages ("expected a string, found `port`").
//
// Categories:
//   Word        anything spelled like an identifier (identifiers, soft keywords, reserved words)
//   Ident       what a rule position expecting an identifier accepts: plain identifiers and the
//               soft keywords (`allow set on search_path`, a table named `target`)
//   Reserved    the reserved words, which are never identifiers

import { createToken, Lexer, type TokenType } from 'chevrotain';

export const Word = createToken({ name: 'Word', pattern: Lexer.NA, label: 'a word' });
export const Ident = createToken({ name: 'Ident', pattern: Lexer.NA, label: 'an identifier', categories: [Word] });
export const Reserved = createToken({ name: 'Reserved', pattern: Lexer.NA, label: 'a reserved word', categories: [Word] });

export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_$]*/,
  label: 'an identifier',
  categories: [Ident],
});

/** The reserved words (spec §1): never identifiers. */
export const RESERVED_WORDS = [
  'allow',
  'deny',
  'approve',
  'mask',
  'limit',
  'when',
  'and',
  'by',
  'within',
  'quorum',
  'mode',
  'uses',
  'with',
  'on',
] as const;

/** Keywords that are ordinary identifiers wherever an identifier is expected. */
export const SOFT_KEYWORDS = [
  'policy',
  'identity',
  'target',
  'set',
  'group',
  'issuer',
  'audience',
  'jwks',
  'file',
  'url',
  'groups',
  'agent',
  'claim',
  'algorithms',
  'clock_skew',
  'host',
  'port',
  'database',
  'server',
  'listen',
  'login',
  'user',
  'tls',
  'upstream',
  'embedded',
  'seed',
  'search_path',
  'masking',
  'env',
  'cert',
  'key',
  'ca',
  'hash_key',
  'rows',
  'not',
  'during',
  'tz',
  'in',
  // audit and approvals blocks
  'audit',
  'approvals',
  'dir',
  'rotate',
  'size',
  'every',
  'checkpoint',
  'records',
  'on_failure',
  'forward',
  'token',
  'webhook',
  'secret',
  'format',
  'api',
] as const;

export type ReservedWord = (typeof RESERVED_WORDS)[number];
export type SoftKeyword = (typeof SOFT_KEYWORDS)[number];

function tokenName(word: string): string {
  return 'Kw_' + word;
}

const keywordTokens = new Map<string, TokenType>();
for (const w of RESERVED_WORDS) {
  keywordTokens.set(
    w,
    createToken({ name: tokenName(w), pattern: new RegExp(w), label: `\`${w}\``, longer_alt: Identifier, categories: [Reserved] }),
  );
}
for (const w of SOFT_KEYWORDS) {
  keywordTokens.set(
    w,
    createToken({ name: tokenName(w), pattern: new RegExp(w), label: `\`${w}\``, longer_alt: Identifier, categories: [Ident] }),
  );
}

/** The token of a keyword. */
export function kw(word: ReservedWord | SoftKeyword): TokenType {
  const t = keywordTokens.get(word);
  if (t === undefined) throw new Error(`no keyword ${word}`);
  return t;
}

export const Allow = kw('allow');
export const Deny = kw('deny');
export const Approve = kw('approve');
export const Mask = kw('mask');
export const Limit = kw('limit');
export const When = kw('when');
export const And = kw('and');
export const By = kw('by');
export const Within = kw('within');
export const Quorum = kw('quorum');
export const Mode = kw('mode');
export const Uses = kw('uses');
export const With = kw('with');
export const On = kw('on');

export const Policy = kw('policy');
export const Identity = kw('identity');
export const Target = kw('target');
export const SetKw = kw('set');
export const Group = kw('group');
export const Issuer = kw('issuer');
export const Audience = kw('audience');
export const Jwks = kw('jwks');
export const File = kw('file');
export const Url = kw('url');
export const Groups = kw('groups');
export const Agent = kw('agent');
export const Claim = kw('claim');
export const Algorithms = kw('algorithms');
export const ClockSkew = kw('clock_skew');
export const Host = kw('host');
export const Port = kw('port');
export const Database = kw('database');
export const Server = kw('server');
export const Listen = kw('listen');
export const Login = kw('login');
export const User = kw('user');
export const Tls = kw('tls');
export const Upstream = kw('upstream');
export const Embedded = kw('embedded');
export const Seed = kw('seed');
export const SearchPath = kw('search_path');
export const Masking = kw('masking');
export const Env = kw('env');
export const Cert = kw('cert');
export const Key = kw('key');
export const Ca = kw('ca');
export const HashKey = kw('hash_key');
export const Rows = kw('rows');
export const Not = kw('not');
export const During = kw('during');
export const Tz = kw('tz');
export const In = kw('in');
export const Audit = kw('audit');
export const Approvals = kw('approvals');
export const Dir = kw('dir');
export const Rotate = kw('rotate');
export const Size = kw('size');
export const Every = kw('every');
export const Checkpoint = kw('checkpoint');
export const Records = kw('records');
export const OnFailure = kw('on_failure');
export const Forward = kw('forward');
export const Token = kw('token');
export const Webhook = kw('webhook');
export const Secret = kw('secret');
export const Format = kw('format');
export const Api = kw('api');

// Literals. Malformed forms still lex as the literal they resemble (and the lexer reports
// PAM0009), so one bad literal does not also produce a parse error.

/** `"…"`; an unterminated string runs to the end of its line (PAM0002). */
export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"(?:[^"\\\n\r]|\\[^\n\r]?)*"?/,
  label: 'a string',
});

/** `09:00`; any `digits:digits` lexes as a time of day and is checked afterwards. */
export const TimeLiteral = createToken({ name: 'TimeLiteral', pattern: /[0-9]+:[0-9]+/, label: 'a time of day' });

/** `15m`, `1h30m`; digits followed by letters lex as a duration and are checked afterwards. */
export const DurationLiteral = createToken({
  name: 'DurationLiteral',
  pattern: /[0-9]+[A-Za-z_][A-Za-z0-9_$]*/,
  label: 'a duration',
});

/**
 * `64MiB`, `512KiB`, `1GiB`, `4096B`. Anything spelled like a size (`64MB`, `10kb`) lexes as one
 * and is checked afterwards; a longer word (`64MiBx`) is a duration, as before.
 */
export const SizeLiteral = createToken({
  name: 'SizeLiteral',
  pattern: /[0-9]+(?:[KMGTkmgt]i?[Bb]|[Bb])/,
  label: 'a size',
  longer_alt: DurationLiteral,
});

export const IntegerLiteral = createToken({ name: 'IntegerLiteral', pattern: /[0-9]+/, label: 'an integer' });

// Punctuation

export const LCurly = createToken({ name: 'LCurly', pattern: /\{/, label: '`{`' });
export const RCurly = createToken({ name: 'RCurly', pattern: /\}/, label: '`}`' });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: '`[`' });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/, label: '`]`' });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: '`(`' });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: '`)`' });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: '`,`' });
export const Dot = createToken({ name: 'Dot', pattern: /\./, label: '`.`' });
export const Colon = createToken({ name: 'Colon', pattern: /:/, label: '`:`' });
export const NotEquals = createToken({ name: 'NotEquals', pattern: /!=/, label: '`!=`' });
export const Equals = createToken({ name: 'Equals', pattern: /=/, label: '`=`' });
export const Minus = createToken({ name: 'Minus', pattern: /-/, label: '`-`' });
export const Star = createToken({ name: 'Star', pattern: /\*/, label: '`*`' });

// Trivia

export const Comment = createToken({ name: 'Comment', pattern: /#[^\n\r]*/, label: 'a comment', group: 'comments' });
export const Whitespace = createToken({
  name: 'Whitespace',
  pattern: /[ \t\r\n]+/,
  label: 'whitespace',
  group: Lexer.SKIPPED,
  line_breaks: true,
});

// Keywords are tried longest first, so `groups` is not read as `group` + `s`; each falls back to
// Identifier through `longer_alt` when the word goes on (`policyx`).
const keywordsLongestFirst = [...keywordTokens.entries()]
  .sort((a, b) => b[0].length - a[0].length || (a[0] < b[0] ? -1 : 1))
  .map(([, t]) => t);

/** The lexer's token types, in matching order. */
export const lexerTokens: TokenType[] = [
  Whitespace,
  Comment,
  StringLiteral,
  TimeLiteral,
  SizeLiteral,
  DurationLiteral,
  IntegerLiteral,
  ...keywordsLongestFirst,
  Identifier,
  LCurly,
  RCurly,
  LBracket,
  RBracket,
  LParen,
  RParen,
  Comma,
  Dot,
  Colon,
  NotEquals,
  Equals,
  Minus,
  Star,
];

/** Every token type the parser knows, categories included. */
export const allTokens: TokenType[] = [Word, Ident, Reserved, ...lexerTokens];

const reservedSet = new Set<string>(RESERVED_WORDS);
const softSet = new Set<string>(SOFT_KEYWORDS);

export function isReservedWord(word: string): boolean {
  return reservedSet.has(word);
}

export function isSoftKeyword(word: string): boolean {
  return softSet.has(word);
}

/** Whether `word` can be written as a bare identifier. */
export function isBareIdentifier(word: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(word) && !reservedSet.has(word);
}
