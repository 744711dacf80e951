// The gateway's approvals: the request store, retry-mode grants, webhooks and the audit trail
// of every approval event, behind one object the sessions and the HTTP API share.

import type { Recorder } from '../audit/recorder.ts';
import type { Logger } from '../gateway/log.ts';
import { GrantBook } from './grants.ts';
import { ApprovalStore, type ApprovalRequest, type NewRequest } from './store.ts';
import { Webhooks, type WebhookEvent, type WebhookTarget } from './webhooks.ts';

export interface ApprovalsOptions {
  log: Logger;
  /** where retry-mode grants are kept across restarts, or null */
  grantsDir: string | null;
  webhooks: WebhookTarget[];
  /** the public URL of the approvals API, for links in notifications */
  apiUrl: string | null;
  /** session records, when the policy has an audit block */
  recorder?: () => Recorder | null;
}

const EVENTS: WebhookEvent[] = ['requested', 'approved', 'rejected', 'expired', 'withdrawn'];

export class Approvals {
  readonly store = new ApprovalStore();
  readonly grants: GrantBook;
  private webhooks: Webhooks;

  constructor(private readonly opts: ApprovalsOptions) {
    this.grants = new GrantBook(opts.grantsDir);
    // every held statement waits on the store: as many listeners as sessions
    this.store.setMaxListeners(0);
    this.webhooks = new Webhooks(opts.webhooks, opts.log, opts.apiUrl);
    for (const event of EVENTS) {
      this.store.on(event, (r: ApprovalRequest) => {
        this.webhooks.notify(event, r);
        opts.log.info('approval', { event, request: r.id, target: r.target, subject: r.requester.subject, status: r.status, outcome: r.outcome });
        // approvals and rejections are recorded with their approver, as votes (below)
        if (event !== 'approved' && event !== 'rejected') this.record(r, event);
      });
    }
    this.store.on('vote', (r: ApprovalRequest, v: ApprovalRequest['votes'][number]) => {
      this.opts.recorder?.()?.approval(r.session, {
        request: r.id,
        event: v.decision === 'approve' ? 'approved' : 'rejected',
        by: { subject: v.approver.subject, groups: v.approver.groups },
        reason: v.reason,
        approvals: r.votes.filter((x) => x.decision === 'approve').length,
      });
    });
    this.store.on('approved', (r: ApprovalRequest) => {
      if (r.mode !== 'retry') return;
      const uses = Math.min(...r.requirements.map((q) => q.uses));
      this.grants.add({ request: r.id, subject: r.requester.subject, target: r.target, fingerprint: r.fingerprint, usesLeft: uses, expiresAt: r.expiresAt });
      this.opts.recorder?.()?.approval(r.session, { request: r.id, event: 'granted', mode: 'retry', expiresAt: r.expiresAt, fingerprint: r.fingerprint });
    });
  }

  private record(r: ApprovalRequest, event: WebhookEvent): void {
    const q = r.requirements[0];
    this.opts.recorder?.()?.approval(r.session, {
      request: r.id,
      event,
      rule: q?.rule.id,
      group: q?.group,
      quorum: q?.quorum,
      approvals: r.votes.filter((v) => v.decision === 'approve').length,
      mode: r.mode,
      expiresAt: r.expiresAt,
      fingerprint: r.fingerprint,
      reason: r.outcome,
      ...(event === 'requested' ? { by: { subject: r.requester.subject, groups: r.requester.groups } } : {}),
    });
  }

  /** Replaces the webhook configuration after a policy reload. */
  reconfigure(webhooks: WebhookTarget[], apiUrl: string | null): void {
    this.webhooks.close();
    this.webhooks = new Webhooks(webhooks, this.opts.log, apiUrl);
  }

  open(r: NewRequest): ApprovalRequest {
    return this.store.open(r);
  }

  /** Uses a retry-mode grant, recording the use; null when there is none. */
  useGrant(session: string, subject: string, target: string, fingerprint: string): string | null {
    const g = this.grants.consume(subject, target, fingerprint);
    if (!g) return null;
    this.opts.recorder?.()?.approval(session, { request: g.request, event: 'used', mode: 'retry', fingerprint });
    return g.request;
  }

  /** A pending retry-mode request for the same identity, target and statement, to answer with again. */
  pendingRetry(subject: string, target: string, fingerprint: string): ApprovalRequest | undefined {
    return this.store.all().find((r) => r.status === 'pending' && r.mode === 'retry' && r.requester.subject === subject && r.target === target && r.fingerprint === fingerprint);
  }

  /** Resolves when the request leaves `pending`. */
  settled(id: string): Promise<ApprovalRequest> {
    const r = this.store.get(id);
    if (!r) return Promise.reject(new Error(`no request ${id}`));
    if (r.status !== 'pending') return Promise.resolve(r);
    return new Promise((resolve) => {
      const on = (x: ApprovalRequest) => {
        if (x.id !== id) return;
        this.store.off('finished', on);
        resolve(x);
      };
      this.store.on('finished', on);
    });
  }

  async close(): Promise<void> {
    this.store.closeAll();
    await this.webhooks.drain(2000);
    this.webhooks.close();
  }
}
