// `pamc audit export --format ocsf`: session records as OCSF 1.3 events of the Datastore Activity
// class (category 6 Application Activity, class_uid 6005). spec/audit.md §9 documents the mapping.

import type { AuditRecord, ConnectRecord, StatementRecord } from './records.ts';

export const OCSF_VERSION = '1.3.0';
const CLASS_UID = 6005;

/** Datastore Activity activities. */
const ACTIVITY = {
  Read: 1,
  Update: 2,
  Connect: 3,
  Query: 4,
  Write: 5,
  Create: 6,
  Delete: 7,
  Other: 99,
} as const;
type ActivityName = keyof typeof ACTIVITY;

const SEVERITY = { Informational: 1, Low: 2, Medium: 3, High: 4 } as const;
type SeverityName = keyof typeof SEVERITY;

/** The strongest activity among a statement's facts: Delete > Update > Write > Create > Query > Other. */
export function statementActivity(s: Pick<StatementRecord, 'facts'>): ActivityName {
  const rank: ActivityName[] = ['Delete', 'Update', 'Write', 'Create', 'Query', 'Other'];
  let best = rank.length - 1;
  for (const f of s.facts) {
    let a: ActivityName = 'Other';
    switch (f.action) {
      case 'delete':
      case 'truncate':
      case 'drop':
        a = 'Delete';
        break;
      case 'update':
      case 'merge':
      case 'alter':
        a = 'Update';
        break;
      case 'insert':
      case 'copy_in':
        a = 'Write';
        break;
      case 'create':
        a = 'Create';
        break;
      case 'select':
      case 'copy_out':
        a = 'Query';
        break;
    }
    best = Math.min(best, rank.indexOf(a));
  }
  return rank[best];
}

export interface OcsfContext {
  /** connect records by session, to give every event its actor and endpoints */
  sessions: Map<string, ConnectRecord>;
  /** approval request → the session that asked */
  requests: Map<string, string>;
  log: string | null;
  version?: string | null;
  /** the fingerprint of a statement text, for records that do not carry one */
  fingerprint?: (text: string) => string;
}

function base(r: AuditRecord, ctx: OcsfContext, activity: ActivityName, activityName: string, severity: SeverityName, ok: boolean, session?: string) {
  const c = session !== undefined ? ctx.sessions.get(session) : undefined;
  const event: Record<string, unknown> = {
    category_uid: 6,
    category_name: 'Application Activity',
    class_uid: CLASS_UID,
    class_name: 'Datastore Activity',
    activity_id: ACTIVITY[activity],
    activity_name: activityName,
    type_uid: CLASS_UID * 100 + ACTIVITY[activity],
    type_name: `Datastore Activity: ${activityName}`,
    time: Date.parse(r.ts),
    severity_id: SEVERITY[severity],
    severity,
    status_id: ok ? 1 : 2,
    status: ok ? 'Success' : 'Failure',
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'pamc', vendor_name: 'pamc', ...(ctx.version ? { version: ctx.version } : {}) },
      uid: `${ctx.log ?? 'log'}:${r.seq}`,
      log_name: ctx.log ?? undefined,
      sequence: r.seq,
      original_time: r.ts,
      ...(session !== undefined ? { correlation_uid: session } : {}),
    },
  };
  if (c) {
    const id = c.identity;
    event.actor = {
      ...(id
        ? {
            user: { uid: id.subject, name: id.subject, groups: id.groups.map((name) => ({ name })), ...(id.issuer ? { domain: id.issuer } : {}) },
            ...(id.agent ? { app_name: id.agent } : {}),
          }
        : {}),
      session: { uid: c.session, created_time: Date.parse(c.ts), is_remote: true },
    };
    event.src_endpoint = { ip: c.client.address, ...(c.client.port !== undefined ? { port: c.client.port } : {}) };
    event.dst_endpoint = { name: c.target.name, svc_name: c.target.kind };
    event.database = { name: c.target.database ?? c.target.name, type: c.target.kind === 'postgres' ? 'PostgreSQL' : c.target.kind };
    if (c.tls) event.tls = { version: c.tls.protocol, ...(c.tls.cipher ? { cipher: c.tls.cipher } : {}) };
  }
  return event;
}

