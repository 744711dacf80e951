// The `.pamtest` front end (spec/testing.md): text or bytes in, a TestFile and diagnostics out.
//
// A hand-written recursive-descent parser rather than Chevrotain: the grammar is a dozen
// statements, each decided by its first word, so a few lines per statement give messages that
// name the statement being written (`expected a group name (a string) after `groups``), and
// recovery can use the layout people write tests in — after a mistake, skip to the next line
// that starts a statement, or to the `}` that closes the block — and read a misspelt keyword as
// the keyword it resembles, so one typo is one diagnostic. Codes are PAM5001–PAM5099; nothing
// here throws on user input, and the work is linear in the size of the text.

import { diagnostic, sortDiagnostics, type Diagnostic, type Related, type Span } from './diagnostic.ts';
import { showText } from './lexer.ts';
import { nearestWord } from './parser.ts';
import { decodeSource, readSource, textTooLarge, tooLargeText } from './source.ts';
import { lexTestFile, showToken, type Token } from './test-file-lexer.ts';
import {
  emptySetup,
  type ClaimScalar,
  type ClaimValue,
  type ExpectedEffect,
  type ExpectedMask,
  type ExpectedStrategy,
  type RuleRef,
  type Setup,
  type TestCase,
  type TestFile,
  type TestString,
} from './test-file-ast.ts';

export type * from './test-file-ast.ts';

export interface TestParseResult {
  file: TestFile;
  diagnostics: Diagnostic[];
}

/** The parser stops after this many errors (PAM5008). */
export const MAX_TEST_ERRORS = 100;

const TOP_KEYWORDS = ['policy', 'defaults', 'case'] as const;
const SETUP_KEYWORDS = ['groups', 'claim', 'agent', 'target', 'at', 'no'] as const;
const CASE_KEYWORDS = ['sql', 'expect', 'masks', 'limit', 'rule'] as const;
const STATEMENT_KEYWORDS: readonly string[] = [...SETUP_KEYWORDS, ...CASE_KEYWORDS];
const ALL_KEYWORDS: readonly string[] = [...TOP_KEYWORDS, ...STATEMENT_KEYWORDS];
const STRATEGIES = ['redact', 'null', 'hash', 'email', 'keep_first', 'keep_last'] as const;

/** Thrown (internally only) when the error limit is reached. */
class Stop extends Error {}

function span(start: number, end: number): Span {
  return { start, end };
}

/** `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)` → milliseconds, or null when malformed or impossible. */
export function parseInstant(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const s = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > daysInMonth) return null;
  let offset = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset;
  return Number.isFinite(t) ? t : null;
}

/** `policy.pam:42` or `policies/a.pam:42:5` → its parts, or null. */
export function parseRuleLocation(text: string): { file: string; line: number; column: number | null } | null {
  const m = /^(.+?):([1-9][0-9]{0,8})(?::([1-9][0-9]{0,8}))?$/.exec(text);
  if (!m || m[1].trim() !== m[1]) return null;
  return { file: m[1], line: Number(m[2]), column: m[3] === undefined ? null : Number(m[3]) };
}

/** PostgreSQL folding: unquoted identifiers to lower case; quote a part unless it is bare. */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

