// Target declarations: kind, connection, listener, search path and masking options.

import type { Credential, Ident, MaskingOption, SecretRef, TargetDecl, TargetSetting, TlsOption } from '../language/ast.ts';
import type {
  CompiledTarget,
  Connection,
  ListenerOptions,
  MaskingOptions,
  SecretSource,
  SourceLocation,
} from '../spec/compiled-policy.ts';
import type { CompileContext, Located } from './context.ts';
import { foldIdent } from './names.ts';
import { relativeToRoot } from './paths.ts';
import { didYouMean } from './suggest.ts';
import { isTargetKind, TARGET_KINDS, type TargetKind } from './taxonomy.ts';

/** What a target needs before its rules are lowered; `actions`, `masks` and `limits` come later. */
export interface TargetInfo {
  name: string;
  kind: TargetKind;
  file: string;
  decl: TargetDecl;
  compiled: Omit<CompiledTarget, 'actions' | 'masks' | 'limits'>;
}

const SETTINGS_BY_KIND: Record<TargetKind, TargetSetting['kind'][]> = {
  postgres: ['Host', 'Port', 'Database', 'Listen', 'Login', 'Tls', 'Embedded', 'SearchPath', 'Masking'],
  ssh: ['Host', 'Port', 'Listen', 'Login', 'Tls'],
  kubernetes: ['Server', 'Listen', 'Login', 'Tls'],
};

const CREDENTIALS_BY_KIND: Record<TargetKind, string[]> = {
  postgres: ['password'],
  ssh: ['password', 'key'],
  kubernetes: ['token', 'certificate'],
};

const SETTING_WORDS: Record<TargetSetting['kind'], string> = {
  Host: 'host',
  Port: 'port',
  Database: 'database',
  Server: 'server',
  Listen: 'listen',
  Login: 'login',
  Tls: 'tls',
  Embedded: 'embedded',
  SearchPath: 'search_path',
  Masking: 'masking',
};

const LISTENER_TLS_MODES = ['off', 'prefer', 'require'] as const;
const UPSTREAM_TLS_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

export function lowerSecret(ctx: CompileContext, file: string, secret: SecretRef, what: string): SecretSource | null {
  if (secret.source === 'literal') {
    ctx.error('PAM2005', file, secret.span, `a literal ${what} in a policy`, {
      help: `policies live in git: name the secret instead, \`env "NAME"\` or \`file "path"\``,
    });
    return null;
  }
  if (secret.value.value === '') {
    ctx.error('PAM2006', file, secret.value.span, `the ${secret.source === 'env' ? 'variable name' : 'file name'} is empty`);
    return null;
  }
  return secret.source === 'env' ? { env: secret.value.value } : { file: relativeToRoot(file, secret.value.value) };
}

/** Whether `value` is `host:port` (`"[::1]:6432"`, `":6432"` for every interface). */
export function parseListen(value: string): boolean {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(value);
  return m !== null && Number(m[2]) <= 65535;
}

