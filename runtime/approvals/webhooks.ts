// Webhook notifications of approval events (spec/approvals.md §5): JSON signed with HMAC-SHA-256
// (`X-Pamc-Signature: sha256=<hex>` over `<timestamp>.<body>`, `X-Pamc-Timestamp`), or a
// Slack-compatible `{ "text": … }` payload. Deliveries are queued (bounded) and retried with
// exponential backoff; a failing webhook never stalls the gateway.

import { createHmac } from 'node:crypto';
import type { Logger } from '../gateway/log.ts';
import type { ApprovalRequest } from './store.ts';

export interface WebhookTarget {
  url: string;
  /** HMAC key; null sends unsigned (only allowed for the slack format) */
  secret: string | null;
  format: 'json' | 'slack';
}

export type WebhookEvent = 'requested' | 'approved' | 'rejected' | 'expired' | 'withdrawn';

const MAX_QUEUE = 1000;
const ATTEMPTS = 6;
const BASE_DELAY_MS = 500;
const TIMEOUT_MS = 5000;

interface Delivery {
  target: WebhookTarget;
  body: string;
  attempt: number;
}

/** The JSON a webhook receives: what an approver needs to decide, without bind parameters' values. */
export function eventPayload(event: WebhookEvent, r: ApprovalRequest, apiUrl: string | null) {
  return {
    event,
    request: r.id,
    status: r.status,
    mode: r.mode,
    target: r.target,
    requester: r.requester,
    sql: r.sql,
    facts: r.facts,
    requirements: r.requirements.map((q) => ({ group: q.group, quorum: q.quorum, withinSeconds: q.withinSeconds, rule: q.rule })),
    votes: r.votes.map((v) => ({ approver: v.approver.subject, decision: v.decision, reason: v.reason, at: new Date(v.at).toISOString() })),
    outcome: r.outcome,
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    ...(apiUrl ? { url: `${apiUrl.replace(/\/$/, '')}/approvals/${r.id}` } : {}),
  };
}

function slackText(event: WebhookEvent, r: ApprovalRequest, apiUrl: string | null): string {
  const who = r.requester.agent ? `${r.requester.agent} (${r.requester.subject})` : r.requester.subject;
  const groups = r.requirements.map((q) => `"${q.group}"${q.quorum > 1 ? ` ×${q.quorum}` : ''}`).join(', ');
  const head = {
    requested: `:lock: Approval needed on *${r.target}* for ${who}`,
    approved: `:white_check_mark: Approved on *${r.target}* for ${who}`,
    rejected: `:no_entry: Rejected on *${r.target}* for ${who}: ${r.outcome ?? ''}`,
    expired: `:hourglass: Expired on *${r.target}* for ${who}`,
    withdrawn: `:leftwards_arrow_with_hook: Withdrawn on *${r.target}* for ${who}`,
  }[event];
  const sql = r.sql.length > 1500 ? `${r.sql.slice(0, 1500)}…` : r.sql;
  const how = event === 'requested' ? `\nApprovers: ${groups}. \`pamc approve ${r.id}\`${apiUrl ? ` or ${apiUrl.replace(/\/$/, '')}/approvals/${r.id}` : ''}` : '';
  return `${head}\n\`\`\`${sql}\`\`\`\nrequest ${r.id}${how}`;
}

/** The signature header value for a body sent at a time (seconds). */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class Webhooks {
  private readonly queue: Delivery[] = [];
  private running = 0;
  private closed = false;

  constructor(
    private readonly targets: readonly WebhookTarget[],
    private readonly log: Logger,
    private readonly apiUrl: string | null,
  ) {}

  notify(event: WebhookEvent, r: ApprovalRequest): void {
    if (this.closed) return;
    for (const target of this.targets) {
      const body = JSON.stringify(target.format === 'slack' ? { text: slackText(event, r, this.apiUrl) } : eventPayload(event, r, this.apiUrl));
      if (this.queue.length >= MAX_QUEUE) {
        this.log.warn('webhook-queue-full', { dropped: event, request: r.id });
        continue;
      }
      this.queue.push({ target, body, attempt: 0 });
    }
    this.pump();
  }

  private pump(): void {
    while (this.running < 4 && this.queue.length > 0) {
      const d = this.queue.shift()!;
      this.running++;
      void this.deliver(d).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    const ts = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'pamc-webhook' };
    if (d.target.secret) {
      headers['x-pamc-timestamp'] = String(ts);
      headers['x-pamc-signature'] = signature(d.target.secret, ts, d.body);
    }
    let problem: string;
    try {
      const res = await fetch(d.target.url, { method: 'POST', headers, body: d.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (res.ok) return;
      problem = `HTTP ${res.status}`;
      // A client error other than throttling will not get better by retrying.
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        this.log.warn('webhook-refused', { status: res.status, host: new URL(d.target.url).host });
        return;
      }
    } catch (e) {
      problem = (e as Error).name === 'TimeoutError' ? 'timeout' : (e as Error).message;
    }
    if (d.attempt + 1 >= ATTEMPTS || this.closed) {
      this.log.warn('webhook-failed', { host: safeHost(d.target.url), attempts: d.attempt + 1, problem });
      return;
    }
    const delay = BASE_DELAY_MS * 2 ** d.attempt;
    setTimeout(() => {
      this.queue.push({ ...d, attempt: d.attempt + 1 });
      this.pump();
    }, delay).unref();
  }

  /** Resolves when nothing is queued or in flight (tests, shutdown), or after `ms`. */
  async drain(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while ((this.queue.length > 0 || this.running > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  close(): void {
    this.closed = true;
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid url)';
  }
}
