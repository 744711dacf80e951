// `pamc approvals list`, `pamc approve <id>`, `pamc reject <id> --reason`: the approvals API
// from the command line. The approver's own OIDC token comes from --token or PAMC_TOKEN; the
// gateway from --url or PAMC_URL (default: the admin listener on 127.0.0.1:6480).

import type { Argv } from 'yargs';
import { EXIT_OK, EXIT_PROBLEMS, UsageError, type CommandModule } from './common.ts';

const DEFAULT_URL = 'http://127.0.0.1:6480';

function connection(args: Record<string, unknown>): { url: string; token: string } {
  const url = String(args.url ?? process.env.PAMC_URL ?? DEFAULT_URL).replace(/\/$/, '');
  const token = String(args.token ?? process.env.PAMC_TOKEN ?? '');
  if (token === '') throw new UsageError('give your OIDC token with --token or the PAMC_TOKEN environment variable');
  return { url, token };
}

function common(y: Argv): Argv {
  return y
    .option('url', { type: 'string', describe: `the gateway's approvals API (default: $PAMC_URL or ${DEFAULT_URL})` })
    .option('token', { type: 'string', describe: "the approver's OIDC token (default: $PAMC_TOKEN)" })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

async function call(args: Record<string, unknown>, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; data: Record<string, unknown> }> {
  const { url, token } = connection(args);
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new UsageError(`cannot reach ${url}: ${(e as Error).message}`);
  }
  let data: Record<string, unknown> = {};
  try {
    data = (await res.json()) as Record<string, unknown>;
  } catch {
    data = { error: `the gateway answered ${res.status} without JSON` };
  }
  return { status: res.status, data };
}

function fail(r: { status: number; data: Record<string, unknown> }): number {
  process.stderr.write(`pamc: ${String(r.data.error ?? `HTTP ${r.status}`)}\n`);
  return EXIT_PROBLEMS;
}

function describe(r: Record<string, unknown>): string {
  const requester = r.requester as { subject: string; agent: string | null };
  const who = requester.agent ? `${requester.agent} (${requester.subject})` : requester.subject;
  const lines = [
    `${String(r.id)}  ${String(r.status)}  target ${String(r.target)}  by ${who}`,
    `  ${String(r.sql).replace(/\s+/g, ' ')}`,
    `  needs ${String(r.quorum)} approver(s) from ${(r.groups as string[]).map((g) => `"${g}"`).join(', ')}; ${String(r.approvals)} so far; expires ${String(r.expiresAt)}`,
  ];
  if (Array.isArray(r.votes)) for (const v of r.votes as { approver: string; decision: string; reason: string | null }[]) lines.push(`  ${v.decision} by ${v.approver}${v.reason ? `: ${v.reason}` : ''}`);
  if (r.outcome) lines.push(`  outcome: ${String(r.outcome)}`);
  return lines.join('\n');
}

export const approvalsCommand: CommandModule = {
  command: 'approvals [action]',
  describe: 'list the approval requests you may decide',
  builder: (y) =>
    common(y)
      .positional('action', { choices: ['list', 'show'] as const, default: 'list' as const })
      .option('id', { type: 'string', describe: 'with `show`: the request' })
      .example('PAMC_TOKEN=$(get-my-token) $0 approvals list', 'pending requests for your groups')
      .example('$0 approvals show --id apr_x', 'one request in full'),
  handler: async (args) => {
    const show = args.action === 'show';
    if (show && typeof args.id !== 'string') throw new UsageError('`pamc approvals show` needs --id');
    const r = await call(args, 'GET', show ? `/approvals/${encodeURIComponent(String(args.id))}` : '/approvals');
    if (r.status !== 200) return fail(r);
    if (args.json) process.stdout.write(JSON.stringify(r.data, null, 2) + '\n');
    else if (show) process.stdout.write(describe(r.data) + '\n');
    else {
      const list = r.data.requests as Record<string, unknown>[];
      process.stdout.write(list.length === 0 ? 'no pending requests for your groups\n' : list.map(describe).join('\n\n') + '\n');
    }
    return EXIT_OK;
  },
};

function decisionCommand(verb: 'approve' | 'reject'): CommandModule {
  return {
    command: `${verb} <id>`,
    describe: verb === 'approve' ? 'approve a held statement' : 'reject a held statement (a reason is required)',
    builder: (y) =>
      common(y)
        .positional('id', { type: 'string', describe: 'the request id (from the notice, the webhook or `pamc approvals list`)' })
        .option('reason', { type: 'string', describe: verb === 'reject' ? 'why (required)' : 'why (optional)', demandOption: verb === 'reject' })
        .example(`$0 ${verb} apr_x ${verb === 'reject' ? '--reason "not during the freeze"' : ''}`.trim(), `${verb} a request`),
    handler: async (args) => {
      const body = typeof args.reason === 'string' ? { reason: args.reason } : {};
      const r = await call(args, 'POST', `/approvals/${encodeURIComponent(String(args.id))}/${verb}`, body);
      if (r.status !== 200) return fail(r);
      if (args.json) process.stdout.write(JSON.stringify(r.data, null, 2) + '\n');
      else process.stdout.write(describe(r.data) + '\n');
      return EXIT_OK;
    },
  };
}

export const approveCommand = decisionCommand('approve');
export const rejectCommand = decisionCommand('reject');
