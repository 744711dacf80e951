// `pamc audit show`: the replay of sessions as a readable timeline. Records of a session are
// gathered from its connect to its disconnect and printed as one block when it ends (sessions
// still open at the end of the log are printed last); gateway events (policy loads, outages,
// lost records) are printed as they come.

import type { ReadRecord } from './read.ts';
import type { AuditRecord, BindingRecord, ConnectRecord, StatementRecord } from './records.ts';

export interface ShowFilter {
  /** a session id, or a prefix of one */
  session?: string;
  /** the identity's subject */
  identity?: string;
  /** epoch ms: records before it are not shown */
  since?: number;
  /** statement text in full instead of cut to 160 characters */
  full?: boolean;
}

interface Block {
  header: string[];
  lines: string[];
}

function clock(ts: string): string {
  return ts.slice(11, 23);
}

function oneLine(text: string, full: boolean): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return full || flat.length <= 160 ? flat : `${flat.slice(0, 159)}…`;
}

function quote(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 59)}…` : v}'`;
  const o = v as Record<string, unknown>;
  if (typeof o.base64 === 'string') return `<${Buffer.from(o.base64, 'base64').length} bytes>`;
  if (o.truncated === true) return `<${String(o.length)} characters, sha256 ${String(o.sha256).slice(0, 12)}…>`;
  return JSON.stringify(v);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function ms(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 10_000 ? 0 : 1)} s` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
}

function header(c: ConnectRecord): string[] {
  const id = c.identity;
  const who = id ? `${id.subject}${id.agent ? ` (agent ${id.agent})` : ''}${id.groups.length > 0 ? ` [${id.groups.join(', ')}]` : ''}` : '(unauthenticated)';
  const target = `${c.target.name} (${c.target.kind}${c.target.database ? `, database ${c.target.database}` : ''}${c.target.user ? `, as ${c.target.user}` : ''})`;
  const via = [
    `from ${c.client.address}${c.client.port !== undefined ? `:${c.client.port}` : ''}`,
    c.tls ? `tls ${c.tls.protocol}${c.tls.cipher ? ` ${c.tls.cipher}` : ''}` : 'no tls',
    c.application ? `application ${c.application}` : null,
    c.policy ? `policy ${c.policy.name} (${c.policy.digest.slice(0, 12)})` : null,
  ].filter((x) => x !== null);
  return [`session ${c.session} · ${who} → ${target}`, `  ${c.ts.slice(0, 10)} · ${via.join(' · ')}`];
}

function statementLines(s: StatementRecord, full: boolean): string[] {
  const label = s.outcome === 'refused' ? 'refused' : s.decision;
  const out = [`  ${clock(s.ts)}  ${label.padEnd(10)} ${oneLine(s.text, full)}${s.textTruncated ? ` … (${s.textTruncated.length} characters)` : ''}`];
  const pad = ' '.repeat(27);
  out.push(...bindingLines(pad, s));
  for (const r of s.runs ?? []) {
    out.push(`${pad}runs: ${oneLine(r.text, full)}${r.textTruncated ? ` … (${r.textTruncated.length} characters)` : ''}`);
    out.push(...bindingLines(`${pad}  `, r));
  }
  if (s.runsOmitted) out.push(`${pad}runs: (+${s.runsOmitted} more it may have run)`);
  const result: string[] = [];
  if (s.outcome === 'ok') {
    const rows: string[] = [];
    if (s.rows?.returned !== undefined) rows.push(plural(s.rows.returned, 'row') + ' returned');
    if (s.rows?.affected !== undefined) rows.push(plural(s.rows.affected, 'row') + ' affected');
    result.push(`ok${rows.length > 0 ? `: ${rows.join(', ')}` : ''}${s.rows?.command ? ` (${s.rows.command})` : ''}`);
  } else result.push(s.outcome === 'unknown' ? 'unknown (the session ended before the server answered; it may have run)' : s.outcome);
  if (s.approval) result.push(`approval ${s.approval}`);
  if (s.rules.length > 0) result.push(`rule${s.rules.length === 1 ? '' : 's'} ${s.rules.join(', ')}`);
  if (s.masked && s.masked.length > 0) result.push(`masked ${s.masked.join(', ')}`);
  if (s.limit) result.push(`limit ${s.limit.rows}${s.limit.reached ? ' (reached)' : ''}`);
  if (s.timing?.waitMs !== undefined) result.push(`waited ${ms(s.timing.waitMs)}`);
  if (s.timing?.totalMs !== undefined) result.push(`took ${ms(s.timing.totalMs)}`);
  if (s.error) result.push(`${s.error.code} ${s.error.message}`);
  out.push(`${pad}→ ${result.join(' · ')}`);
  return out;
}

/** A statement's bind parameters and declared parameter types, a line each. */
function bindingLines(pad: string, s: BindingRecord): string[] {
  const out: string[] = [];
  if (s.params && s.params.length > 0) {
    out.push(`${pad}params: ${s.params.map((p, i) => `$${i + 1}=${quote(p)}`).join(', ')}${s.paramsOmitted ? ` (+${s.paramsOmitted})` : ''}`);
  }
  if (s.paramTypes && s.paramTypes.length > 0) {
    out.push(`${pad}parameter types (OIDs): ${s.paramTypes.map((t, i) => `$${i + 1} ${t === 0 ? 'unspecified' : t}`).join(', ')}${s.paramTypesOmitted ? ` (+${s.paramTypesOmitted})` : ''}`);
  }
  return out;
}

function eventLine(r: AuditRecord): string | null {
  switch (r.kind) {
    case 'approval': {
      const parts = [`${r.request} ${r.event}`];
      if (r.by) parts.push(`by ${r.by.subject}`);
      if (r.group) parts.push(`group ${r.group}`);
      if (r.quorum !== undefined) parts.push(`quorum ${r.approvals ?? 0}/${r.quorum}`);
      if (r.expiresAt) parts.push(`until ${clock(r.expiresAt)}`);
      if (r.reason) parts.push(`“${r.reason}”`);
      return `  ${clock(r.ts)}  ${'approval'.padEnd(10)} ${parts.join(' · ')}`;
    }
    case 'disconnect': {
      const parts: string[] = [r.reason];
      if (r.durationMs !== undefined) parts.push(`after ${ms(r.durationMs)}`);
      if (r.statements !== undefined) parts.push(`${plural(r.statements, 'statement')}${r.denied ? `, ${r.denied} denied` : ''}`);
      if (r.error) parts.push(`${r.error.code} ${r.error.message}`);
      return `  ${clock(r.ts)}  ${'disconnect'.padEnd(10)} ${parts.join(' · ')}`;
    }
    case 'policy':
      return `${r.ts}  policy ${r.name} (${r.digest.slice(0, 12)}) ${r.reason}${r.version !== undefined ? ` v${r.version}` : ''}`;
    case 'outage':
      return `${r.ts}  OUTAGE: records could not be written from ${r.since} to ${r.until} (${r.error.code}: ${r.error.message}); on_failure ${r.onFailure}`;
    case 'gap':
      return `${r.ts}  LOST: ${plural(r.lost, 'record')} not written from ${r.from} to ${r.to} (${Object.entries(r.kinds)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}): the queue was full`;
    default:
      return null;
  }
}

/** Prints the timeline; returns how many sessions were shown. */
export async function showTimeline(records: AsyncIterable<ReadRecord>, filter: ShowFilter, write: (s: string) => void): Promise<{ sessions: number }> {
  const blocks = new Map<string, Block>();
  const matching = new Set<string>();
  /** approval request → the session that asked, for approval events recorded without one */
  const requests = new Map<string, string>();
  const full = filter.full === true;
  const bySession = filter.session !== undefined || filter.identity !== undefined;
  let shown = 0;
  const emit = (b: Block) => {
    write([...b.header, ...b.lines].join('\n') + '\n\n');
    shown++;
  };
  for await (const { record: r } of records) {
    const at = Date.parse(r.ts);
    const recent = filter.since === undefined || at >= filter.since;
    if (r.kind === 'connect') {
      const ok =
        (filter.session === undefined || r.session.startsWith(filter.session)) &&
        (filter.identity === undefined || r.identity?.subject === filter.identity);
      if (!ok) continue;
      matching.add(r.session);
      const block: Block = { header: header(r), lines: [] };
      if (recent) block.lines.push(`  ${clock(r.ts)}  ${'connect'.padEnd(10)} ${r.outcome}${r.error ? ` · ${r.error.code} ${r.error.message}` : ''}`);
      blocks.set(r.session, block);
      if (r.outcome === 'rejected') {
        if (recent) emit(block);
        blocks.delete(r.session);
        matching.delete(r.session);
      }
      continue;
    }
    if (r.kind === 'statement' && r.approval !== undefined) requests.set(r.approval, r.session);
    if (r.kind === 'approval' && r.session !== undefined) requests.set(r.request, r.session);
    const session = 'session' in r && r.session !== undefined ? r.session : r.kind === 'approval' ? requests.get(r.request) : undefined;
    if (session !== undefined && (r.kind === 'statement' || r.kind === 'disconnect' || r.kind === 'approval')) {
      if (!matching.has(session)) continue;
      const block = blocks.get(session);
      if (block === undefined) continue;
      if (recent) {
        if (r.kind === 'statement') block.lines.push(...statementLines(r, full));
        else {
          const l = eventLine(r);
          if (l !== null) block.lines.push(l);
        }
      }
      if (r.kind === 'disconnect') {
        if (block.lines.length > 0) emit(block);
        blocks.delete(session);
        matching.delete(session);
      }
      continue;
    }
    if (bySession || !recent) continue;
    const l = eventLine(r);
    if (l !== null) write(l.trimStart() + '\n\n');
  }
  for (const block of blocks.values()) {
    if (block.lines.length === 0) continue;
    block.lines.push('  (no disconnect recorded: the session was open when the log ended)');
    emit(block);
  }
  return { sessions: shown };
}
