// `--schema` on policies held in memory, against the real pg_dump in pg15-dump.sql: what is
// reported, at which name, with which severity; what is deliberately not checked.

import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileFiles } from '../../../compiler/index.ts';
import { schemaCheck } from '../../../compiler/schema/index.ts';
import { SchemaError } from '../../../compiler/schema/dump.ts';
import { decodeSource } from '../../../language/source.ts';
import { HEADER } from '../../support/compile.ts';

const DUMP = join(import.meta.dirname, 'pg15-dump.sql');

const TARGETS = `target shop: postgres {
  host "db"
  database "shop"
  login user "pamc" password env "P"
  search_path analytics, public
}
target other: postgres {
  host "db2"
  database "other"
  login user "pamc" password env "P"
}
`;

async function check(rules: string, specs = [DUMP]): Promise<string[]> {
  const text = HEADER + TARGETS + rules;
  const out = compileFiles([{ path: 'p.pam', display: 'p.pam', source: decodeSource(Buffer.from(text), 'p.pam') }], undefined, [await schemaCheck(specs)]);
  return out.diagnostics.map((d) => `${d.severity} ${d.code} ${text.slice(d.span.start, d.span.end)}`);
}

test('names that exist are quiet: qualified, through the search path, quoted, pg_catalog, wildcards', async () => {
  assert.equal(
    await check(`group "a" {
  on shop {
    allow read on public.orders, revenue, customers, "Mixed"."Case", pg_catalog.pg_class, pg_class, public.*, analytics.*, *, catalog
    allow call on add_one, analytics.refresh, pg_catalog.now, dangerous_functions
    allow create on schema reporting, public.new_table
    mask customers."Phone", revenue.total, public.orders.* with redact
  }
}`),
    [],
  );
});

test('misses: rules and wildcards warn, masks are errors, deny rules are checked too', async () => {
  assert.equal(
    await check(`set cols = [customers.emial]
group "a" {
  on shop {
    allow read on public.ordrs, nosuch.*
    deny read on public.salaries
    allow call on public.add_two
    mask cols with redact
    mask public.orders.totl with redact
  }
}`),
    [
      'error PAM4012 customers.emial',
      'warning PAM4010 public.ordrs',
      'warning PAM4014 nosuch.*',
      'warning PAM4010 public.salaries',
      'warning PAM4013 public.add_two',
      'error PAM4012 public.orders.totl',
    ],
  );
});

test('an unqualified name is missing only when no schema of the search path has it', async () => {
  assert.equal(await check('group "a" { on shop { allow read on orders, ordrs } }'), ['warning PAM4010 ordrs']);
});

test('`target=file` checks one target; a schema for every target checks all postgres targets', async () => {
  const rules = 'group "a" { on shop, other { allow read on public.ordrs } }';
  assert.equal(await check(rules, [`shop=${DUMP}`]), ['warning PAM4010 public.ordrs']);
  assert.equal(await check(rules, [DUMP]), ['warning PAM4010 public.ordrs']);
  try {
    await check(rules, [`nope=${DUMP}`]);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, SchemaError);
  }
});

test.run();