export function lowerTargets(
  ctx: CompileContext,
  targets: Map<string, Located<TargetDecl>>,
  locate: (file: string, start: number, end: number) => SourceLocation,
): Map<string, TargetInfo> {
  const out = new Map<string, TargetInfo>();
  for (const [name, { node, file }] of targets) {
    const kindName = foldIdent(node.targetKind);
    if (!isTargetKind(kindName)) {
      ctx.error('PAM2001', file, node.targetKind.span, `unknown target kind \`${kindName}\``, {
        help: didYouMean(kindName, TARGET_KINDS) ?? `one of ${TARGET_KINDS.join(', ')}`,
      });
      continue;
    }
    const kind = kindName;
    const seen = new Map<string, TargetSetting>();
    let host: string | null = null;
    let port: number | null = null;
    let database: string | null = null;
    let user: string | null = null;
    let password: SecretSource | null = null;
    let embedded: { seed: string | null } | null = null;
    let searchPath: string[] = ['public'];
    const listener: ListenerOptions = { address: null, tls: { mode: 'require', cert: null, key: null } };
    const upstreamTls: { mode: (typeof UPSTREAM_TLS_MODES)[number]; ca: string | null } = { mode: 'prefer', ca: null };
    const masking: MaskingOptions = { copy: 'deny', derived: 'mask', predicates: 'allow', hashKey: null };

    for (const s of node.settings) {
      const key = s.kind === 'Tls' ? `Tls:${s.upstream}` : s.kind;
      const word = s.kind === 'Tls' && s.upstream ? 'upstream tls' : SETTING_WORDS[s.kind];
      if (!SETTINGS_BY_KIND[kind].includes(s.kind) || (s.kind === 'Tls' && s.upstream && kind === 'ssh')) {
        ctx.error('PAM2003', file, s.span, `\`${word}\` is not a setting of a ${kind} target`);
        continue;
      }
      const previous = seen.get(key);
      if (previous) {
        ctx.error('PAM1011', file, s.span, `\`${word}\` is given twice`, {
          related: [{ file, span: previous.span, message: 'first given here' }],
        });
        continue;
      }
      seen.set(key, s);
      switch (s.kind) {
        case 'Host':
          if (s.value.value === '') ctx.error('PAM2006', file, s.value.span, 'the host is empty');
          host = s.value.value;
          break;
        case 'Port':
          if (!Number.isInteger(s.value.value) || s.value.value < 1 || s.value.value > 65535) {
            ctx.error('PAM2006', file, s.value.span, `port \`${s.value.text}\` is out of range`, { help: 'a port is 1 to 65535' });
          }
          port = s.value.value;
          break;
        case 'Database':
          if (s.value.value === '') ctx.error('PAM2006', file, s.value.span, 'the database name is empty');
          database = s.value.value;
          break;
        case 'Server':
          host = s.value.value;
          break;
        case 'Listen':
          if (!parseListen(s.value.value)) {
            ctx.error('PAM2006', file, s.value.span, `\`${s.value.value}\` is not a listen address`, {
              help: 'write `host:port`, e.g. `"127.0.0.1:6432"` or `":6432"` for every interface',
            });
          }
          listener.address = s.value.value;
          break;
        case 'Login':
          user = s.user.value;
          password = lowerCredentials(ctx, file, kind, s.credentials);
          break;
        case 'Tls':
          if (s.upstream) lowerUpstreamTls(ctx, file, s.mode, s.options, upstreamTls);
          else lowerListenerTls(ctx, file, s.mode, s.options, listener);
          break;
        case 'Embedded':
          embedded = { seed: s.seed ? relativeToRoot(file, s.seed.value) : null };
          break;
        case 'SearchPath':
          searchPath = s.schemas.map((schema) => {
            const folded = foldIdent(schema);
            if (folded.startsWith('$') || folded === 'pg_temp') {
              ctx.error('PAM2006', file, schema.span, `\`${folded}\` cannot be pinned in a search path`, {
                help: 'name the schemas explicitly',
              });
            }
            return folded;
          });
          break;
        case 'Masking':
          lowerMasking(ctx, file, s.options, masking);
          break;
      }
    }

    let connection: Connection | null = null;
    if (kind === 'postgres') {
      if (embedded) {
        for (const k of ['Host', 'Port', 'Database', 'Login'] as const) {
          const s = seen.get(k);
          if (s) ctx.error('PAM2003', file, s.span, `an embedded target has no \`${SETTING_WORDS[k]}\``, {
            help: 'an embedded target runs PostgreSQL in the gateway; remove this setting or `embedded`',
          });
        }
        connection = { embedded: true, seed: embedded.seed };
      } else {
        const need: [string, unknown, string][] = [
          ['host', host, 'host "db.internal"'],
          ['database', database, 'database "shop"'],
          ['login', user, 'login user "pamc_gateway" password env "DB_PASSWORD"'],
        ];
        for (const [what, value, example] of need) {
          if (value === null) {
            ctx.error('PAM2004', file, node.name.span, `target \`${name}\` has no \`${what}\``, {
              help: `add \`${example}\`, or make it \`embedded\``,
            });
          }
        }
        connection = {
          embedded: false,
          host: host ?? '',
          port: port ?? 5432,
          database: database ?? '',
          user: user ?? '',
          password,
          tls: upstreamTls,
        };
      }
    } else if (host === null) {
      const what = kind === 'kubernetes' ? 'server' : 'host';
      ctx.error('PAM2004', file, node.name.span, `target \`${name}\` has no \`${what}\``);
    }

    out.set(name, {
      name,
      kind,
      file,
      decl: node,
      compiled: {
        kind,
        source: locate(file, node.span.start, node.span.end),
        connection,
        listener,
        searchPath,
        masking,
      },
    });
  }
  return out;
}

