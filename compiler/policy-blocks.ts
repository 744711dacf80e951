// The policy-level blocks `audit` (where session records go, spec/audit.md) and `approvals` (how
// approval requests reach people). Each may appear once in a policy; both are optional.

import type { ApprovalsBlock, AuditBlock, DurationLit, Ident, IntegerLit, SecretRef, SizeLit, Span, StringLit } from '../language/ast.ts';
import type { CompiledApprovals, CompiledAudit, CompiledWebhook, SecretSource } from '../spec/compiled-policy.ts';
import type { CompileContext, Located } from './context.ts';
import { foldIdent } from './names.ts';
import { relativeToRoot } from './paths.ts';
import { didYouMean } from './suggest.ts';
import { lowerSecret, parseListen } from './targets.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Defaults and bounds of the audit settings (spec/language.md §7.1). */
export const AUDIT_DEFAULTS = {
  rotateBytes: 64 * MiB,
  rotateSeconds: 86_400,
  checkpointSeconds: 30,
  checkpointRecords: 10_000,
} as const;

const ROTATE_BYTES = { min: 64 * KiB, max: 64 * GiB };
const ROTATE_SECONDS = { min: 60, max: 30 * 86_400 };
const CHECKPOINT_SECONDS = { min: 1, max: 3600 };
const CHECKPOINT_RECORDS = { min: 1, max: 1_000_000 };

const ON_FAILURE = ['refuse', 'continue'] as const;
const WEBHOOK_FORMATS = ['json', 'slack'] as const;

/** Hosts whose webhook URLs carry their credential in the path. */
const TOKEN_URL_HOSTS = ['hooks.slack.com', 'discord.com', 'discordapp.com', 'outlook.office.com', 'webhook.office.com'];

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function parseUrl(ctx: CompileContext, file: string, s: StringLit, what: string): URL | null {
  let url: URL;
  try {
    url = new URL(s.value);
  } catch {
    ctx.error('PAM2006', file, s.span, `\`${s.value}\` is not a URL`, { help: `write the ${what} as \`https://host[:port]/path\`` });
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    ctx.error('PAM2006', file, s.span, `the ${what} must be an https URL`);
    return null;
  }
  return url;
}

/**
 * A URL written in the policy: https, or http to loopback only (PAM2015); never with a
 * credential in it (PAM2005), since policies live in git.
 */
function checkLiteralUrl(ctx: CompileContext, file: string, s: StringLit, what: string): void {
  const url = parseUrl(ctx, file, s, what);
  if (!url) return;
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    ctx.error('PAM2015', file, s.span, `the ${what} uses plain http`, {
      help: 'records and approval requests hold statements, parameters and identities: use https (http is accepted only for loopback)',
    });
  }
  if (url.username !== '' || url.password !== '') {
    ctx.error('PAM2005', file, s.span, `the ${what} carries a credential`, {
      help: 'policies live in git: take the credential out of the URL and name it with `env "NAME"` or `file "path"`',
    });
  } else if (TOKEN_URL_HOSTS.some((h) => url.hostname === h || url.hostname.endsWith(`.${h}`))) {
    ctx.error('PAM2005', file, s.span, `a ${url.hostname} webhook URL carries its token`, {
      help: 'policies live in git: name the URL instead, `url env "NAME"` or `url file "path"`',
    });
  }
}

function inRange(
  ctx: CompileContext,
  file: string,
  span: Span,
  value: number,
  bounds: { min: number; max: number },
  message: string,
  help: string,
): number {
  if (value < bounds.min || value > bounds.max || !Number.isSafeInteger(value)) ctx.error('PAM2016', file, span, message, { help });
  return value;
}

function duplicate(ctx: CompileContext, file: string, span: Span, first: Span, word: string): void {
  ctx.error('PAM1011', file, span, `\`${word}\` is given twice`, { related: [{ file, span: first, message: 'first given here' }] });
}

function choice<T extends string>(ctx: CompileContext, file: string, ident: Ident, allowed: readonly T[], what: string): T | null {
  const value = foldIdent(ident);
  if ((allowed as readonly string[]).includes(value)) return value as T;
  ctx.error('PAM2006', file, ident.span, `unknown ${what} \`${value}\``, {
    help: didYouMean(value, allowed) ?? `one of ${allowed.join(', ')}`,
  });
  return null;
}

// ---------------------------------------------------------------------------------------------
// audit