function parseTokens(text: string, path: string): TestParseResult {
  const lexed = lexTestFile(text, path);
  const tokens = lexed.tokens;
  const diagnostics: Diagnostic[] = [...lexed.diagnostics];
  let errors = lexed.diagnostics.length;
  let pos = 0;
  let policy: TestString | null = null;
  let defaults: TestFile['defaults'] = null;
  const cases: TestCase[] = [];
  const caseNames = new Map<string, TestString>();

  const peek = (k = 0): Token => tokens[Math.min(pos + k, tokens.length - 1)];
  const next = (): Token => {
    const t = tokens[pos];
    if (pos < tokens.length - 1) pos++;
    return t;
  };
  const isWord = (t: Token, w: string) => t.kind === 'word' && t.image === w;
  const isPunct = (t: Token, p: string) => t.kind === 'punct' && t.image === p;
  const prev = (): Token => tokens[Math.max(0, pos - 1)];

  function report(code: string, s: Span, message: string, extra: { help?: string; related?: Related[] } = {}, severity: 'error' | 'warning' = 'error') {
    diagnostics.push(diagnostic(code, severity, path, s, message, extra));
    if (severity === 'error' && ++errors >= MAX_TEST_ERRORS) throw new Stop();
  }

  function expected(what: string, after: string | null, help?: string): void {
    const t = peek();
    const s = t.kind === 'eof' ? span(t.start, t.start) : span(t.start, t.end);
    const where = after === null ? '' : ` after \`${after}\``;
    report('PAM5010', s, `expected ${what}${where}, found ${showToken(t)}`, help === undefined ? {} : { help });
  }

  function didYouMean(word: string, candidates: readonly string[]): string | undefined {
    const near = nearestWord(word, candidates);
    return near === undefined || near === word ? undefined : `did you mean \`${near}\`?`;
  }

  /** A keyword a misspelt word most likely stands for. */
  function keywordFor(t: Token, candidates: readonly string[]): string | undefined {
    if (t.kind !== 'word') return undefined;
    if (candidates.includes(t.image)) return t.image;
    const near = nearestWord(t.image, candidates);
    return near !== undefined && near !== t.image ? near : undefined;
  }

  /** Skips to where a statement may start: `}`, the end, or a line that starts with a keyword. */
  function skipStatement(): void {
    let depth = 0;
    while (peek().kind !== 'eof') {
      const t = peek();
      if (depth === 0 && isPunct(t, '}')) return;
      if (depth === 0 && t.first && pos > 0 && keywordFor(t, ALL_KEYWORDS) !== undefined) return;
      if (isPunct(t, '{')) depth++;
      else if (isPunct(t, '}')) depth--;
      next();
    }
  }

  /** Skips to the next line that starts with `policy`, `defaults` or `case`, over whole blocks. */
  function skipItem(): void {
    let depth = 0;
    next();
    while (peek().kind !== 'eof') {
      const t = peek();
      if (depth === 0 && t.first && keywordFor(t, TOP_KEYWORDS) !== undefined) return;
      if (isPunct(t, '{')) depth++;
      else if (isPunct(t, '}')) depth = Math.max(0, depth - 1);
      next();
    }
  }

  function str(): TestString {
    const t = next();
    return { value: t.value, span: span(t.start, t.end) };
  }

  /** `"a", "b", …` after a keyword; null (reported) when the first string is missing. */
  function stringList(what: string, after: string, help?: string): TestString[] | null {
    if (peek().kind !== 'string') {
      expected(what, after, help);
      return null;
    }
    const out = [str()];
    while (isPunct(peek(), ',')) {
      next();
      if (peek().kind !== 'string') {
        expected(what, ',');
        return null;
      }
      out.push(str());
    }
    return out;
  }

  function numberValue(t: Token, integer: boolean, what: string): number | null {
    const v = Number(t.image);
    if (integer && !/^[0-9]+$/.test(t.image)) {
      report('PAM5013', span(t.start, t.end), `\`${showText(t.image)}\` is not ${what}`, { help: 'write a whole number such as `1000`' });
      return null;
    }
    if (!Number.isFinite(v) || (/^-?[0-9]+$/.test(t.image) && !Number.isSafeInteger(v))) {
      report('PAM5013', span(t.start, t.end), `number \`${showText(t.image)}\` is too large`);
      return null;
    }
    return v;
  }

  function scalar(): ClaimScalar | undefined {
    const t = peek();
    if (t.kind === 'string') return next().value;
    if (t.kind === 'number') {
      next();
      return numberValue(t, false, 'a number') ?? undefined;
    }
    if (isWord(t, 'true') || isWord(t, 'false')) return next().image === 'true';
    expected('a claim value (a string, a number, `true`, `false` or `[…]`)', null, t.kind === 'word' ? `strings are quoted: \`"${showText(t.image)}"\`` : undefined);
    return undefined;
  }

  function claimValue(): ClaimValue | undefined {
    if (!isPunct(peek(), '[')) return scalar();
    next();
    const items: ClaimScalar[] = [];
    if (isPunct(peek(), ']')) {
      next();
      return items;
    }
    for (;;) {
      const v = scalar();
      if (v === undefined) return undefined;
      items.push(v);
      if (isPunct(peek(), ',')) {
        next();
        continue;
      }
      if (isPunct(peek(), ']')) {
        next();
        return items;
      }
      expected('`,` or `]`', null);
      return undefined;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Statements. Each returns false when it reported a syntax error (the caller then skips).

  type Slot = { span: Span } | undefined;
  function once(existing: Slot, what: string, at: Span): void {
    if (existing === undefined) return;
    report('PAM5023', at, `${what} is given more than once`, {
      related: [{ file: path, span: existing.span, message: 'first given here' }],
      help: 'keep one',
    });
  }

  function setupStatement(keyword: string, kwToken: Token, setup: Setup, c: TestCase | null, inDefaults: boolean): boolean {
    switch (keyword) {
      case 'groups': {
        const values = stringList('a group name (a string)', 'groups', peek().kind === 'word' ? `group names are strings: \`groups "${showText(peek().image)}"\`` : undefined);
        if (values === null) return false;
        const s = span(kwToken.start, prev().end);
        once(setup.groups, '`groups`', s);
        setup.groups = { values, span: s };
        return true;
      }
      case 'claim': {
        if (peek().kind !== 'string') {
          expected('a claim name (a string)', 'claim', peek().kind === 'word' ? `claim names are strings: \`claim "${showText(peek().image)}" = …\`` : undefined);
          return false;
        }
        const name = str();
        if (!isPunct(peek(), '=')) {
          expected('`=`', `claim "${showText(name.value)}"`);
          return false;
        }
        next();
        const value = claimValue();
        if (value === undefined) return false;
        const s = span(kwToken.start, prev().end);
        const earlier = setup.claims.find((x) => x.name.value === name.value);
        once(earlier, `claim \`${showText(name.value)}\``, s);
        setup.claims.push({ name, value, span: s });
        return true;
      }
      case 'agent': {
        if (peek().kind !== 'string') {
          expected('the agent (a string)', 'agent');
          return false;
        }
        const a = str();
        once(setup.agent, '`agent`', span(kwToken.start, a.span.end));
        setup.agent = a;
        return true;
      }
      case 'target': {
        const t = peek();
        if (t.kind !== 'word' && t.kind !== 'string') {
          expected('a target name', 'target');
          return false;
        }
        next();
        const s = span(kwToken.start, t.end);
        once(setup.target, '`target`', s);
        setup.target = { value: t.value, quoted: t.kind === 'string', span: span(t.start, t.end) };
        return true;
      }
      case 'at': {
        if (peek().kind !== 'string') {
          expected('a date and time (a string such as `"2026-11-25T10:00:00Z"`)', 'at');
          return false;
        }
        const a = str();
        const ms = parseInstant(a.value);
        if (ms === null) {
          const shaped = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/.test(a.value);
          report('PAM5025', a.span, shaped ? `\`${showText(a.value)}\` is not a valid date and time` : `\`${showText(a.value)}\` is not a date and time with a time zone`, {
            help: 'write ISO 8601 with `Z` or an offset: `"2026-11-25T10:00:00Z"`, `"2026-11-25T22:30:00+01:00"`',
          });
          return true;
        }
        once(setup.at, '`at`', span(kwToken.start, a.span.end));
        setup.at = { ms, text: a.value, span: a.span };
        return true;
      }
      case 'no': {
        const w = peek();
        const options = inDefaults ? ['groups', 'claim', 'claims'] : ['groups', 'claim', 'claims', 'masks', 'limit'];
        const word = w.kind === 'word' ? w.image : '';
        if (!['groups', 'claim', 'claims', 'masks', 'limit'].includes(word)) {
          const near = w.kind === 'word' ? didYouMean(w.image, options) : undefined;
          expected('`groups`, `claim`, `claims`, `masks` or `limit`', 'no', near);
          return false;
        }
        next();
        const s = span(kwToken.start, w.end);
        if (word === 'groups') {
          once(setup.groups, '`groups`', s);
          setup.groups = { values: [], span: s };
          return true;
        }
        if (word === 'claims') {
          once(setup.noClaims === undefined ? undefined : { span: setup.noClaims }, '`no claims`', s);
          setup.noClaims = s;
          return true;
        }
        if (word === 'claim') {
          if (peek().kind !== 'string') {
            expected('a claim name (a string)', 'no claim');
            return false;
          }
          setup.removedClaims.push(str());
          return true;
        }
        if (c === null) {
          report('PAM5014', s, `\`no ${word}\` belongs in a case, not in \`defaults\``);
          return true;
        }
        if (word === 'masks') {
          once(c.masks, 'the masks', s);
          c.masks = { masks: [], span: s };
        } else {
          once(c.limit, 'the row limit', s);
          c.limit = { rows: null, span: s };
        }
        return true;
      }
    }
    return true;
  }

  function strategy(): ExpectedStrategy | null {
    const t = peek();
    if (t.kind !== 'word') {
      expected('a mask strategy such as `redact` or `keep_last(4)`', 'with');
      return null;
    }
    next();
    let n: number | null = null;
    let argSpan: Span | null = null;
    if (isPunct(peek(), '(')) {
      const open = next();
      const num = peek();
      if (num.kind !== 'number') {
        expected('a count', '(');
        return null;
      }
      next();
      if (!isPunct(peek(), ')')) {
        expected('`)`', null);
        return null;
      }
      const close = next();
      argSpan = span(open.start, close.end);
      n = numberValue(num, true, 'a count of characters');
      if (n === null) return { name: 'redact' };
    }
    const name = t.image as (typeof STRATEGIES)[number];
    const whole = span(t.start, prev().end);
    if (!STRATEGIES.includes(name)) {
      const near = didYouMean(t.image, STRATEGIES);
      report('PAM5027', span(t.start, t.end), `unknown mask strategy \`${showText(t.image)}\``, {
        help: near ?? 'the strategies are `redact`, `null`, `hash`, `email`, `keep_first(N)` and `keep_last(N)`',
      });
      return { name: 'redact' };
    }
    if (name === 'keep_first' || name === 'keep_last') {
      if (n === null) {
        report('PAM5027', whole, `\`${name}\` needs a count of characters: \`${name}(4)\``);
        return { name, n: 0 };
      }
      if (n < 1) report('PAM5027', argSpan ?? whole, `\`${name}\` keeps at least one character`);
      return { name, n };
    }
    if (argSpan !== null) report('PAM5027', argSpan, `\`${name}\` takes no count`);
    return { name };
  }

  function mask(): ExpectedMask | null {
    const start = peek().start;
    const parts: { value: string; quoted: boolean; star: boolean; span: Span }[] = [];
    for (;;) {
      const t = peek();
      if (t.kind === 'word' || t.kind === 'string' || isPunct(t, '*')) {
        next();
        parts.push({ value: t.value, quoted: t.kind === 'string', star: isPunct(t, '*'), span: span(t.start, t.end) });
      } else {
        expected(parts.length === 0 ? 'a masked column (`schema.table.column`)' : 'a name or `*`', parts.length === 0 ? null : '.');
        return null;
      }
      if (!isPunct(peek(), '.')) break;
      next();
    }
    const pathSpan = span(start, prev().end);
    if (!isWord(peek(), 'with')) {
      expected('`with` and the strategy', null);
      return null;
    }
    next();
    const s = strategy();
    if (s === null) return null;
    const whole = span(start, prev().end);
    const starInTable = parts.slice(0, -1).find((p) => p.star);
    if (parts.length !== 3 || starInTable !== undefined) {
      const shown = showText(parts.map((p) => (p.star ? '*' : p.quoted ? `"${p.value}"` : p.value)).join('.'));
      report('PAM5026', starInTable?.span ?? pathSpan, `a mask is written \`schema.table.column\`, found \`${shown}\``, {
        help: parts.length === 2 ? `qualify the table with its schema: \`public.${shown}\`` : 'decisions name relations with their schema, e.g. `public.customers.email`; `*` stands only for the column',
      });
      return { relation: '', column: '', strategy: s, span: whole };
    }
    const fold = (p: (typeof parts)[number]) => (p.quoted ? p.value : p.value.toLowerCase());
    return {
      relation: `${quoteIdent(fold(parts[0]))}.${quoteIdent(fold(parts[1]))}`,
      column: parts[2].star ? '*' : fold(parts[2]),
      strategy: s,
      span: whole,
    };
  }

  function caseStatement(keyword: string, kwToken: Token, c: TestCase): boolean {
    switch (keyword) {
      case 'sql': {
        const t = peek();
        if (t.kind !== 'string' && t.kind !== 'fence') {
          expected('the sql: a string `"…"` or fenced ```…```', 'sql');
          return false;
        }
        next();
        const s = span(kwToken.start, t.end);
        once(c.sql ?? undefined, '`sql`', s);
        if (t.value.trim() === '') report('PAM5029', span(t.start, t.end), 'the sql is empty');
        c.sql = { text: t.value, form: t.kind === 'fence' ? 'fence' : 'string', span: span(t.start, t.end) };
        return true;
      }
      case 'expect': {
        const t = peek();
        const effect = keywordFor(t, ['allow', 'deny', 'approve']);
        if (effect === undefined) {
          expected('`allow`, `deny` or `approve`', 'expect');
          return false;
        }
        if (effect !== t.image) {
          report('PAM5010', span(t.start, t.end), `expected \`allow\`, \`deny\` or \`approve\` after \`expect\`, found \`${showText(t.image)}\``, {
            help: `did you mean \`${effect}\`?`,
          });
        }
        next();
        let e: ExpectedEffect;
        if (effect === 'allow') e = { effect, span: span(kwToken.start, t.end) };
        else if (effect === 'deny') {
          let reason: 'no_rule' | 'forbidden' | null = null;
          if (isWord(peek(), 'forbidden')) {
            next();
            reason = 'forbidden';
          } else if (isWord(peek(), 'no') && isWord(peek(1), 'rule')) {
            next();
            next();
            reason = 'no_rule';
          }
          e = { effect, reason, span: span(kwToken.start, prev().end) };
        } else {
          let approvers: TestString[] | null = null;
          if (isWord(peek(), 'by')) {
            next();
            approvers = stringList('an approver group (a string)', 'by');
            if (approvers === null) return false;
          }
          e = { effect: 'approve', approvers, span: span(kwToken.start, prev().end) };
        }
        once(c.expect ?? undefined, '`expect`', e.span);
        c.expect = e;
        return true;
      }
      case 'masks': {
        const list: ExpectedMask[] = [];
        for (;;) {
          const m = mask();
          if (m === null) return false;
          const dup = list.find((x) => x.relation === m.relation && x.column === m.column && m.relation !== '');
          if (dup) {
            report('PAM5023', m.span, `the mask of \`${showText(`${m.relation}.${m.column}`)}\` is given more than once`, {
              related: [{ file: path, span: dup.span, message: 'first given here' }],
            });
          }
          list.push(m);
          if (!isPunct(peek(), ',')) break;
          next();
        }
        const s = span(kwToken.start, prev().end);
        once(c.masks, 'the masks', s);
        c.masks = { masks: list, span: s };
        return true;
      }
      case 'limit': {
        const t = peek();
        if (t.kind !== 'number') {
          expected('a number of rows', 'limit', isWord(t, 'rows') ? 'write `limit 1000` (the word `rows` is left out)' : undefined);
          return false;
        }
        next();
        const rows = numberValue(t, true, 'a number of rows');
        const s = span(kwToken.start, t.end);
        once(c.limit, 'the row limit', s);
        if (rows !== null && rows < 1) report('PAM5013', span(t.start, t.end), 'a row limit is at least 1', { help: 'write `no limit` for none' });
        c.limit = { rows: rows ?? 0, span: s };
        return true;
      }
      case 'rule': {
        const refs: RuleRef[] = [];
        for (;;) {
          const t = peek();
          if (isWord(t, 'baseline')) {
            next();
            refs.push({ kind: 'baseline', span: span(t.start, t.end) });
          } else if (t.kind === 'string') {
            next();
            const loc = parseRuleLocation(t.value);
            if (loc === null) {
              report('PAM5028', span(t.start, t.end), `\`${showText(t.value)}\` is not a rule location`, {
                help: 'write the policy file and line: `"policy.pam:42"` (or `"policy.pam:42:5"` with the column)',
              });
            } else refs.push({ kind: 'location', ...loc, text: t.value, span: span(t.start, t.end) });
          } else {
            expected(refs.length === 0 ? 'a rule location such as `"policy.pam:42"`, or `baseline`' : 'a rule location', refs.length === 0 ? 'rule' : ',');
            return false;
          }
          if (!isPunct(peek(), ',')) break;
          next();
        }
        const s = span(kwToken.start, prev().end);
        once(c.rules, '`rule`', s);
        c.rules = { refs, span: s };
        return true;
      }
    }
    return true;
  }

  /** The statements of a `{ … }` block, up to and including its `}`. */
  function block(open: Token, setup: Setup, c: TestCase | null, what: string): void {
    for (;;) {
      const t = peek();
      if (isPunct(t, '}')) {
        next();
        return;
      }
      if (t.kind === 'eof' || (t.first && t.kind === 'word' && (TOP_KEYWORDS as readonly string[]).includes(t.image))) {
        if (!(t.kind === 'eof' && lexed.unterminatedFence)) {
          report('PAM5012', t.kind === 'eof' ? span(t.start, t.start) : span(t.start, t.end), `expected \`}\` to close ${what}, found ${showToken(t)}`, {
            related: [{ file: path, span: span(open.start, open.end), message: `${what} opened here` }],
          });
        }
        return;
      }
      const allowed = c === null ? SETUP_KEYWORDS : STATEMENT_KEYWORDS;
      const keyword = keywordFor(t, STATEMENT_KEYWORDS);
      if (keyword === undefined) {
        const list = c === null ? '`groups`, `claim`, `agent`, `target`, `at` or `no`' : 'a statement such as `sql`, `expect`, `groups` or `target`';
        if (t.kind === 'word') {
          report('PAM5011', span(t.start, t.end), `unknown statement \`${showText(t.image)}\` in ${what}`, {
            help: `expected ${list}`,
          });
        } else expected(list, null, t.kind === 'string' || t.kind === 'fence' ? (c === null ? undefined : 'the sql is given with `sql`: `sql "SELECT …"`') : undefined);
        next();
        skipStatement();
        continue;
      }
      if (keyword !== t.image) {
        report('PAM5011', span(t.start, t.end), `unknown statement \`${showText(t.image)}\` in ${what}`, { help: `did you mean \`${keyword}\`?` });
      }
      const kwToken = next();
      if (c === null && !(allowed as readonly string[]).includes(keyword)) {
        report('PAM5014', span(kwToken.start, kwToken.end), `\`${keyword}\` belongs in a case, not in \`defaults\``, {
          help: '`defaults` holds who asks, where and when: `groups`, `claim`, `agent`, `target`, `at`',
        });
        const scratch: TestCase = newCase({ value: '', span: span(0, 0) }, span(0, 0));
        if (!caseStatement(keyword, kwToken, scratch)) skipStatement();
        continue;
      }
      const ok = (CASE_KEYWORDS as readonly string[]).includes(keyword)
        ? caseStatement(keyword, kwToken, c!)
        : setupStatement(keyword, kwToken, setup, c, c === null);
      if (!ok) skipStatement();
    }
  }

  function newCase(name: TestString, s: Span): TestCase {
    return { kind: 'Case', name, setup: emptySetup(), sql: null, expect: null, span: s };
  }

  function caseItem(kwToken: Token): void {
    let name: TestString;
    if (peek().kind === 'string') name = str();
    else {
      expected('the case\'s name (a string)', 'case', peek().kind === 'word' ? `names are strings: \`case "${showText(peek().image)}"\`` : undefined);
      if (peek().kind === 'word' && isPunct(peek(1), '{')) next();
      if (!isPunct(peek(), '{')) {
        skipItem();
        return;
      }
      name = { value: '', span: span(kwToken.start, kwToken.end) };
    }
    if (!isPunct(peek(), '{')) {
      expected('`{`', `case "${showText(name.value)}"`);
      skipItem();
      return;
    }
    const open = next();
    const c = newCase(name, span(kwToken.start, open.end));
    const errorsBefore = errors;
    block(open, c.setup, c, 'the case');
    c.span = span(kwToken.start, prev().end);
    // A case with a mistake inside may have lost its sql or expect to it: say nothing more.
    const clean =
      errors === errorsBefore && !lexed.diagnostics.some((d) => d.severity === 'error' && d.span.start >= c.span.start && d.span.start <= c.span.end);
    if (clean && c.sql === null) {
      report('PAM5021', span(kwToken.start, name.span.end), `case \`${showText(name.value)}\` has no \`sql\``, { help: 'add the sql to decide: `sql "SELECT …"`' });
    }
    if (clean && c.expect === null) {
      report('PAM5022', span(kwToken.start, name.span.end), `case \`${showText(name.value)}\` has no \`expect\``, { help: 'add the expected decision: `expect allow`, `expect deny` or `expect approve`' });
    }
    if (c.expect?.effect === 'deny') {
      const e = c.expect;
      if (c.masks !== undefined && c.masks.masks.length > 0) {
        report('PAM5024', c.masks.span, 'a denied query returns no rows: it has no masks', { help: 'write `no masks`, or leave the masks out' });
      }
      if (c.limit !== undefined && c.limit.rows !== null) {
        report('PAM5024', c.limit.span, 'a denied query returns no rows: it has no row limit', { help: 'write `no limit`, or leave the limit out' });
      }
      if (c.rules !== undefined && e.reason !== null) {
        report('PAM5024', c.rules.span, `a deny for ${e.reason === 'no_rule' ? '`no rule`' : '`forbidden`'} is decided by no rule`, {
          help: '`rule` names the deny rules of a denial by rule; leave it out here',
        });
      }
    }
    if (name.value !== '') {
      const first = caseNames.get(name.value);
      if (first) {
        report('PAM5020', name.span, `a case named \`${showText(name.value)}\` already exists`, {
          related: [{ file: path, span: first.span, message: 'first defined here' }],
          help: 'give every case of a file its own name',
        });
      } else caseNames.set(name.value, name);
    }
    cases.push(c);
  }

  function item(): void {
    const t = peek();
    const keyword = keywordFor(t, TOP_KEYWORDS);
    if (keyword === undefined) {
      const statement = t.kind === 'word' && STATEMENT_KEYWORDS.includes(t.image);
      expected('`policy`, `defaults` or `case`', null, statement ? `\`${t.image}\` belongs in a case or in \`defaults { … }\`` : undefined);
      skipItem();
      return;
    }
    if (keyword !== t.image) {
      report('PAM5010', span(t.start, t.end), `expected \`policy\`, \`defaults\` or \`case\`, found \`${showText(t.image)}\``, {
        help: `did you mean \`${keyword}\`?`,
      });
    }
    const kwToken = next();
    if (keyword === 'case') return caseItem(kwToken);
    if (keyword === 'policy') {
      if (peek().kind !== 'string') {
        expected('the policy under test (a string: a file or folder)', 'policy');
        skipItem();
        return;
      }
      const p = str();
      if (p.value.trim() === '') report('PAM5010', p.span, 'the policy path is empty');
      else {
        once(policy ?? undefined, '`policy`', span(kwToken.start, p.span.end));
        policy = p;
      }
      return;
    }
    // defaults
    if (!isPunct(peek(), '{')) {
      expected('`{`', 'defaults');
      skipItem();
      return;
    }
    const open = next();
    const setup = emptySetup();
    block(open, setup, null, '`defaults`');
    const s = span(kwToken.start, prev().end);
    if (defaults !== null) once(defaults, '`defaults`', span(kwToken.start, open.end));
    else defaults = { setup, span: s };
  }

  let stopped = false;
  try {
    if (errors >= MAX_TEST_ERRORS) throw new Stop();
    while (peek().kind !== 'eof') {
      const before = pos;
      item();
      if (pos === before) next();
    }
    if (cases.length === 0 && errors === 0) {
      diagnostics.push(
        diagnostic('PAM5030', 'warning', path, span(0, 0), 'the file holds no cases', { help: 'add one: `case "name" { sql "…"  expect deny }`' }),
      );
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    stopped = true;
  }
  const sorted = sortDiagnostics(diagnostics);
  const errorsOnly = sorted.filter((d) => d.severity === 'error');
  if (stopped || errorsOnly.length > MAX_TEST_ERRORS) {
    const kept = sorted.filter((d) => d.severity === 'error').slice(0, MAX_TEST_ERRORS);
    const at = kept[kept.length - 1]?.span.end ?? text.length;
    kept.push(
      diagnostic('PAM5008', 'error', path, span(at, at), `too many errors, stopped after ${MAX_TEST_ERRORS}`, { help: 'fix the errors above and run again' }),
    );
    return { file: { kind: 'TestFile', path, policy, defaults, cases, span: span(0, text.length) }, diagnostics: kept };
  }
  return { file: { kind: 'TestFile', path, policy, defaults, cases, span: span(0, text.length) }, diagnostics: sorted };
}

function emptyTestFile(path: string, length: number): TestFile {
  return { kind: 'TestFile', path, policy: null, defaults: null, cases: [], span: span(0, length) };
}

/** Parses the text of a `.pamtest` file. Never throws. */
export function parseTestFile(text: string, path: string): TestParseResult {
  if (textTooLarge(text)) {
    const d = tooLargeText(path, text);
    return { file: emptyTestFile(path, 0), diagnostics: [{ ...d, code: 'PAM5006', help: 'split the tests into several files' }] };
  }
  try {
    return parseTokens(text, path);
  } catch {
    return {
      file: emptyTestFile(path, text.length),
      diagnostics: [diagnostic('PAM5099', 'error', path, span(0, 0), 'internal error while parsing this test file', { help: 'please report it with the file' })],
    };
  }
}

/** The codes of source.ts's decoding problems, as a test file reports them. */
const SOURCE_CODES: Record<string, string> = { PAM0006: 'PAM5005', PAM0007: 'PAM5006', PAM0011: 'PAM5007', PAM0012: 'PAM5007' };

function renumber(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => ({ ...d, code: SOURCE_CODES[d.code] ?? d.code }));
}

/** Decodes (strict UTF-8, BOM stripped, 8 MiB limit) and parses a test file. Never throws. */
export function parseTestFileBytes(bytes: Uint8Array, path: string): TestParseResult & { text: string } {
  const decoded = decodeSource(bytes, path);
  if (!decoded.ok) return { file: emptyTestFile(path, decoded.text.length), diagnostics: renumber(decoded.diagnostics), text: decoded.text };
  return { ...parseTestFile(decoded.text, path), text: decoded.text };
}

/** Reads, decodes and parses a test file; `display` is the path diagnostics name. Never throws. */
export async function readTestFile(fullPath: string, display: string): Promise<TestParseResult & { text: string }> {
  const decoded = await readSource(fullPath);
  const diagnostics = renumber(decoded.diagnostics).map((d) => ({ ...d, file: display }));
  if (!decoded.ok) return { file: emptyTestFile(display, decoded.text.length), diagnostics, text: decoded.text };
  return { ...parseTestFile(decoded.text, display), text: decoded.text };
}
