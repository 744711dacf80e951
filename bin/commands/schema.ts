// `pamc schema pull <target>`: writes the schema of a policy's postgres target, as
// `pg_dump --schema-only` prints it, for `pamc check --schema`. It logs in with the target's
// policy credentials: the password is read from the environment variable or file the policy
// names and handed to pg_dump in its environment (PGPASSWORD), never on its command line.
// Exit codes: 0 written, 1 pg_dump failed or the policy has errors, 2 usage errors (no such
// target, an embedded target, pg_dump not found, a secret that cannot be read).

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { renderDiagnostics } from '../../compiler/render.ts';
import { didYouMean } from '../../compiler/suggest.ts';
import { readSecret, SecretError } from '../../runtime/gateway/secrets.ts';
import { compilePaths, EXIT_OK, EXIT_PROBLEMS, listOf, UsageError, useColor, type CommandModule } from './common.ts';

/** pg_dump on PATH, else the newest under /usr/lib/postgresql/<major>/bin (Debian's layout). */
export function findPgDump(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'pg_dump'))) return join(dir, 'pg_dump');
  }
  const root = '/usr/lib/postgresql';
  try {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(root, v, 'bin', 'pg_dump')))
      .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    return versions.length > 0 ? join(root, versions[0], 'bin', 'pg_dump') : null;
  } catch {
    return null;
  }
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err }));
  });
}

const ACTIONS = ['pull'] as const;

export const schemaCommand: CommandModule = {
  command: 'schema <action> <target>',
  describe: 'the database schema a policy is checked against: pull it from a postgres target (pg_dump --schema-only)',
  builder: (y: Argv) =>
    y
      .positional('action', { type: 'string', choices: ACTIONS, describe: 'pull' })
      .positional('target', { type: 'string', describe: 'the target, as the policy names it' })
      .option('policy', { type: 'string', describe: 'policy files or folders (repeatable; default: .)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the schema to this file instead of standard output' })
      .option('pg-dump', { type: 'string', describe: 'the pg_dump program (default: on PATH, else the newest under /usr/lib/postgresql)' })
      .example('$0 schema pull shop --policy policies/ -o schema/shop.sql', 'then: pamc check --schema shop=schema/shop.sql policies/'),
  handler: async (args) => {
    const out = await compilePaths(listOf(args.policy));
    if (!out.policy) {
      process.stderr.write(renderDiagnostics('human', out.diagnostics, out.texts, out.fileCount, { color: useColor(process.stderr) }));
      process.stderr.write('pamc: the policy has errors (above); fix them first\n');
      return EXIT_PROBLEMS;
    }
    const name = String(args.target);
    const target = out.policy.targets[name];
    if (!target) {
      const names = Object.keys(out.policy.targets);
      throw new UsageError(`no target \`${name}\` in the policy${names.length > 0 ? `; ${didYouMean(name, names) ?? `targets: ${names.join(', ')}`}` : ''}`);
    }
    if (target.kind !== 'postgres' || !target.connection) throw new UsageError(`target \`${name}\` is ${target.kind}: only postgres targets have a schema to pull`);
    const conn = target.connection;
    if (conn.embedded) {
      const seed = conn.seed ? `; its schema is what \`${conn.seed}\` creates: give that file to \`--schema\`` : '';
      throw new UsageError(`target \`${name}\` is embedded: there is no server to pull from${seed}`);
    }
    const pgDump = typeof args['pg-dump'] === 'string' ? args['pg-dump'] : findPgDump();
    if (!pgDump || (isAbsolute(pgDump) && !existsSync(pgDump))) {
      throw new UsageError(`${pgDump ? `\`${pgDump}\` does not exist` : 'pg_dump is not installed'} (Debian and Ubuntu: postgresql-client); give its path with --pg-dump`);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, PGSSLMODE: conn.tls.mode, PGAPPNAME: 'pamc schema pull', PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10' };
    delete env.PGPASSWORD;
    delete env.PGSERVICE;
    if (conn.tls.ca) env.PGSSLROOTCERT = resolve(out.root, conn.tls.ca);
    if (conn.password) {
      try {
        env.PGPASSWORD = await readSecret(conn.password, out.root);
      } catch (e) {
        if (e instanceof SecretError) throw new UsageError(`the password of target \`${name}\`: ${e.message}`);
        throw e;
      }
    }
    const argv = ['--schema-only', '--no-owner', '--host', conn.host, '--port', String(conn.port), '--username', conn.user, '--dbname', conn.database];
    let result;
    try {
      result = await run(pgDump, argv, env);
    } catch (e) {
      throw new UsageError(`cannot run \`${pgDump}\`: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`);
    }
    if (result.code !== 0) {
      process.stderr.write(result.stderr.endsWith('\n') || result.stderr === '' ? result.stderr : `${result.stderr}\n`);
      process.stderr.write(`pamc: pg_dump could not read the schema of \`${name}\` (${conn.host}:${conn.port}/${conn.database})\n`);
      return EXIT_PROBLEMS;
    }
    if (typeof args.output === 'string' && args.output !== '') {
      await writeFile(args.output, result.stdout);
      process.stderr.write(`wrote the schema of \`${name}\` to ${args.output}\n`);
    } else process.stdout.write(result.stdout);
    return EXIT_OK;
  },
};
