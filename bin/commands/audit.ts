// `pamc audit`: the session records (spec/audit.md).
//   verify <dir> [--key K]         the hash chain, segments and checkpoint signatures; exit 0/1
//   show [dir] [--session] [--identity] [--since]   sessions as a readable timeline (the replay)
//   export [dir] --format ocsf|jsonl [--since]      one JSON object a line, for SIEMs
//   keygen <file> [--public F] [--alg A]             a signing key for `audit { key file "…" }`

import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { loadSigningKey, loadVerificationKeys, AuditKeyError } from '../../runtime/audit/keys.ts';
import { toOcsf, type OcsfContext } from '../../runtime/audit/ocsf.ts';
import { fingerprintSql, loadParser } from '../../runtime/sql/parser.ts';
import { parseSince, readRecords, type ReadStats } from '../../runtime/audit/read.ts';
import { showTimeline } from '../../runtime/audit/timeline.ts';
import { verifyLog, type VerifyReport } from '../../runtime/audit/verify.ts';
import { EXIT_OK, EXIT_PROBLEMS, UsageError, type CommandModule } from './common.ts';
import { VERSION } from '../version.ts';

const ACTIONS = ['verify', 'show', 'export', 'keygen'] as const;

export const auditCommand: CommandModule = {
  command: 'audit <action> [path]',
  describe: 'verify, replay and export session records; make a signing key',
  builder: (y) =>
    y
      .positional('action', { type: 'string', choices: ACTIONS, describe: 'verify | show | export | keygen' })
      .positional('path', { type: 'string', describe: 'the audit directory (verify, show, export; default .), or the key file to write (keygen)' })
      .option('key', { type: 'string', describe: 'verify: the trusted public key (JWK, JWKS or PEM) that signs checkpoints' })
      .option('live', { type: 'boolean', describe: 'verify: the gateway is writing; an open log and a partial last line are not problems' })
      .option('allow-pruned', { type: 'boolean', describe: 'verify: the first segments were removed by retention' })
      .option('json', { type: 'boolean', describe: 'verify: print the report as JSON' })
      .option('session', { type: 'string', describe: 'show: one session (an id or its prefix)' })
      .option('identity', { type: 'string', describe: 'show: the sessions of one identity (token subject)' })
      .option('since', { type: 'string', describe: 'show, export: from this time (ISO 8601) or this long ago (90m, 24h, 7d)' })
      .option('full', { type: 'boolean', describe: 'show: statement text in full' })
      .option('format', { type: 'string', choices: ['ocsf', 'jsonl'], describe: 'export: OCSF 1.3 events or the records as written' })
      .option('output', { alias: 'o', type: 'string', describe: 'export: write to this file instead of standard output' })
      .option('public', { type: 'string', describe: 'keygen: also write the public JWK here' })
      .option('alg', { type: 'string', choices: ['EdDSA', 'ES256', 'RS256'], default: 'EdDSA', describe: 'keygen: the signature algorithm' })
      .example('$0 audit verify /var/lib/pamc/audit --key audit-public.jwk', 'check the log; exit 1 names the first bad record')
      .example('$0 audit show /var/lib/pamc/audit --identity alice --since 24h', "replay alice's sessions of the last day")
      .example('$0 audit export /var/lib/pamc/audit --format ocsf --since 1h', 'OCSF events for a SIEM')
      .example('$0 audit keygen keys/audit.jwk --public keys/audit-public.jwk', 'a new Ed25519 signing key'),
  handler: async (args) => {
    const action = args.action as (typeof ACTIONS)[number];
    const path = typeof args.path === 'string' ? args.path : undefined;
    switch (action) {
      case 'verify':
        if (path === undefined) throw new UsageError('`pamc audit verify` needs the audit directory');
        return verify(path, args);
      case 'show':
        return show(path ?? '.', args);
      case 'export':
        return exportRecords(path ?? '.', args);
      case 'keygen':
        if (path === undefined) throw new UsageError('`pamc audit keygen` needs the file to write the private key to');
        return keygen(path, args);
    }
  },
};

function since(args: Record<string, unknown>): number | undefined {
  if (typeof args.since !== 'string') return undefined;
  const t = parseSince(args.since);
  if (t === null) throw new UsageError(`\`--since ${args.since}\` is neither a time nor a duration such as 24h`);
  return t;
}

