// Bad input: the parser returns for anything, quickly, with sane diagnostics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Diagnostic } from '../../../language/diagnostic.ts';
import { formatPolicy, parsePolicy, parsePolicyBytes, type AnyNode } from '../../../language/index.ts';
import { lex } from '../../../language/lexer.ts';
import { stripPositions } from './helpers.ts';

/** mulberry32: a small seeded PRNG, so every run sees the same inputs */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<X>(rand: () => number, xs: readonly X[]): X {
  return xs[Math.floor(rand() * xs.length)];
}

const REALISTIC = `# crewai production — é
policy "crewai-production"

identity {
  issuer   "https://idp.example.com/"
  audience "pamc"
  jwks     file "keys/jwks.json"
  groups   claim "groups"
  agent    claim "agent"
}

target shop: postgres {
  host "orders.internal"  port 5432  database "shop"
  login user "pamc_gateway" password env "SHOP_DB_PASSWORD"
  tls require
  upstream tls verify-full ca "ca.pem"
  masking { copy deny hash_key env "K" }
}

set pii = [customers.email, customers.phone, customers.ssn, payments.card_number]

group "crewai-analysts" {
  on shop {
    allow read on public.*, catalog
    mask customers.email with email          # j***@example.com
    mask customers.ssn, payments.card_number with redact
    mask customers.phone with keep_last(4)
    limit rows 10000
  }
}

group "crewai-operators" {
  on shop {
    allow read, insert, update on public.orders, public.order_items
    approve update, delete on public.* when unbounded by "dba-oncall" within 15m
    approve ddl by "dba-oncall" within 30m quorum 2 mode retry uses 3
    allow read when during mon-fri 09:00-17:00 tz "Europe/Berlin" and claim "env" = "prod"
    allow read when during sat, sun and claim "team" not in ["a", "b"]
  }
}

on shop {
  deny drop, truncate, dcl, admin
  deny call dangerous_functions
}
`;

const STACK = /\n\s+at |Error:|\bat .*\.(ts|js):\d+/;

/** Every span of the tree, for the within-the-text check. */
function treeSpans(node: unknown, out: { start: number; end: number }[] = []): { start: number; end: number }[] {
  if (Array.isArray(node)) for (const x of node) treeSpans(x, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'span' || k === 'effectSpan') && v && typeof v === 'object') out.push(v as { start: number; end: number });
      else if (k !== 'lineStarts') treeSpans(v, out);
    }
  }
  return out;
}

function checkResult(label: string, text: string, diagnostics: Diagnostic[], file: AnyNode): void {
  const n = text.length;
  const inText = (s: { start: number; end: number }) =>
    Number.isInteger(s.start) && Number.isInteger(s.end) && 0 <= s.start && s.start <= s.end && s.end <= n;
  for (const d of diagnostics) {
    assert.ok(/^PAM\d{4}$/.test(d.code), `${label}: code ${d.code}`);
    assert.ok(inText(d.span), `${label}: span ${JSON.stringify(d.span)} of ${d.code} outside a text of ${n}`);
    for (const r of d.related ?? []) assert.ok(inText(r.span), `${label}: related span outside the text`);
    for (const m of [d.message, d.help ?? '']) {
      assert.not.ok(m.includes('undefined'), `${label}: message with undefined: ${m}`);
      assert.not.ok(m.includes('NaN'), `${label}: message with NaN: ${m}`);
      assert.not.ok(m.includes('[object'), `${label}: message with an object: ${m}`);
      assert.not.ok(STACK.test(m), `${label}: message with a stack trace: ${m}`);
      assert.not.ok(/[\r\n]/.test(m), `${label}: message on several lines: ${m}`);
    }
    assert.not.ok(/\.$/.test(d.message), `${label}: final period: ${d.message}`);
  }
  assert.ok(diagnostics.length <= 101, `${label}: ${diagnostics.length} diagnostics`);
  for (const s of treeSpans(file)) assert.ok(inText(s), `${label}: tree span ${JSON.stringify(s)} outside a text of ${n}`);
}

function parseChecked(label: string, bytes: Uint8Array, budgetMs = 200) {
  const t = performance.now();
  let r: ReturnType<typeof parsePolicyBytes>;
  try {
    r = parsePolicyBytes(bytes, 'fuzz.pam');
  } catch (e) {
    assert.unreachable(`${label}: threw ${(e as Error).message}`);
    throw e;
  }
  const ms = performance.now() - t;
  assert.ok(ms < budgetMs, `${label}: took ${ms.toFixed(0)} ms`);
  checkResult(label, r.text, r.diagnostics, r.file);
  assert.not.ok(r.diagnostics.some((d) => d.code === 'PAM0013'), `${label}: internal error`);
  return r;
}

/** When a mutated file still parses, its formatting must round-trip too. */
function checkFormat(label: string, r: ReturnType<typeof parsePolicyBytes>): void {
  if (r.diagnostics.length > 0) return;
  const out = formatPolicy(r.file);
  const again = parsePolicy(out, 'fuzz.pam');
  assert.equal(again.diagnostics, [], `${label}: formatted output parses`);
  assert.equal(stripPositions(again.file.items), stripPositions(r.file.items), `${label}: same tree after fmt`);
  assert.is(formatPolicy(again.file), out, `${label}: fmt is idempotent`);
}