const AUDIT_WORDS: Record<AuditBlock['settings'][number]['kind'], string> = {
  AuditDir: 'dir',
  AuditKey: 'key',
  Rotate: 'rotate',
  Checkpoint: 'checkpoint',
  OnFailure: 'on_failure',
  Forward: 'forward',
};

export function lowerAudit(ctx: CompileContext, located: Located<AuditBlock> | null): CompiledAudit | undefined {
  if (!located) return undefined;
  const { node, file } = located;
  const seen = new Map<string, Span>();
  let dir: string | null = null;
  let key: SecretSource | null = null;
  let keySeen = false;
  const rotate: CompiledAudit['rotate'] = { maxBytes: AUDIT_DEFAULTS.rotateBytes, maxAgeSeconds: AUDIT_DEFAULTS.rotateSeconds };
  const checkpoint: CompiledAudit['checkpoint'] = { everySeconds: AUDIT_DEFAULTS.checkpointSeconds, everyRecords: AUDIT_DEFAULTS.checkpointRecords };
  let onFailure: CompiledAudit['onFailure'] = 'refuse';
  let forward: CompiledAudit['forward'] = null;

  for (const s of node.settings) {
    const word = AUDIT_WORDS[s.kind];
    const first = seen.get(s.kind);
    if (first) {
      duplicate(ctx, file, s.span, first, word);
      continue;
    }
    seen.set(s.kind, s.span);
    switch (s.kind) {
      case 'AuditDir':
        if (s.value.value.trim() === '') ctx.error('PAM2006', file, s.value.span, 'the audit directory is empty');
        else dir = relativeToRoot(file, s.value.value);
        break;
      case 'AuditKey':
        keySeen = true;
        key = lowerSecret(ctx, file, s.secret, 'audit signing key');
        break;
      case 'Rotate':
        if (s.size) rotate.maxBytes = size(ctx, file, s.size);
        if (s.every) rotate.maxAgeSeconds = seconds(ctx, file, s.every, ROTATE_SECONDS, 'a segment age', 'from 1m to 30d');
        break;
      case 'Checkpoint':
        if (s.every) checkpoint.everySeconds = seconds(ctx, file, s.every, CHECKPOINT_SECONDS, 'a checkpoint interval', 'from 1s to 1h');
        if (s.records) checkpoint.everyRecords = records(ctx, file, s.records);
        break;
      case 'OnFailure':
        onFailure = choice(ctx, file, s.value, ON_FAILURE, 'failure behaviour') ?? onFailure;
        break;
      case 'Forward':
        forward = lowerForward(ctx, file, s.url, s.token, s.ca, s.span);
        break;
    }
  }
  if (dir === null && !seen.has('AuditDir')) {
    ctx.error('PAM2004', file, node.span, 'the audit block has no `dir`', { help: 'add `dir "/var/lib/pamc/audit"`: where the segment files go' });
  }
  if (!keySeen) {
    ctx.error('PAM2004', file, node.span, 'the audit block has no `key`', {
      help: 'add `key file "audit-key.jwk"`: checkpoints are signed so the log cannot be rewritten without it',
    });
  }
  if (dir === null || key === null) return undefined;
  return { dir, key, rotate, checkpoint, onFailure, forward };
}

function size(ctx: CompileContext, file: string, s: SizeLit): number {
  return inRange(ctx, file, s.span, s.bytes, ROTATE_BYTES, `a segment size of \`${s.text}\` is out of range`, 'from 64KiB to 64GiB');
}

function seconds(ctx: CompileContext, file: string, d: DurationLit, bounds: { min: number; max: number }, what: string, range: string): number {
  const value = d.ms / 1000;
  if (!Number.isInteger(value)) {
    ctx.error('PAM2016', file, d.span, `${what} of \`${d.text}\` is not a whole number of seconds`, { help: range });
    return Math.max(bounds.min, Math.round(value));
  }
  return inRange(ctx, file, d.span, value, bounds, `${what} of \`${d.text}\` is out of range`, range);
}

function records(ctx: CompileContext, file: string, n: IntegerLit): number {
  return inRange(ctx, file, n.span, n.value, CHECKPOINT_RECORDS, `a checkpoint every \`${n.text}\` records is out of range`, 'from 1 to 1000000 records');
}

