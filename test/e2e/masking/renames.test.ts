// Masks are by name (spec/language.md §5.7a): an identity that reads unmasked and may alter
// must not be able to rename a masked column, or the relation holding it, to a name no mask
// covers, and so unmask it for the identities the mask is for. A rename that keeps every mask
// runs.

import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway, type GatewayFixture } from '../../support/gateway.ts';
import { expectError } from '../gateway/shop.ts';

const test = suite<{ gw: GatewayFixture }>('masking: renames by an unmasked identity');

const SETUP = `
  CREATE TABLE customers (id int PRIMARY KEY, name text, ssn text, note text);
  INSERT INTO customers VALUES (1, 'Ada', '123-45-6789', 'n');
  CREATE TABLE vault (id int, code text);
  INSERT INTO vault VALUES (1, 'vault-code-1');`;

const RULES = `
group "ops" {
  on db {
    allow read, alter on public.*
  }
}
group "self" {
  on db {
    allow read, alter on public.*
    mask public.customers.ssn with redact
  }
}
group "analysts" {
  on db {
    allow read on public.*
    mask public.customers.ssn with redact
    mask public.customers.note with redact
    mask public.customers.memo with redact
    mask public.vault.* with redact
  }
}`;

test.before(async (ctx) => {
  ctx.gw = await startGateway({ setup: SETUP, rules: RULES });
});
test.after(async (ctx) => {
  await ctx.gw.close();
});

async function client(gw: GatewayFixture, group: string): Promise<pg.Client> {
  const c = new pg.Client(await gw.clientConfig([group]));
  await c.connect();
  return c;
}

/**
 * The analysts' view of the first row, once it is `expected`: masking needs the gateway's
 * catalog snapshot, which loads after the first session and again after DDL (until then a column
 * it does not know is masked whole, or the statement refused).
 */
async function analystsSee(gw: GatewayFixture, sql: string, expected: Record<string, unknown>): Promise<void> {
  const c = await client(gw, 'analysts');
  let last: unknown = null;
  try {
    for (let i = 0; i < 100; i++) {
      const r = await c.query(sql).catch((e: Error) => e);
      last = r instanceof Error ? r.message : r.rows[0];
      if (!(r instanceof Error) && JSON.stringify(r.rows[0]) === JSON.stringify(expected)) return;
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    await c.end();
  }
  assert.equal(last, expected, sql);
}

test('renaming a masked column to a name no mask covers is refused, and the column stays masked', async ({ gw }) => {
  await analystsSee(gw, 'SELECT id, ssn FROM customers', { id: 1, ssn: '***' });
  const ops = await client(gw, 'ops');
  try {
    for (const sql of ['ALTER TABLE customers RENAME COLUMN ssn TO tax_id', 'ALTER TABLE public.customers RENAME ssn TO "SSN"', 'ALTER TYPE customers RENAME ATTRIBUTE ssn TO tax_id', 'ALTER TABLE customers RENAME TO people']) {
      const e = await expectError(ops.query(sql));
      assert.is(e.code, '42501', sql);
      assert.match(e.message, /would stop masking/, sql);
    }
    assert.match(
      (await expectError(ops.query('ALTER TABLE customers RENAME COLUMN ssn TO tax_id'))).message,
      /^pamc: permission denied: alter on public\.customers: the statement makes column ssn of public\.customers reachable as column tax_id, where this rule's mask of column ssn would stop masking it \(rule policy\.pam:\d+:\d+ `mask public\.customers\.ssn with redact`\)$/,
    );
    // the session goes on; the server still has the column under its name
    assert.equal((await ops.query('SELECT ssn FROM customers')).rows, [{ ssn: '123-45-6789' }]);
  } finally {
    await ops.end();
  }
  assert.equal(await gw.direct("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attnum > 0 AND NOT attisdropped"), 'id,name,ssn,note');
  await analystsSee(gw, 'SELECT id, ssn FROM customers', { id: 1, ssn: '***' });
});

test('an identity may not unmask its own column by a rename either, ALTER TYPE … RENAME ATTRIBUTE included', async ({ gw }) => {
  const self = await client(gw, 'self');
  try {
    for (const sql of ['ALTER TYPE customers RENAME ATTRIBUTE ssn TO tax_id', 'ALTER TABLE customers RENAME COLUMN ssn TO tax_id']) {
      const e = await expectError(self.query(sql));
      assert.is(e.code, '42501', sql);
    }
  } finally {
    await self.end();
  }
  assert.equal(await gw.direct("SELECT attname FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attnum = 3"), 'ssn');
});

test('renames that keep every mask run: to a name masked alike, of a column no mask names, under table.*', async ({ gw }) => {
  const ops = await client(gw, 'ops');
  try {
    await ops.query('ALTER TABLE customers RENAME COLUMN note TO memo'); // masked alike under the new name
    await ops.query('ALTER TABLE customers RENAME COLUMN name TO full_name'); // no mask names it
    await ops.query('ALTER TABLE vault RENAME COLUMN code TO secret_code'); // vault.* masks every column
  } finally {
    await ops.end();
  }
  await analystsSee(gw, 'SELECT full_name, memo FROM customers', { full_name: 'Ada', memo: '***' });
  await analystsSee(gw, 'SELECT secret_code FROM vault', { secret_code: '***' });
});

test.run();