const enc = (s: string) => new TextEncoder().encode(s);

// build the parser once, so the time limits below measure parses, not start-up
parsePolicy('policy "warm-up"', 'w.pam');

// --- fixed cases

test('the realistic policy parses cleanly', () => {
  const r = parseChecked('realistic', enc(REALISTIC));
  assert.equal(r.diagnostics, []);
  assert.is(r.file.items.length, 7);
});

test('empty file, whitespace, only comments', () => {
  for (const text of ['', ' ', '\n\n\t\r\n', '# just a comment', '# a\n# b\n\n   # c\n']) {
    const r = parseChecked(JSON.stringify(text), enc(text));
    assert.equal(r.diagnostics, []);
    assert.equal(r.file.items, []);
  }
  assert.is(parsePolicy('# a\n# b', 't').file.comments.length, 2);
});

test('binary garbage', () => {
  const rand = prng(7);
  for (let i = 0; i < 20; i++) {
    const bytes = new Uint8Array(2000).map(() => Math.floor(rand() * 256));
    parseChecked(`garbage ${i}`, bytes);
    const ascii = new Uint8Array(2000).map(() => Math.floor(rand() * 128));
    parseChecked(`ascii garbage ${i}`, ascii);
  }
  const nul = parseChecked('NUL bytes', new Uint8Array(100));
  assert.is(nul.diagnostics[0].code, 'PAM0001');
});

