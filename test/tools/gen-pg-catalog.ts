// Generates spec/data/pg-catalog.json from a real PostgreSQL server, then validates
// spec/data/builtin-sets.json against it (a curated name the server does not have, or a
// catalog relation that is in neither or both of `catalog` / `secret_catalog`, is an error).
//
// Regenerate (as root the server must run as the `postgres` OS user):
//
//   D=$(mktemp -d) && chown postgres "$D"
//   runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$D/data" -A trust -U postgres
//   runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$D/data" -l "$D/log" \
//       -o "-p 54329 -k $D -c listen_addresses=''" start
//   node --import tsx test/tools/gen-pg-catalog.ts "postgresql://postgres@/postgres?host=$D&port=54329"
//   runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$D/data" stop
//
// Arguments: [connection string] [--out file] [--check]. Without a connection string the
// PG* environment variables apply. `--check` reads no server: it only validates
// builtin-sets.json against the existing pg-catalog.json.
//
// Generate from a fresh cluster (no extensions): the file describes the built-ins of one major
// version, and the runtime treats every pg_catalog name it does not list as unknown.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatCatalog, validateBuiltinSets, type CatalogSetting, type PgCatalog } from './pg-catalog-data.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const HIDDEN_SETTINGS: Record<string, string> = {
  role: 'user',
  session_authorization: 'user',
  is_superuser: 'internal',
  seed: 'user',
};

async function readCatalog(connectionString: string | undefined): Promise<PgCatalog> {
  const { default: pg } = await import('pg');
  const client = new pg.Client(connectionString ? { connectionString } : {});
  await client.connect();
  try {
    const version = await client.query<{ server_version: string; num: string }>(
      `SELECT current_setting('server_version') AS server_version,
              current_setting('server_version_num') AS num`,
    );
    const relations = await client.query<{ schema: string; name: string; kind: string }>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('pg_catalog', 'information_schema')
          AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p')`,
    );
    const functions = await client.query<{
      name: string;
      nargs: number;
      ndefaults: number;
      variadic: boolean;
      volatility: string;
      retset: boolean;
      kind: string;
      args: string;
    }>(
      `SELECT p.proname AS name, p.pronargs::int AS nargs, p.pronargdefaults::int AS ndefaults,
              p.provariadic <> 0 AS variadic, p.provolatile::text AS volatility,
              p.proretset AS retset, p.prokind::text AS kind,
              pg_get_function_identity_arguments(p.oid) AS args
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'pg_catalog'`,
    );
    const operators = await client.query<{ name: string }>(
      `SELECT DISTINCT o.oprname AS name
         FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
        WHERE n.nspname = 'pg_catalog'`,
    );
    const settings = await client.query<{ name: string; context: string }>(
      `SELECT name, context FROM pg_settings`,
    );
    // Settings PostgreSQL hides from pg_settings (GUC_NO_SHOW_ALL) but accepts in SET / SHOW.
    // Their context is not visible through SQL; it is taken from PostgreSQL's GUC table.
    const hidden: CatalogSetting[] = [];
    for (const [name, context] of Object.entries(HIDDEN_SETTINGS)) {
      const r = await client.query<{ v: string | null }>(`SELECT current_setting($1, true) AS v`, [name]);
      if (r.rows[0]?.v != null && !settings.rows.some((s) => s.name === name)) hidden.push({ name, context, hidden: true });
    }
    return {
      server_version: version.rows[0]!.server_version,
      server_version_num: Number(version.rows[0]!.num),
      relations: relations.rows.map((r) => ({ schema: r.schema, name: r.name, kind: r.kind })),
      functions: functions.rows.map((f) => ({
        name: f.name,
        nargs: f.nargs,
        ndefaults: f.ndefaults,
        variadic: f.variadic,
        volatility: f.volatility,
        retset: f.retset,
        kind: f.kind,
        args: f.args,
      })),
      operators: operators.rows.map((o) => o.name),
      settings: [...settings.rows.map((s) => ({ name: s.name, context: s.context })), ...hidden],
    };
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let out = join(root, 'spec/data/pg-catalog.json');
  let check = false;
  let conn: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--out') out = resolve(args[++i] ?? out);
    else if (a === '--check') check = true;
    else conn = a;
  }
  let catalog: PgCatalog;
  if (check) {
    catalog = JSON.parse(readFileSync(out, 'utf8')) as PgCatalog;
  } else {
    catalog = await readCatalog(conn);
    writeFileSync(out, formatCatalog(catalog));
    console.log(
      `wrote ${out}: PostgreSQL ${catalog.server_version}, ${catalog.relations.length} relations, ` +
        `${catalog.functions.length} functions, ${catalog.operators.length} operators, ${catalog.settings.length} settings`,
    );
  }
  const sets = JSON.parse(readFileSync(join(root, 'spec/data/builtin-sets.json'), 'utf8'));
  const errors = validateBuiltinSets(catalog, sets);
  for (const e of errors) console.error(`builtin-sets.json: ${e}`);
  if (errors.length === 0) console.log('builtin-sets.json is consistent with the catalog');
  return errors.length === 0 ? 0 : 1;
}

process.exitCode = await main();
