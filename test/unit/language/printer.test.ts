// The canonical printer: golden files, comment placement, idempotence, and AST equality after a
// round trip over every .pam file under test/golden/ and examples/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPolicy, parsePolicy, parsePolicyBytes, type PolicyFile } from '../../../language/index.ts';
import { stripPositions } from './helpers.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const goldenDir = join(root, 'test/golden/fmt');
const update = process.env.UPDATE === '1';

function fmt(text: string): string {
  const r = parsePolicy(text, 'fmt.pam');
  assert.equal(
    r.diagnostics.map((d) => `${d.code} ${d.message}`),
    [],
    'the input parses',
  );
  return formatPolicy(r.file);
}

function sameTree(a: PolicyFile, b: PolicyFile, what: string): void {
  assert.equal(stripPositions(a.items), stripPositions(b.items), `${what}: same items`);
  assert.equal(
    a.comments.map((c) => c.text),
    b.comments.map((c) => c.text),
    `${what}: same comments`,
  );
}

function pamFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...pamFiles(p));
    else if (name.endsWith('.pam')) out.push(p);
  }
  return out;
}

// --- golden files

for (const input of pamFiles(goldenDir).filter((p) => !p.endsWith('.expected.pam'))) {
  const name = relative(goldenDir, input);
  test(`golden fmt: ${name}`, () => {
    const expectedPath = input.replace(/\.pam$/, '.expected.pam');
    const out = fmt(readFileSync(input, 'utf8'));
    if (update || !existsSync(expectedPath)) writeFileSync(expectedPath, out);
    assert.fixture(out, readFileSync(expectedPath, 'utf8'));
    // the expected output is a fixed point
    assert.fixture(fmt(out), out);
  });
}

// --- comment placement and layout, inline

function expectFmt(input: string, expected: string): void {
  const out = fmt(input);
  assert.fixture(out, expected);
  assert.fixture(fmt(out), out, 'idempotent');
}

test('an own-line comment stays before the node it preceded, at its indentation', () => {
  expectFmt('on s {\nallow a\n      # about b\n allow b\n}\n', 'on s {\n  allow a\n  # about b\n  allow b\n}\n');
  expectFmt('# about the block\non s { allow a }\n', '# about the block\non s {\n  allow a\n}\n');
  expectFmt('group "g" {\n# about the on block\non s { allow a }\n}\n', 'group "g" {\n  # about the on block\n  on s {\n    allow a\n  }\n}\n');
});

test('a trailing comment stays at the end of the line of the node it followed', () => {
  expectFmt('on s {\n  allow a     # why\n}\n', 'on s {\n  allow a # why\n}\n');
  expectFmt('on s {   # all identities\n  allow a\n}\n', 'on s { # all identities\n  allow a\n}\n');
  expectFmt('on s {\n  allow a\n}   # end\n', 'on s {\n  allow a\n} # end\n');
  expectFmt('target t: postgres { host "h" port 5 }  # one-liner\n', 'target t: postgres {\n  host "h"\n  port 5\n} # one-liner\n');
  expectFmt('target t: postgres {\n  host "h"  port 5  # on the port\n}\n', 'target t: postgres {\n  host "h"\n  port 5 # on the port\n}\n');
});

test('comments before a closing brace stay inside the block', () => {
  expectFmt('on s {\n  allow a\n# todo\n}\n', 'on s {\n  allow a\n  # todo\n}\n');
  expectFmt('on s {\n  # nothing yet\n}\n', 'on s {\n  # nothing yet\n}\n');
  expectFmt('target t: postgres {\n  masking {\n    copy deny\n    # more later\n  }\n}\n', 'target t: postgres {\n  masking {\n    copy deny\n    # more later\n  }\n}\n');
});

test('comments at the end of the file stay at the end', () => {
  expectFmt('policy "p"\n# the end\n', 'policy "p"\n# the end\n');
  expectFmt('policy "p"\n\n\n# the end\n', 'policy "p"\n\n# the end\n');
  expectFmt('# only\n\n# comments\n', '# only\n\n# comments\n');
});

test('a comment inside a multi-line node moves before it', () => {
  expectFmt('on s {\n  allow a,  # x\n    b on t\n}\n', 'on s {\n  # x\n  allow a, b on t\n}\n');
  expectFmt('on s {\n  allow a\n    # y\n    on t\n}\n', 'on s {\n  # y\n  allow a on t\n}\n');
  expectFmt('set x = [\n  a,  # first\n  b,  # second\n]\n', '# first\n# second\nset x = [a, b]\n');
});

test('blank lines: one between items, up to one kept inside blocks', () => {
  expectFmt('policy "p"\non s {}\n\n\n\non t {}\n', 'policy "p"\n\non s {}\n\non t {}\n');
  expectFmt('on s {\n\n  allow a\n\n\n  allow b\n  allow c\n\n}\n', 'on s {\n  allow a\n\n  allow b\n  allow c\n}\n');
  expectFmt('\n\n\npolicy "p"\n\n\n', 'policy "p"\n');
});

test('layout: one setting per line, `on` before resources, `, ` between items', () => {
  expectFmt('target t:postgres{host "h"port 5}', 'target t: postgres {\n  host "h"\n  port 5\n}\n');
  expectFmt('on a,b{deny call f,g}', 'on a, b {\n  deny call on f, g\n}\n');
  expectFmt('set s=[a,b,]', 'set s = [a, b]\n');
  expectFmt('on s{mask a.b,c with keep_last( 4 )}', 'on s {\n  mask a.b, c with keep_last(4)\n}\n');
});

test('strings are re-escaped canonically, quoted identifiers stay quoted', () => {
  expectFmt('policy "\\u{41}\\u{9}x"', 'policy "A\\tx"\n');
  expectFmt('on s { allow read on public."Order Items" }', 'on s {\n  allow read on public."Order Items"\n}\n');
});

test('CRLF input formats to LF', () => {
  expectFmt('on s {\r\n  allow a # c\r\n\r\n  allow b\r\n}\r\n', 'on s {\n  allow a # c\n\n  allow b\n}\n');
});

test('an empty file formats to an empty file', () => {
  assert.is(fmt(''), '');
  assert.is(fmt('\n\n  \n'), '');
});

test('a tree built by hand (no line starts) prints without comments moving into lines', () => {
  const file = parsePolicy('policy "p" # c\non s { allow a }', 't').file;
  delete file.lineStarts;
  assert.fixture(formatPolicy(file), 'policy "p"\n\n# c\non s {\n  allow a\n}\n');
});

// --- round trip over every .pam in the repository's test data and examples

for (const file of [...pamFiles(join(root, 'test/golden')), ...pamFiles(join(root, 'examples'))]) {
  const name = relative(root, file);
  test(`round trip: ${name}`, () => {
    const first = parsePolicyBytes(readFileSync(file), name);
    if (first.diagnostics.some((d) => d.code.startsWith('PAM00'))) return; // a file about syntax errors
    const out = formatPolicy(first.file);
    const second = parsePolicy(out, name);
    assert.equal(second.diagnostics, [], 'the output parses');
    sameTree(first.file, second.file, name);
    assert.fixture(formatPolicy(second.file), out, 'idempotent');
  });
}

test.run();