function lowerCredentials(ctx: CompileContext, file: string, kind: TargetKind, credentials: Credential[]): SecretSource | null {
  let password: SecretSource | null = null;
  for (const c of credentials) {
    const what = foldIdent(c.name);
    if (!CREDENTIALS_BY_KIND[kind].includes(what)) {
      ctx.error('PAM2003', file, c.name.span, `a ${kind} login has no \`${what}\``, {
        help: didYouMean(what, CREDENTIALS_BY_KIND[kind]) ?? `one of ${CREDENTIALS_BY_KIND[kind].join(', ')}`,
      });
      continue;
    }
    const secret = lowerSecret(ctx, file, c.secret, what);
    if (what === 'password' || what === 'token') password = secret;
  }
  return password;
}

function choice<T extends string>(ctx: CompileContext, file: string, ident: Ident, allowed: readonly T[], what: string): T | null {
  const value = foldIdent(ident);
  if ((allowed as readonly string[]).includes(value)) return value as T;
  ctx.error('PAM2006', file, ident.span, `unknown ${what} \`${value}\``, {
    help: didYouMean(value, allowed) ?? `one of ${allowed.join(', ')}`,
  });
  return null;
}

function lowerListenerTls(ctx: CompileContext, file: string, modeIdent: Ident, options: TlsOption[], listener: ListenerOptions): void {
  const mode = choice(ctx, file, modeIdent, LISTENER_TLS_MODES, 'tls mode');
  if (mode) listener.tls.mode = mode;
  let hasCert = false;
  let hasKey = false;
  for (const o of options) {
    if (o.kind === 'TlsCert') {
      hasCert = true;
      listener.tls.cert = relativeToRoot(file, o.value.value);
    } else if (o.kind === 'TlsKey') {
      hasKey = true;
      listener.tls.key = lowerSecret(ctx, file, o.secret, 'private key');
    } else ctx.error('PAM2003', file, o.span, 'the listener takes no `ca`', { help: 'a CA verifies the server: use it with `upstream tls`' });
  }
  if (mode === 'off') {
    ctx.warn('PAM3007', file, modeIdent.span, 'with `tls off` agents send their tokens in clear over the network', {
      help: '`tls require` accepts plaintext from loopback only',
    });
  }
  if (hasCert !== hasKey) {
    ctx.error('PAM2004', file, modeIdent.span, 'the listener needs both `cert` and `key`');
  }
}

function lowerUpstreamTls(
  ctx: CompileContext,
  file: string,
  modeIdent: Ident,
  options: TlsOption[],
  upstream: { mode: (typeof UPSTREAM_TLS_MODES)[number]; ca: string | null },
): void {
  const mode = choice(ctx, file, modeIdent, UPSTREAM_TLS_MODES, 'upstream tls mode');
  if (mode) upstream.mode = mode;
  for (const o of options) {
    if (o.kind === 'TlsCa') upstream.ca = relativeToRoot(file, o.value.value);
    else ctx.error('PAM2003', file, o.span, 'client certificates for the upstream are not supported', {
      help: 'log in with `login user "…" password env "…"`',
    });
  }
  if ((upstream.mode === 'verify-ca' || upstream.mode === 'verify-full') && upstream.ca === null) {
    ctx.error('PAM2004', file, modeIdent.span, `\`${upstream.mode}\` needs a \`ca\``, { help: 'add `ca "ca.pem"`' });
  }
}

const MASKING_CHOICES: Record<string, readonly string[]> = {
  copy: ['deny', 'mask'],
  derived: ['mask', 'deny'],
  predicates: ['allow', 'deny'],
};

function lowerMasking(ctx: CompileContext, file: string, options: MaskingOption[], masking: MaskingOptions): void {
  for (const o of options) {
    if (o.kind === 'HashKey') {
      masking.hashKey = lowerSecret(ctx, file, o.secret, 'hash key');
      continue;
    }
    const name = foldIdent(o.name);
    const allowed = MASKING_CHOICES[name];
    if (!allowed) {
      ctx.error('PAM2006', file, o.name.span, `unknown masking option \`${name}\``, {
        help: didYouMean(name, [...Object.keys(MASKING_CHOICES), 'hash_key']) ?? 'one of copy, derived, predicates, hash_key',
      });
      continue;
    }
    const value = choice(ctx, file, o.value, allowed, `value for \`${name}\``);
    if (value === null) continue;
    if (name === 'copy') masking.copy = value as MaskingOptions['copy'];
    else if (name === 'derived') masking.derived = value as MaskingOptions['derived'];
    else masking.predicates = value as MaskingOptions['predicates'];
  }
}
