// Approval requests (spec/approvals.md): a statement whose decision is `approve` becomes a
// request that waits for the quorum of distinct approvers of each approve rule that applied,
// within the shortest of their windows. Nobody approves their own request; one rejection by an
// approver of a required group rejects it; a request nobody decides expires.
//
// The store holds requests in memory (held statements cannot outlive their session) and
// emits an event on every change; retry-mode grants are kept by grants.ts.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ApprovalRequirement } from '../../spec/compiled-policy.ts';
import type { KeyParam } from '../sql/statement-key.ts';

/**
 * What an approval asks for, as one string: the group, quorum, window, mode and uses of a
 * requirement. A request or grant made under other requirements (a reload changed the rule) does
 * not stand for the statement now.
 */
export function requirementKey(q: ApprovalRequirement): string {
  return JSON.stringify([q.group, q.quorum, q.withinSeconds, q.mode, q.uses]);
}

export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';

export interface Requester {
  subject: string;
  groups: readonly string[];
  agent: string | null;
}

export interface Approver {
  subject: string;
  groups: readonly string[];
}

export interface RuleRef {
  id: number;
  text: string;
  /** `file:line:col`, or null for rules without a source */
  location: string | null;
}

export interface Requirement extends ApprovalRequirement {
  rule: RuleRef;
}

export interface Vote {
  approver: Approver;
  decision: 'approve' | 'reject';
  reason: string | null;
  at: number;
}

export interface ApprovalRequest {
  id: string;
  status: RequestStatus;
  createdAt: number;
  expiresAt: number;
  mode: 'hold' | 'retry';
  target: string;
  session: string;
  requester: Requester;
  sql: string;
  /** bind parameters as text, for the approver to see what will run */
  /** bind parameters: text, NULL, or `{ base64 }` for a binary one */
  params: KeyParam[];
  facts: { action: string; resource: string; unbounded?: boolean }[];
  fingerprint: string;
  requirements: Requirement[];
  votes: Vote[];
  /** why it ended: the rejection's reason, "expired", "withdrawn by the client" */
  outcome: string | null;
}

export interface NewRequest {
  mode: 'hold' | 'retry';
  target: string;
  session: string;
  requester: Requester;
  sql: string;
  /** bind parameters: text, NULL, or `{ base64 }` for a binary one */
  params: KeyParam[];
  facts: ApprovalRequest['facts'];
  fingerprint: string;
  requirements: Requirement[];
}

export class ApprovalError extends Error {
  constructor(
    /** HTTP status the API answers with */
    readonly status: 403 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** Request ids: 16 random bytes, unguessable (an id is not a credential, but it should not be enumerable). */
function newId(): string {
  return `apr_${randomBytes(12).toString('base64url')}`;
}

const MAX_FINISHED = 1000;

export class ApprovalStore extends EventEmitter {
  private readonly requests = new Map<string, ApprovalRequest>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly finished: string[] = [];

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  /** Opens a request; it expires by itself at the end of the shortest window of its rules. */
  open(r: NewRequest): ApprovalRequest {
    const createdAt = this.now();
    const window = Math.min(...r.requirements.map((q) => q.withinSeconds));
    const req: ApprovalRequest = {
      ...r,
      id: newId(),
      status: 'pending',
      createdAt,
      expiresAt: createdAt + window * 1000,
      votes: [],
      outcome: null,
    };
    this.requests.set(req.id, req);
    const t = setTimeout(() => this.finish(req, 'expired', 'the approval window passed'), window * 1000);
    t.unref();
    this.timers.set(req.id, t);
    this.emit('requested', req);
    return req;
  }

  get(id: string): ApprovalRequest | undefined {
    return this.requests.get(id);
  }

  /** Pending requests an approver may decide (they hold a required group), newest first. */
  pendingFor(approver: Approver): ApprovalRequest[] {
    return [...this.requests.values()].filter((r) => r.status === 'pending' && this.mayDecide(r, approver)).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Every request still kept (pending and recently finished), newest first. */
  all(): ApprovalRequest[] {
    return [...this.requests.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  private mayDecide(r: ApprovalRequest, a: Approver): boolean {
    return r.requirements.some((q) => a.groups.includes(q.group));
  }

  /** Records an approver's decision. Throws ApprovalError for what the API must refuse. */
  decide(id: string, approver: Approver, decision: 'approve' | 'reject', reason: string | null): ApprovalRequest {
    const r = this.requests.get(id);
    if (!r) throw new ApprovalError(404, `no approval request ${id}`);
    if (!this.mayDecide(r, approver)) {
      throw new ApprovalError(403, `approving needs membership of ${r.requirements.map((q) => `"${q.group}"`).join(' or ')}`);
    }
    if (approver.subject === r.requester.subject) throw new ApprovalError(403, 'nobody approves their own request');
    if (r.status !== 'pending') throw new ApprovalError(409, `the request is already ${r.status}`);
    if (this.now() >= r.expiresAt) {
      this.finish(r, 'expired', 'the approval window passed');
      throw new ApprovalError(409, 'the request has expired');
    }
    if (r.votes.some((v) => v.approver.subject === approver.subject)) throw new ApprovalError(409, 'you have already decided this request');
    r.votes.push({ approver: { subject: approver.subject, groups: [...approver.groups] }, decision, reason, at: this.now() });
    this.emit('vote', r, r.votes[r.votes.length - 1]);
    if (decision === 'reject') this.finish(r, 'rejected', reason ?? 'rejected');
    else if (this.quorumMet(r)) this.finish(r, 'approved', null);
    return r;
  }

  /** Every requirement has its quorum of distinct approving members of its group. */
  private quorumMet(r: ApprovalRequest): boolean {
    return r.requirements.every((q) => r.votes.filter((v) => v.decision === 'approve' && v.approver.groups.includes(q.group)).length >= q.quorum);
  }

  /** The client cancelled or went away. */
  withdraw(id: string, why = 'withdrawn by the client'): void {
    const r = this.requests.get(id);
    if (r && r.status === 'pending') this.finish(r, 'withdrawn', why);
  }

  /** The gateway stops: pending requests end as withdrawn. */
  closeAll(): void {
    for (const r of this.requests.values()) if (r.status === 'pending') this.finish(r, 'withdrawn', 'the gateway stopped');
  }

  private finish(r: ApprovalRequest, status: Exclude<RequestStatus, 'pending'>, outcome: string | null): void {
    if (r.status !== 'pending') return;
    r.status = status;
    r.outcome = outcome;
    const t = this.timers.get(r.id);
    if (t) clearTimeout(t);
    this.timers.delete(r.id);
    this.finished.push(r.id);
    while (this.finished.length > MAX_FINISHED) this.requests.delete(this.finished.shift()!);
    this.emit(status, r);
    this.emit('finished', r);
  }
}
