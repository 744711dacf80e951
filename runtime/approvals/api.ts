// The approvals HTTP API (spec/approvals.md §4), JSON over the admin listener or its own:
//
//   GET  /approvals                 pending requests the caller may decide
//   GET  /approvals/<id>            one request: identity, agent, target, SQL, parameters, facts, rules
//   POST /approvals/<id>/approve    {"reason": "…"}   (reason optional)
//   POST /approvals/<id>/reject     {"reason": "…"}   (reason required)
//
// Callers authenticate with their own OIDC token (`Authorization: Bearer …`), verified against
// the policy's identity block; they may see and decide a request only if they hold one of its
// approver groups, and never their own.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenVerifier } from '../identity/verify-token.ts';
import { TokenError } from '../identity/verify-token.ts';
import type { Logger } from '../gateway/log.ts';
import type { Approvals } from './service.ts';
import { ApprovalError, type ApprovalRequest, type Approver } from './store.ts';

const MAX_BODY = 16 * 1024;

export interface ApiDeps {
  approvals: () => Approvals | null;
  verifier: () => TokenVerifier;
  log: Logger;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body) + '\n');
}

function summary(r: ApprovalRequest) {
  return {
    id: r.id,
    status: r.status,
    mode: r.mode,
    target: r.target,
    requester: r.requester,
    sql: r.sql.length > 500 ? `${r.sql.slice(0, 500)}…` : r.sql,
    groups: r.requirements.map((q) => q.group),
    approvals: r.votes.filter((v) => v.decision === 'approve').length,
    quorum: Math.max(...r.requirements.map((q) => q.quorum)),
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
  };
}

export function detail(r: ApprovalRequest) {
  return {
    ...summary(r),
    sql: r.sql,
    session: r.session,
    params: r.params,
    facts: r.facts,
    fingerprint: r.fingerprint,
    requirements: r.requirements.map((q) => ({ group: q.group, quorum: q.quorum, withinSeconds: q.withinSeconds, mode: q.mode, uses: q.uses, rule: q.rule })),
    votes: r.votes.map((v) => ({ approver: v.approver.subject, decision: v.decision, reason: v.reason, at: new Date(v.at).toISOString() })),
    outcome: r.outcome,
  };
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'the request body is too large');
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new ApiError(400, 'the request body is not a JSON object');
  }
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function authenticate(req: IncomingMessage, deps: ApiDeps): Promise<Approver> {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) throw new ApiError(401, 'send your OIDC token as `Authorization: Bearer <token>`');
  try {
    const id = await deps.verifier().verify(m[1]);
    return { subject: id.subject, groups: id.groups };
  } catch (e) {
    if (e instanceof TokenError) {
      deps.log.info('approvals-api-unauthenticated', { reason: e.reason, detail: e.detail });
      throw new ApiError(401, e.message);
    }
    throw e;
  }
}

/** Handles a request under /approvals; returns false when the path is not the API's. */
export async function handleApprovalsApi(req: IncomingMessage, res: ServerResponse, deps: ApiDeps): Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/approvals' && !path.startsWith('/approvals/')) return false;
  try {
    const approvals = deps.approvals();
    if (!approvals) throw new ApiError(404, 'approvals are not enabled on this gateway');
    const approver = await authenticate(req, deps);
    const parts = path.split('/').filter((p) => p !== '');
    if (parts.length === 1) {
      if (req.method !== 'GET') throw new ApiError(405, 'use GET');
      json(res, 200, { requests: approvals.store.pendingFor(approver).map(summary) });
      return true;
    }
    let id: string;
    try {
      id = decodeURIComponent(parts[1]);
    } catch {
      throw new ApiError(404, 'no approval request with that id'); // malformed percent-encoding is no id
    }
    const r = approvals.store.get(id);
    // A request the caller may not decide does not exist for them.
    const visible = r && r.requirements.some((q) => approver.groups.includes(q.group));
    if (parts.length === 2) {
      if (req.method !== 'GET') throw new ApiError(405, 'use GET');
      if (!r || !visible) throw new ApiError(404, `no approval request ${id}`);
      json(res, 200, detail(r));
      return true;
    }
    if (parts.length === 3 && (parts[2] === 'approve' || parts[2] === 'reject')) {
      if (req.method !== 'POST') throw new ApiError(405, 'use POST');
      if (!r || !visible) throw new ApiError(404, `no approval request ${id}`);
      const body = await readBody(req);
      const reason = typeof body.reason === 'string' && body.reason.trim() !== '' ? body.reason.slice(0, 2000) : null;
      if (parts[2] === 'reject' && reason === null) throw new ApiError(400, 'a rejection needs a reason');
      const after = approvals.store.decide(id, approver, parts[2] === 'approve' ? 'approve' : 'reject', reason);
      deps.log.info('approval-decision', { request: id, approver: approver.subject, decision: parts[2], status: after.status });
      json(res, 200, detail(after));
      return true;
    }
    throw new ApiError(404, 'no such resource');
  } catch (e) {
    if (e instanceof ApiError || e instanceof ApprovalError) json(res, e.status, { error: e.message });
    else {
      deps.log.error('approvals-api-error', { error: (e as Error).message });
      json(res, 500, { error: 'internal error' });
    }
    return true;
  }
}
