// What a session does with a statement whose decision is `approve` (spec/approvals.md): hold it
// and tell the client at once, or — in retry mode — use a grant, or fail now naming the request.

import type { Approvals } from '../../approvals/service.ts';
import { requirementKey, type ApprovalRequest, type Requirement } from '../../approvals/store.ts';
import type { Decision } from '../../policy/decide.ts';
import type { LoadedPolicy } from '../../policy/load.ts';
import type { Identity } from '../../policy/principal.ts';
import type { ClassifiedStatement } from '../../sql/facts.ts';
import { statementKey, type KeyParam } from '../../sql/statement-key.ts';
import { buildNotice } from '../protocol/index.ts';
import type { DenialText } from './denial.ts';
import type { ApprovalRequirement } from '../../../spec/compiled-policy.ts';

export type GateResult =
  /** run it: a retry grant was used (its request id), or nothing needs approval */
  | { kind: 'proceed'; request: string | null }
  | { kind: 'deny'; denial: DenialText; request: string | null }
  /** wait for the request; send `notice` to the client now */
  | { kind: 'hold'; request: ApprovalRequest; notice: Buffer };

export interface GateContext {
  approvals: Approvals | undefined;
  policy: LoadedPolicy;
  session: string;
  target: string;
  identity: Identity;
  sql: string;
  params: KeyParam[];
  statements: readonly ClassifiedStatement[];
  /** what the statements run besides their own text (an EXECUTE's prepared statement, a FETCH's cursor) */
  related?: readonly ClassifiedStatement[];
  /** the bind parameters of the protocol portals (and cursors declared by an Execute) a FETCH reads */
  bound?: readonly (readonly KeyParam[])[];
  /** the parameter types declared at Parse that the statements run with, one line per statement that has them */
  declared?: readonly string[];
  decision: Decision;
}

function window(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function requirements(ctx: GateContext): Requirement[] {
  return ctx.decision.approvals.map(({ rule, approval }) => {
    const r = ctx.policy.rules[rule];
    const location = r.source ? `${ctx.policy.compiled.sources[r.source.file].path}:${r.source.line}:${r.source.column}` : null;
    return { ...approval, rule: { id: rule, text: r.text, location } };
  });
}

function who(reqs: Requirement[]): string {
  return reqs.map((q) => `${q.quorum > 1 ? `${q.quorum} approvers` : '1 approver'} from "${q.group}" (rule ${q.rule.location ?? 'baseline'})`).join(' and ');
}

/** Everything an approval asks for (requirementKey of each requirement, in a stable order). */
export function requirementsSignature(reqs: readonly ApprovalRequirement[]): string {
  return reqs.map(requirementKey).sort().join('\n');
}

export function gate(ctx: GateContext): GateResult {
  if (ctx.decision.effect !== 'approve') return { kind: 'proceed', request: null };
  const reqs = requirements(ctx);
  if (!ctx.approvals || reqs.length === 0) {
    return { kind: 'deny', request: null, denial: { message: 'pamc: approval required, but approvals are not available on this gateway' } };
  }
  const retry = reqs.every((q) => q.mode === 'retry');
  // the statement exactly (constants and bind parameters included), whatever its layout; and
  // what it runs: `EXECUTE p(1)` is another statement when p was prepared again with another body
  // and a FETCH of a protocol portal is another statement when the portal was bound with other parameters
  // — and under the same requirements: a grant given under a rule the policy has since changed is
  // not one the current rule asks for
  const fingerprint = statementKey([...ctx.statements, ...(ctx.related ?? [])], ctx.params, ctx.bound ?? [], requirementsSignature(reqs), ctx.declared ?? []);
  const shortest = Math.min(...reqs.map((q) => q.withinSeconds));
  if (retry) {
    const used = ctx.approvals.useGrant(ctx.session, ctx.identity.subject, ctx.target, fingerprint);
    if (used) return { kind: 'proceed', request: used };
    const pending = ctx.approvals.pendingRetry(ctx.identity.subject, ctx.target, fingerprint);
    const r = pending ?? ctx.approvals.open(newRequest(ctx, 'retry', fingerprint, reqs));
    return {
      kind: 'deny',
      request: r.id,
      denial: {
        message: `pamc: approval required: request ${r.id} needs ${who(reqs)}; run the statement again once it is approved (within ${window(shortest)})`,
        hint: `an approver runs: pamc approve ${r.id}`,
      },
    };
  }
  const r = ctx.approvals.open(newRequest(ctx, 'hold', fingerprint, reqs));
  const until = new Date(r.expiresAt).toISOString().replace(/\.\d+Z$/, 'Z');
  const notice = buildNotice('01000', `pamc: approval required: request ${r.id} waits for ${who(reqs)} until ${until}`, {
    hint: `the statement runs when approved; an approver runs: pamc approve ${r.id}`,
  });
  return { kind: 'hold', request: r, notice };
}

function newRequest(ctx: GateContext, mode: 'hold' | 'retry', fingerprint: string, reqs: Requirement[]) {
  return {
    mode,
    target: ctx.target,
    session: ctx.session,
    requester: { subject: ctx.identity.subject, groups: [...ctx.identity.groups], agent: ctx.identity.agent },
    // an approver of `EXECUTE p` must see what p is
    sql: [
      ctx.sql,
      ...(ctx.related ?? []).map((r) => `-- which runs: ${r.text}`),
      ...(ctx.bound ?? []).map((b) => `-- bound with parameters: ${JSON.stringify(b)}`),
      ...(ctx.declared ?? []).map((d) => `-- parameter types (OIDs) of ${d}`),
    ].join('\n'),
    params: ctx.params,
    facts: ctx.statements.flatMap((s) => s.facts.map((f) => ({ action: f.action, resource: f.resource, ...(f.unbounded ? { unbounded: true } : {}) }))),
    fingerprint,
    requirements: reqs,
  };
}

/** The failure of a held statement whose request did not end approved. */
export function settledDenial(r: ApprovalRequest): DenialText {
  switch (r.status) {
    case 'rejected': {
      const v = r.votes.find((x) => x.decision === 'reject');
      return { message: `pamc: approval rejected by ${v?.approver.subject ?? 'an approver'}${r.outcome ? `: ${r.outcome}` : ''} (request ${r.id})` };
    }
    case 'expired':
      return { sqlstate: '57014', message: `pamc: approval request ${r.id} expired without a decision` };
    default:
      return { sqlstate: '57014', message: `pamc: approval request ${r.id} was withdrawn (${r.outcome ?? 'cancelled'})` };
  }
}