function lowerForward(
  ctx: CompileContext,
  file: string,
  url: StringLit,
  token: SecretRef | undefined,
  ca: StringLit | undefined,
  span: Span,
): CompiledAudit['forward'] {
  checkLiteralUrl(ctx, file, url, 'collector URL');
  if (!token) {
    ctx.error('PAM2004', file, span, '`forward` has no `token`', {
      help: 'add `token env "HEC_TOKEN"`: the collector\'s HTTP Event Collector token',
    });
    return null;
  }
  const secret = lowerSecret(ctx, file, token, 'collector token');
  if (!secret) return null;
  return { url: url.value, token: secret, ca: ca ? relativeToRoot(file, ca.value) : null };
}

// ---------------------------------------------------------------------------------------------
// approvals

export function lowerApprovals(ctx: CompileContext, located: Located<ApprovalsBlock> | null): CompiledApprovals | undefined {
  if (!located) return undefined;
  const { node, file } = located;
  const result: CompiledApprovals = { api: { listen: null, url: null, tls: null }, webhooks: [], dir: null };
  const seen = new Map<string, Span>();
  for (const s of node.settings) {
    if (s.kind !== 'Webhook') {
      const first = seen.get(s.kind);
      if (first) {
        duplicate(ctx, file, s.span, first, s.kind === 'Api' ? 'api' : 'dir');
        continue;
      }
      seen.set(s.kind, s.span);
    }
    switch (s.kind) {
      case 'Webhook': {
        const hook = lowerWebhook(ctx, file, s.url, s.secret, s.format, s.span);
        if (hook) result.webhooks.push(hook);
        break;
      }
      case 'Api':
        lowerApi(ctx, file, s, result.api);
        break;
      case 'ApprovalsDir':
        if (s.value.value.trim() === '') ctx.error('PAM2006', file, s.value.span, 'the approvals directory is empty');
        else result.dir = relativeToRoot(file, s.value.value);
        break;
    }
  }
  return result;
}

function lowerWebhook(
  ctx: CompileContext,
  file: string,
  url: SecretRef,
  secret: SecretRef | undefined,
  formatIdent: Ident | undefined,
  span: Span,
): CompiledWebhook | null {
  const format = formatIdent ? choice(ctx, file, formatIdent, WEBHOOK_FORMATS, 'webhook format') : 'json';
  let target: CompiledWebhook['url'] | null;
  if (url.source === 'literal') {
    checkLiteralUrl(ctx, file, url.value, 'webhook URL');
    target = url.value.value;
  } else {
    target = lowerSecret(ctx, file, url, 'webhook URL');
  }
  let hmac: SecretSource | null = null;
  if (secret) hmac = lowerSecret(ctx, file, secret, 'webhook secret');
  else if (format === 'json') {
    ctx.error('PAM2004', file, span, 'a `json` webhook has no `secret`', {
      help: 'add `secret env "WEBHOOK_SECRET"`: the receiver checks the HMAC signature of every request with it',
    });
  }
  if (target === null || format === null) return null;
  return { url: target, secret: hmac, format };
}

function lowerApi(
  ctx: CompileContext,
  file: string,
  s: Extract<ApprovalsBlock['settings'][number], { kind: 'Api' }>,
  api: CompiledApprovals['api'],
): void {
  if (s.listen) {
    if (!parseListen(s.listen.value)) {
      ctx.error('PAM2006', file, s.listen.span, `\`${s.listen.value}\` is not a listen address`, {
        help: 'write `host:port`, e.g. `"127.0.0.1:6481"`',
      });
    }
    api.listen = s.listen.value;
  }
  if (s.url) {
    const url = parseUrl(ctx, file, s.url, 'approvals URL');
    if (url && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      ctx.error('PAM2015', file, s.url.span, 'the approvals URL uses plain http', {
        help: 'approvers send their tokens to it: use https (http is accepted only for loopback)',
      });
    }
    api.url = s.url.value;
  }
  if (s.cert && s.key) {
    const key = lowerSecret(ctx, file, s.key, 'private key');
    if (key) api.tls = { cert: relativeToRoot(file, s.cert.value), key };
  } else if (s.cert || s.key) {
    ctx.error('PAM2004', file, s.span, 'the approvals API needs both `cert` and `key`');
    if (s.key) lowerSecret(ctx, file, s.key, 'private key');
  }
  if (s.listen && !api.tls && !s.cert && !s.key && parseListen(s.listen.value)) {
    const host = s.listen.value.slice(0, s.listen.value.lastIndexOf(':'));
    if (!isLoopbackHost(host)) {
      ctx.warn('PAM3007', file, s.listen.span, 'the approvals API listens beyond loopback without TLS: approvers send their tokens in clear', {
        help: 'add `cert "api.crt" key file "api.key"`',
      });
    }
  }
}