/** An OCSF event for a record, or null for records that describe the log itself (open, checkpoint). */
export function toOcsf(r: AuditRecord, ctx: OcsfContext): Record<string, unknown> | null {
  switch (r.kind) {
    case 'connect': {
      ctx.sessions.set(r.session, r);
      const ok = r.outcome === 'accepted';
      const e = base(r, ctx, 'Connect', 'Connect', ok ? 'Informational' : 'Medium', ok, r.session);
      if (!ok) {
        e.disposition_id = 2;
        e.disposition = 'Blocked';
      }
      if (r.error) {
        e.status_code = r.error.code;
        e.status_detail = r.error.message;
      }
      e.message = ok ? `session ${r.session} opened` : `connection refused: ${r.error?.message ?? 'rejected'}`;
      e.unmapped = { pamc: { kind: r.kind, application: r.application, policy: r.policy } };
      return e;
    }
    case 'statement': {
      if (r.approval !== undefined) ctx.requests.set(r.approval, r.session);
      const activity = statementActivity(r);
      const ok = r.outcome === 'ok';
      const blocked = r.decision === 'deny' || r.outcome === 'denied' || r.outcome === 'refused' || r.outcome === 'rejected' || r.outcome === 'expired';
      const e = base(r, ctx, activity, activity, blocked ? 'Medium' : 'Informational', ok, r.session);
      if (r.outcome === 'unknown') {
        // forwarded, the session ended before the server answered: it may have run
        e.status_id = 0;
        e.status = 'Unknown';
      }
      const uid = r.fingerprint ?? ctx.fingerprint?.(r.text);
      e.query_info = { query_string: r.text, ...(uid ? { uid } : {}) };
      e.disposition_id = blocked ? 2 : r.decision === 'approve' ? 99 : 1;
      e.disposition = blocked ? 'Blocked' : r.decision === 'approve' ? 'Approved' : 'Allowed';
      if (r.error) {
        e.status_code = r.error.code;
        e.status_detail = r.error.message;
      }
      e.message = `${r.decision} ${r.outcome}: ${r.text.replace(/\s+/g, ' ').slice(0, 200)}`;
      e.unmapped = {
        pamc: {
          kind: r.kind,
          decision: r.decision,
          outcome: r.outcome,
          rules: r.rules,
          facts: r.facts,
          params: r.params,
          paramTypes: r.paramTypes,
          runs: r.runs,
          approval: r.approval,
          rows: r.rows,
          masked: r.masked,
          limit: r.limit,
          timing: r.timing,
        },
      };
      return e;
    }
    case 'disconnect': {
      const e = base(r, ctx, 'Other', 'Disconnect', 'Informational', r.reason !== 'error', r.session);
      e.message = `session ${r.session} closed (${r.reason})`;
      if (r.error) {
        e.status_code = r.error.code;
        e.status_detail = r.error.message;
      }
      e.unmapped = { pamc: { kind: r.kind, reason: r.reason, durationMs: r.durationMs, statements: r.statements, denied: r.denied } };
      ctx.sessions.delete(r.session);
      return e;
    }
    case 'approval': {
      const ok = r.event !== 'rejected' && r.event !== 'expired';
      const session = r.session ?? ctx.requests.get(r.request);
      if (r.session !== undefined) ctx.requests.set(r.request, r.session);
      const e = base(r, ctx, 'Other', `Approval ${r.event}`, 'Low', ok, session);
      // the actor of a decision is the approver, not the session's identity
      if (r.by && r.event !== 'requested') {
        e.actor = { user: { uid: r.by.subject, name: r.by.subject, ...(r.by.groups ? { groups: r.by.groups.map((name) => ({ name })) } : {}) } };
      }
      e.message = `approval ${r.request} ${r.event}${r.by ? ` by ${r.by.subject}` : ''}${r.reason ? `: ${r.reason}` : ''}`;
      e.unmapped = { pamc: { ...r, prev: undefined } };
      return e;
    }
    case 'outage': {
      const e = base(r, ctx, 'Other', 'Audit outage', 'High', false);
      e.message = `session records could not be written from ${r.since} to ${r.until} (${r.error.code}); on_failure ${r.onFailure}`;
      e.status_code = r.error.code;
      e.status_detail = r.error.message;
      e.unmapped = { pamc: { kind: r.kind, since: r.since, until: r.until, onFailure: r.onFailure } };
      return e;
    }
    case 'gap': {
      const e = base(r, ctx, 'Other', 'Audit records lost', 'High', false);
      e.message = `${r.lost} session records were not written from ${r.from} to ${r.to}: the queue was full`;
      e.unmapped = { pamc: { kind: r.kind, lost: r.lost, kinds: r.kinds, from: r.from, to: r.to } };
      return e;
    }
    case 'policy': {
      const e = base(r, ctx, 'Other', `Policy ${r.reason}`, 'Informational', true);
      e.message = `policy ${r.name} (${r.digest}) ${r.reason}`;
      e.unmapped = { pamc: { kind: r.kind, name: r.name, digest: r.digest, version: r.version } };
      return e;
    }
    case 'open':
      ctx.log = r.log;
      return null;
    case 'checkpoint':
      return null;
  }
}