test('non-UTF-8 bytes', () => {
  for (const bad of [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
    const r = parseChecked(`bad ${bad}`, new Uint8Array([...enc('policy "x"\n# '), ...bad, ...enc('\n')]));
    assert.equal(
      r.diagnostics.map((d) => d.code),
      ['PAM0006'],
    );
  }
});

test('a 10 MB file is rejected fast (PAM0007)', () => {
  const bytes = new Uint8Array(10 * 1024 * 1024).fill(0x61);
  const t = performance.now();
  const r = parsePolicyBytes(bytes, 'big.pam');
  assert.ok(performance.now() - t < 50);
  assert.equal(
    r.diagnostics.map((d) => d.code),
    ['PAM0007'],
  );
});

test('10,000 nested `{` and `group` openings', () => {
  const braces = parseChecked('braces', enc('{'.repeat(10_000)), 2000);
  assert.ok(braces.diagnostics.length >= 1);
  const groups = parseChecked('groups', enc('group "g" {\n'.repeat(10_000)), 2000);
  assert.is(groups.diagnostics.at(-1)?.code, 'PAM0008');
  const ons = parseChecked('on blocks', enc('on a {\n'.repeat(10_000)), 2000);
  assert.is(ons.diagnostics.at(-1)?.code, 'PAM0008');
  const mixed = parseChecked('mixed', enc('group "g" { on a { allow read on x.y '.repeat(10_000)), 2000);
  assert.ok(mixed.diagnostics.length >= 1);
});

test('unterminated string and unterminated block at EOF', () => {
  const s = parseChecked('string', enc('policy "abc'));
  assert.equal(
    s.diagnostics.map((d) => d.code),
    ['PAM0002'],
  );
  const b = parseChecked('block', enc('on shop {\n  allow read'));
  assert.equal(
    b.diagnostics.map((d) => d.code),
    ['PAM0005'],
  );
  const both = parseChecked('both', enc('on shop {\n  approve x by "abc'));
  assert.equal(
    both.diagnostics.map((d) => d.code),
    ['PAM0002', 'PAM0005'],
  );
});

test('unknown keywords at top level', () => {
  const r = parseChecked('unknown', enc('rule allow { x }\nallow read\nwhatever 5 *\npolicy "ok"\n'));
  assert.ok(r.diagnostics.length >= 1);
  assert.ok(r.diagnostics.every((d) => d.code === 'PAM0004'));
  assert.equal(
    r.file.items.map((i) => i.kind),
    ['Policy'],
  );
});

test('many errors stop at 100 quickly, and the tree keeps what came before', () => {
  const text = 'policy "p"\n' + 'on a { allow }\n'.repeat(20_000);
  const r = parseChecked('many', enc(text), 2000);
  assert.is(r.diagnostics.length, 101);
  assert.is(r.diagnostics[100].code, 'PAM0008');
  assert.is(r.file.items[0].kind, 'Policy');
});

test('a 10,000-rule file parses in reasonable time (sanity bound, not a benchmark)', () => {
  const body = (i: number) => Array.from({ length: 10 }, (_, j) => `  allow read on public.orders_${i}_${j} when unbounded\n`).join('');
  const text = 'policy "p"\n' + Array.from({ length: 1000 }, (_, i) => `on shop {\n${body(i)}}\n`).join('\n');
  assert.ok(text.length > 400_000);
  parsePolicy(text, 'warm.pam');
  const t = performance.now();
  const r = parsePolicy(text, 'big.pam');
  const ms = performance.now() - t;
  assert.equal(r.diagnostics, []);
  assert.is(r.file.items.length, 1001);
  assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms`);
});

// --- property tests

const SOUP = [
  ...'allow deny approve mask limit when and by within quorum mode uses with on'.split(' '),
  ...'policy identity target set group issuer audience jwks file url groups agent claim algorithms clock_skew host port database server listen login user tls upstream embedded seed search_path masking env cert key ca hash_key rows not during tz in'.split(' '),
  'shop', 'public', 'read', 'x', 'mon', 'fri', 'verify', 'full', 'password', 'copy',
  '"s"', '""', '"a\\"b"', '"\\q"', '"\\u{1F600}"', '"unterminated', '"\\u{D800}"',
  '0', '42', '5432', '99999999999999999999', '15m', '1h30m', '500ms', '2d', '30m1h', '15min', '09:00', '24:00', '25:61', '9:00',
  '{', '}', '[', ']', '(', ')', ',', '.', ':', '=', '!=', '-', '*',
  '# comment', '\n', '\n\n', '\t', '@', '!', ';', 'é', '😀', '\u0000', '\r', "'", '$x',
];

test('2,000 random token soups', () => {
  const rand = prng(20260101);
  for (let i = 0; i < 2000; i++) {
    const n = 1 + Math.floor(rand() * 60);
    const parts: string[] = [];
    for (let k = 0; k < n; k++) parts.push(pick(rand, SOUP));
    const text = parts.join(rand() < 0.5 ? ' ' : '');
    parseChecked(`soup ${i}: ${JSON.stringify(text)}`, enc(text));
  }
});

test('2,000 mutations of a realistic policy', () => {
  const rand = prng(42);
  const tokens = lex(REALISTIC, 'r').tokens.map((t) => ({ start: t.startOffset, end: t.startOffset + t.image.length }));
  const base = enc(REALISTIC);
  let parsedClean = 0;
  for (let i = 0; i < 2000; i++) {
    const kind = i % 4;
    let bytes: Uint8Array;
    let label: string;
    if (kind === 3) {
      const cut = Math.floor(rand() * base.length);
      bytes = base.subarray(0, cut);
      label = `truncated at byte ${cut}`;
    } else {
      const a = pick(rand, tokens);
      const b = pick(rand, tokens);
      let text: string;
      if (kind === 0) {
        text = REALISTIC.slice(0, a.start) + REALISTIC.slice(a.end);
        label = `deleted ${JSON.stringify(REALISTIC.slice(a.start, a.end))} at ${a.start}`;
      } else if (kind === 1) {
        text = REALISTIC.slice(0, a.end) + ' ' + REALISTIC.slice(a.start, a.end) + REALISTIC.slice(a.end);
        label = `duplicated ${JSON.stringify(REALISTIC.slice(a.start, a.end))} at ${a.start}`;
      } else {
        const [x, y] = a.start <= b.start ? [a, b] : [b, a];
        if (x.end > y.start) {
          text = REALISTIC;
        } else {
          text =
            REALISTIC.slice(0, x.start) +
            REALISTIC.slice(y.start, y.end) +
            REALISTIC.slice(x.end, y.start) +
            REALISTIC.slice(x.start, x.end) +
            REALISTIC.slice(y.end);
        }
        label = `swapped ${JSON.stringify(REALISTIC.slice(x.start, x.end))} and ${JSON.stringify(REALISTIC.slice(y.start, y.end))}`;
      }
      bytes = enc(text);
    }
    const r = parseChecked(`mutation ${i}: ${label}`, bytes);
    if (r.diagnostics.length === 0) parsedClean++;
    checkFormat(`mutation ${i}: ${label}`, r);
  }
  assert.ok(parsedClean > 0, 'some mutations still parse');
});

test('1,000 random comment placements format idempotently and keep every comment', () => {
  const rand = prng(99);
  const tokens = lex(REALISTIC, 'r').tokens;
  for (let i = 0; i < 1000; i++) {
    // insert up to 4 comments after random tokens, on the same line or on a line of their own
    const at = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(rand, tokens))
      .map((t) => t.startOffset + t.image.length)
      .sort((a, b) => b - a);
    let text = REALISTIC;
    at.forEach((o, k) => {
      const own = rand() < 0.5;
      text = text.slice(0, o) + (own ? `\n# c${k}\n` : ` # c${k}\n`) + text.slice(o);
    });
    const r = parsePolicy(text, 'c.pam');
    if (r.diagnostics.length > 0) continue; // a newline broke nothing in this grammar, but be safe
    const out = formatPolicy(r.file);
    const again = parsePolicy(out, 'c.pam');
    const label = `placement ${i}: ${JSON.stringify(text)}`;
    assert.equal(again.diagnostics, [], label);
    assert.equal(stripPositions(again.file.items), stripPositions(r.file.items), label);
    assert.equal(
      again.file.comments.map((c) => c.text),
      r.file.comments.map((c) => c.text),
      label,
    );
    assert.is(formatPolicy(again.file), out, label);
  }
});

test.run();
