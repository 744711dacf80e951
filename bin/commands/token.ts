// `pamc token --dev`: mints a token signed with the development key that examples/quickstart
// trusts. The key is public (it ships with pamc), so such a token proves nothing: local use only.

import { importJWK, SignJWT, type JWK } from 'jose';
import devKey from '../dev-key.json' with { type: 'json' };
import { compilePaths, EXIT_OK, listOf, splitList, UsageError, type CommandModule } from './common.ts';

const DEFAULT_ISSUER = 'https://dev.pamc.local/';
const DEFAULT_AUDIENCE = 'pamc';

function parseTtl(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) throw new UsageError(`\`--ttl ${text}\` is not a duration like 30m or 8h`);
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (seconds < 1 || seconds > 30 * 86400) throw new UsageError('`--ttl` must be between 1s and 30d');
  return seconds;
}

export const tokenCommand: CommandModule = {
  command: 'token',
  describe: 'mint a development token (signed with the public development key: local use only)',
  builder: (y) =>
    y
      .option('dev', { type: 'boolean', demandOption: true, describe: 'required: says you know this token is for local use only' })
      .option('groups', { type: 'string', describe: 'groups claim values (comma-separated or repeated)' })
      .option('agent', { type: 'string', describe: 'the agent claim' })
      .option('sub', { type: 'string', default: 'dev-agent', describe: 'the subject' })
      .option('ttl', { type: 'string', default: '8h', describe: 'lifetime, e.g. 30m, 8h' })
      .option('policy', { type: 'string', describe: 'take issuer, audience and claim names from this policy' })
      .option('claim', { type: 'string', describe: 'an extra claim, k=v (repeatable)' })
      .example('$0 token --dev --groups analysts --agent researcher', 'a token for the quickstart')
      .example('PGPASSWORD=$($0 token --dev --groups analysts) psql "host=127.0.0.1 port=6432 user=agent dbname=shop"', 'connect'),
  handler: async (args) => {
    if (args.dev !== true) throw new UsageError('`pamc token` only mints development tokens: pass `--dev`');
    let issuer = DEFAULT_ISSUER;
    let audience = DEFAULT_AUDIENCE;
    let groupsClaim = 'groups';
    let agentClaim = 'agent';
    if (typeof args.policy === 'string') {
      const out = await compilePaths([args.policy]);
      if (!out.policy) throw new UsageError(`the policy \`${args.policy}\` does not compile; run \`pamc check\``);
      issuer = out.policy.identity.issuer;
      audience = out.policy.identity.audiences[0];
      groupsClaim = out.policy.identity.groupsClaim;
      agentClaim = out.policy.identity.agentClaim ?? 'agent';
    }
    const claims: Record<string, unknown> = { [groupsClaim]: splitList(args.groups) };
    if (typeof args.agent === 'string') claims[agentClaim] = args.agent;
    for (const c of listOf(args.claim)) {
      const eq = c.indexOf('=');
      if (eq <= 0) throw new UsageError(`\`--claim ${c}\` is not k=v`);
      claims[c.slice(0, eq)] = c.slice(eq + 1);
    }
    const key = await importJWK(devKey.key as JWK, 'ES256');
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: devKey.key.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(String(args.sub))
      .setIssuedAt()
      .setExpirationTime(`${parseTtl(String(args.ttl))}s`)
      .sign(key);
    process.stderr.write('pamc: a development token, signed with the public development key: local use only\n');
    process.stdout.write(`${token}\n`);
    return EXIT_OK;
  },
};
