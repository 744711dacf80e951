// The settings part of a policy diff: the identity block and each target's connection, listener
// and masking options. Settings with an order of strictness (TLS modes, masking options, token
// checks) are widening or narrowing; the others are reported as changes only (spec/diff.md §2.4).

import type { CompiledIdentity, CompiledPolicy, CompiledTarget, SecretSource } from '../../spec/compiled-policy.ts';

export interface SettingChange {
  kind: 'setting';
  /** null for the identity block */
  target: string | null;
  setting: string;
  before: string | null;
  after: string | null;
  widening: boolean;
  narrowing: boolean;
}

const LISTENER_TLS = ['off', 'prefer', 'require'];
const UPSTREAM_TLS = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];

const secretText = (s: SecretSource | null) => (s === null ? null : 'env' in s ? `env "${s.env}"` : `file "${s.file}"`);

function change(target: string | null, setting: string, before: string | null, after: string | null, widening: boolean, narrowing: boolean): SettingChange {
  return { kind: 'setting', target, setting, before, after, widening, narrowing };
}

/** A change along an order from weakest to strictest. */
function ordered(target: string | null, setting: string, order: string[], before: string, after: string): SettingChange[] {
  if (before === after) return [];
  const b = order.indexOf(before);
  const a = order.indexOf(after);
  return [change(target, setting, before, after, a < b, a > b)];
}

function plain(target: string | null, setting: string, before: string | null, after: string | null, both = false): SettingChange[] {
  return before === after ? [] : [change(target, setting, before, after, both, both)];
}

/** A list where more members accept more (audiences, algorithms). */
function members(target: string | null, setting: string, before: string[], after: string[]): SettingChange[] {
  const b = [...before].sort();
  const a = [...after].sort();
  if (b.join('\0') === a.join('\0')) return [];
  const added = a.some((x) => !b.includes(x));
  const removed = b.some((x) => !a.includes(x));
  return [change(target, setting, b.join(', '), a.join(', '), added, removed)];
}

export function diffIdentity(base: CompiledIdentity, head: CompiledIdentity): SettingChange[] {
  const jwks = (i: CompiledIdentity) => ('file' in i.jwks ? `file "${i.jwks.file}"` : `url "${i.jwks.url}"`);
  return [
    // Another issuer, or another claim naming the groups, changes who holds what: both ways.
    ...plain(null, 'issuer', base.issuer, head.issuer, true),
    ...members(null, 'audience', base.audiences, head.audiences),
    ...plain(null, 'jwks', jwks(base), jwks(head)),
    ...members(null, 'algorithms', base.algorithms, head.algorithms),
    ...plain(null, 'groups claim', base.groupsClaim, head.groupsClaim, true),
    ...plain(null, 'agent claim', base.agentClaim, head.agentClaim),
    ...(base.clockSkewSeconds === head.clockSkewSeconds
      ? []
      : [
          change(
            null,
            'clock_skew',
            `${base.clockSkewSeconds}s`,
            `${head.clockSkewSeconds}s`,
            head.clockSkewSeconds > base.clockSkewSeconds,
            head.clockSkewSeconds < base.clockSkewSeconds,
          ),
        ]),
  ];
}

function connectionText(t: CompiledTarget): Record<string, string | null> {
  const c = t.connection;
  if (c === null) return {};
  if (c.embedded) return { server: `embedded${c.seed ? ` seed "${c.seed}"` : ''}` };
  return {
    server: `${c.host}:${c.port}/${c.database}`,
    login: `user "${c.user}"${c.password ? ` password ${secretText(c.password)}` : ''}`,
    'upstream tls ca': c.tls.ca,
  };
}

export function diffTarget(name: string, base: CompiledTarget | undefined, head: CompiledTarget | undefined): SettingChange[] {
  if (!base || !head) {
    return [change(name, 'target', base ? base.kind : null, head ? head.kind : null, false, false)];
  }
  if (base.kind !== head.kind) return [change(name, 'target', base.kind, head.kind, false, false)];
  const out: SettingChange[] = [];
  const cb = connectionText(base);
  const ch = connectionText(head);
  for (const k of [...new Set([...Object.keys(cb), ...Object.keys(ch)])]) out.push(...plain(name, k, cb[k] ?? null, ch[k] ?? null));
  const upstream = (t: CompiledTarget) => (t.connection && !t.connection.embedded ? t.connection.tls.mode : null);
  const ub = upstream(base);
  const uh = upstream(head);
  if (ub !== null && uh !== null) out.push(...ordered(name, 'upstream tls', UPSTREAM_TLS, ub, uh));
  out.push(...plain(name, 'listen', base.listener.address, head.listener.address));
  out.push(...ordered(name, 'tls', LISTENER_TLS, base.listener.tls.mode, head.listener.tls.mode));
  out.push(...plain(name, 'tls cert', base.listener.tls.cert, head.listener.tls.cert));
  out.push(...plain(name, 'tls key', secretText(base.listener.tls.key), secretText(head.listener.tls.key)));
  out.push(...plain(name, 'search_path', base.searchPath.join(', '), head.searchPath.join(', ')));
  out.push(...ordered(name, 'masking copy', ['mask', 'deny'], base.masking.copy, head.masking.copy));
  out.push(...ordered(name, 'masking derived', ['mask', 'deny'], base.masking.derived, head.masking.derived));
  out.push(...ordered(name, 'masking predicates', ['allow', 'deny'], base.masking.predicates, head.masking.predicates));
  out.push(...plain(name, 'masking hash_key', secretText(base.masking.hashKey), secretText(head.masking.hashKey)));
  return out;
}

/** The audit and approvals blocks: losing the audit, or letting statements run when it fails, widens. */
function diffBlocks(base: CompiledPolicy, head: CompiledPolicy): SettingChange[] {
  const out: SettingChange[] = [];
  const ab = base.audit ?? null;
  const ah = head.audit ?? null;
  if ((ab === null) !== (ah === null)) {
    out.push(change(null, 'audit', ab ? `dir "${ab.dir}"` : null, ah ? `dir "${ah.dir}"` : null, ah === null, ab === null));
  } else if (ab && ah) {
    out.push(...plain(null, 'audit dir', ab.dir, ah.dir));
    out.push(...plain(null, 'audit key', secretText(ab.key), secretText(ah.key)));
    out.push(...ordered(null, 'audit on_failure', ['continue', 'refuse'], ab.onFailure, ah.onFailure));
    const fwd = (a: typeof ab) => (a.forward ? a.forward.url : null);
    out.push(...plain(null, 'audit forward', fwd(ab), fwd(ah)));
  }
  const approvals = (p: CompiledPolicy) => (p.approvals ? JSON.stringify(p.approvals) : null);
  if (approvals(base) !== approvals(head)) {
    const text = (p: CompiledPolicy) =>
      p.approvals ? `api ${p.approvals.api.listen ?? 'admin listener'}, ${p.approvals.webhooks.length} webhook(s)` : null;
    out.push(change(null, 'approvals', text(base), text(head), false, false));
  }
  return out;
}

export function diffSettings(base: CompiledPolicy, head: CompiledPolicy): SettingChange[] {
  const out = [...diffIdentity(base.identity, head.identity), ...diffBlocks(base, head)];
  const names = [...new Set([...Object.keys(base.targets), ...Object.keys(head.targets)])].sort();
  for (const name of names) out.push(...diffTarget(name, base.targets[name], head.targets[name]));
  return out;
}