async function verify(dir: string, args: Record<string, unknown>): Promise<number> {
  let keys = null;
  if (typeof args.key === 'string') {
    let text: string;
    try {
      text = await readFile(args.key, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${args.key}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      keys = await loadVerificationKeys(text);
    } catch (e) {
      if (e instanceof AuditKeyError) throw new UsageError(`${args.key}: ${e.message}`);
      throw e;
    }
  }
  const report = await verifyLog(dir, { keys, live: args.live === true, allowPruned: args['allow-pruned'] === true });
  if (args.json === true) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(renderReport(report));
  return report.ok ? EXIT_OK : EXIT_PROBLEMS;
}

export function renderReport(r: VerifyReport): string {
  const out: string[] = [];
  const seqs = r.lastSeq !== null ? ` (seq 0–${r.lastSeq})` : '';
  const sigs =
    r.signatures === 'verified'
      ? `${r.checkpoints.verified} signature${r.checkpoints.verified === 1 ? '' : 's'} verified`
      : 'signatures not checked';
  out.push(
    `audit log ${r.log ?? '(unknown)'} in ${r.dir}: ${r.segments.length} segment${r.segments.length === 1 ? '' : 's'}, ${r.records} records${seqs}, ${r.checkpoints.total} checkpoint${r.checkpoints.total === 1 ? '' : 's'} (${sigs})`,
  );
  const first = r.problems[0];
  const integrity = first !== undefined && first.code !== 'incomplete-tail' && first.code !== 'not-closed';
  if (!integrity) {
    if (r.closed) out.push(`closed by a final checkpoint at seq ${r.lastCheckpoint?.seq} (${r.lastCheckpoint?.ts})`);
    else if (r.lastCheckpoint) out.push(`open: last checkpoint at seq ${r.lastCheckpoint.seq} (${r.lastCheckpoint.ts}), ${r.uncovered} record${r.uncovered === 1 ? '' : 's'} after it`);
    if (r.tail) out.push(`partial last line: ${r.tail.bytes} bytes at line ${r.tail.line} of ${r.tail.segment}`);
  }
  for (const p of r.problems) {
    out.push(`FAIL [${p.code}] ${p.message}`);
    if (p.segment !== null) out.push(`  first bad record: ${p.segment}${p.line !== null ? ` line ${p.line}` : ''}${p.seq !== null ? `, seq ${p.seq}` : ''}`);
    if (integrity) break;
  }
  for (const n of r.notices) out.push(`note: ${n}`);
  out.push(r.ok ? 'OK' : 'FAILED');
  return out.join('\n') + '\n';
}

async function show(dir: string, args: Record<string, unknown>): Promise<number> {
  const stats: ReadStats = { skipped: 0 };
  const result = await showTimeline(
    readRecords(dir, stats),
    {
      session: typeof args.session === 'string' ? args.session : undefined,
      identity: typeof args.identity === 'string' ? args.identity : undefined,
      since: since(args),
      full: args.full === true,
    },
    (s) => void process.stdout.write(s),
  );
  if (result.sessions === 0 && (args.session !== undefined || args.identity !== undefined)) process.stderr.write('no matching session\n');
  if (stats.skipped > 0) process.stderr.write(`${stats.skipped} line${stats.skipped === 1 ? ' is' : 's are'} not records; run \`pamc audit verify\`\n`);
  return EXIT_OK;
}

async function exportRecords(dir: string, args: Record<string, unknown>): Promise<number> {
  const format = args.format;
  if (format !== 'ocsf' && format !== 'jsonl') throw new UsageError('`pamc audit export` needs `--format ocsf` or `--format jsonl`');
  const from = since(args);
  const chunks: string[] = [];
  const toFile = typeof args.output === 'string';
  const write = (s: string) => {
    if (toFile) chunks.push(s);
    else process.stdout.write(s);
  };
  const stats: ReadStats = { skipped: 0 };
  const ctx: OcsfContext = { sessions: new Map(), requests: new Map(), log: null, version: VERSION };
  if (format === 'ocsf') {
    await loadParser();
    ctx.fingerprint = fingerprintSql;
  }
  for await (const { record, line } of readRecords(dir, stats)) {
    const recent = from === undefined || Date.parse(record.ts) >= from;
    if (format === 'jsonl') {
      if (recent) write(line + '\n');
      continue;
    }
    // connects before --since still give later events their actor
    const event = toOcsf(record, ctx);
    if (event !== null && recent) write(JSON.stringify(event) + '\n');
  }
  if (toFile) await writeFile(args.output as string, chunks.join(''));
  if (stats.skipped > 0) process.stderr.write(`${stats.skipped} line${stats.skipped === 1 ? ' was' : 's were'} not records and were skipped; run \`pamc audit verify\`\n`);
  return EXIT_OK;
}

async function keygen(file: string, args: Record<string, unknown>): Promise<number> {
  const alg = String(args.alg ?? 'EdDSA');
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 3072 })
        : generateKeyPairSync('ed25519');
  const jwk = { ...(pair.privateKey.export({ format: 'jwk' }) as Record<string, unknown>), alg };
  const key = await loadSigningKey(JSON.stringify(jwk));
  await writeFile(file, JSON.stringify({ ...jwk, kid: key.kid }, null, 2) + '\n', { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') throw new UsageError(`${file} exists; a signing key is never overwritten`);
    throw e;
  });
  const pub = JSON.stringify(key.publicJwk, null, 2) + '\n';
  if (typeof args.public === 'string') await writeFile(args.public, pub);
  process.stderr.write(`wrote the private key to ${file} (mode 0600); the public key, for \`pamc audit verify --key\`:\n`);
  process.stdout.write(pub);
  return EXIT_OK;
}
