// The generated catalog and the curated sets agree (test/tools/gen-pg-catalog.ts enforces the
// same when it regenerates the catalog from a server).

import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expandSet, validateBuiltinSets, type BuiltinSets, type PgCatalog } from '../../tools/pg-catalog-data.ts';

const read = <T>(path: string): T => JSON.parse(readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8')) as T;
const catalog = read<PgCatalog>('spec/data/pg-catalog.json');
const sets = read<BuiltinSets>('spec/data/builtin-sets.json');

test('builtin-sets.json is consistent with pg-catalog.json', () => {
  assert.equal(validateBuiltinSets(catalog, sets), []);
});

test('the catalog records the server it came from and is sorted', () => {
  assert.match(catalog.server_version, /^\d+/);
  assert.ok(catalog.server_version_num >= 150000);
  const keys = catalog.relations.map((r) => `${r.schema}.${r.name}`);
  assert.equal(keys, [...keys].sort());
  assert.ok(catalog.functions.length > 2500);
  assert.ok(catalog.settings.some((s) => s.name === 'role' && s.hidden === true), 'hidden settings are recorded');
});

test('every catalog relation is in exactly one of catalog and secret_catalog', () => {
  const harmless = new Set(expandSet(sets.relations, 'catalog'));
  const secret = new Set(expandSet(sets.relations, 'secret_catalog'));
  for (const r of catalog.relations) {
    const k = `${r.schema}.${r.name}`;
    assert.ok(harmless.has(k) !== secret.has(k), k);
  }
});

test('the secrets the policy language promises are secret', () => {
  const secret = new Set(expandSet(sets.relations, 'secret_catalog'));
  for (const name of [
    'pg_catalog.pg_authid', 'pg_catalog.pg_shadow', 'pg_catalog.pg_user_mappings', 'pg_catalog.pg_user_mapping',
    'information_schema.user_mapping_options', 'information_schema.user_mappings', 'pg_catalog.pg_statistic',
    'pg_catalog.pg_statistic_ext_data', 'pg_catalog.pg_largeobject', 'pg_catalog.pg_subscription',
    'pg_catalog.pg_stat_activity', 'pg_catalog.pg_hba_file_rules', 'pg_catalog.pg_file_settings',
    'pg_catalog.pg_ident_file_mappings', 'pg_catalog.pg_db_role_setting', 'pg_catalog.pg_replication_slots',
    'pg_catalog.pg_replication_origin', 'pg_catalog.pg_stats',
  ])
    assert.ok(secret.has(name), name);
  const harmless = new Set(expandSet(sets.relations, 'catalog'));
  for (const name of ['pg_catalog.pg_class', 'pg_catalog.pg_namespace', 'pg_catalog.pg_attribute', 'pg_catalog.pg_type', 'pg_catalog.pg_roles', 'information_schema.columns', 'information_schema.tables'])
    assert.ok(harmless.has(name), name);
});

test('dangerous_functions covers every named part', () => {
  const dangerous = new Set(expandSet(sets.functions, 'dangerous_functions'));
  for (const name of [
    'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_ls_waldir', 'lo_import', 'lo_export',
    'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote', 'pg_switch_wal',
    'pg_create_logical_replication_slot', 'pg_logical_emit_message', 'pg_backup_start', 'pg_stat_reset',
    'pg_import_system_collations', 'set_config', 'lo_open', 'loread', 'lowrite', 'nextval', 'setval', 'query_to_xml',
    'cursor_to_xml', 'table_to_xml', 'schema_to_xml', 'database_to_xml', 'ts_stat', 'pg_sleep', 'pg_sleep_for',
    'pg_advisory_lock', 'pg_try_advisory_xact_lock', 'pg_notify', 'pg_export_snapshot', 'pg_stat_get_activity',
    'pg_stat_get_backend_pid', 'pg_blocking_pids',
  ])
    assert.ok(dangerous.has(`pg_catalog.${name}`), name);
  for (const name of ['lower', 'count', 'now', 'current_setting', 'pg_typeof', 'format'])
    assert.not.ok(dangerous.has(`pg_catalog.${name}`), name);
});

test('settings sets', () => {
  const harmless = new Set(expandSet(sets.settings, 'harmless_settings'));
  for (const s of ['application_name', 'extra_float_digits', 'datestyle', 'intervalstyle', 'timezone', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'client_min_messages', 'bytea_output'])
    assert.ok(harmless.has(s), s);
  assert.not.ok(harmless.has('search_path'));
  assert.ok(harmless.has('all'), 'RESET ALL (DISCARD ALL, which does more, is in the baseline too)');
  const text = new Set(expandSet(sets.settings, 'text_settings'));
  assert.ok(text.has('client_encoding') && text.has('standard_conforming_strings') && text.has('backslash_quote'));
  const privileged = new Set(expandSet(sets.settings, 'privileged_settings'));
  for (const s of ['role', 'session_authorization', 'session_replication_role', 'log_statement', 'lo_compat_privileges'])
    assert.ok(privileged.has(s), s);
});

test('the validation finds what is wrong', () => {
  const broken = structuredClone(sets);
  broken.functions.file_functions!.members!['pg_catalog.no_such_function'] = 'x';
  delete broken.relations.secret_catalog!.members!['pg_catalog.pg_authid'];
  broken.settings.harmless_settings!.members!['search_path'] = 'no';
  const errors = validateBuiltinSets(catalog, broken).join('\n');
  assert.match(errors, /no_such_function/);
  const broken2 = structuredClone(sets);
  delete broken2.relations.secret_catalog!.members!['pg_catalog.pg_authid'];
  assert.match(validateBuiltinSets(catalog, broken2).join('\n'), /pg_authid.*neither/);
  const broken3 = structuredClone(sets);
  broken3.settings.harmless_settings!.members!['search_path'] = 'no';
  assert.match(validateBuiltinSets(catalog, broken3).join('\n'), /search_path/);
  const broken4 = structuredClone(sets);
  broken4.relations.catalog!.members!['pg_catalog.pg_authid'] = 'oops';
  assert.match(validateBuiltinSets(catalog, broken4).join('\n'), /both/);
});

test.run();
