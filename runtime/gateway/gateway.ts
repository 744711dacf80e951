// The gateway process: one listener per postgres target, the admin HTTP listener, the policy in
// force (replaced whole on reload; open sessions decide their next statement with the new one),
// and graceful shutdown. It takes a compiled policy (JSON) — the runtime never compiles.

import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CompiledPolicy, CompiledTarget } from '../../spec/compiled-policy.ts';
import { createTokenVerifier, type TokenVerifier } from '../identity/verify-token.ts';
import { loadPolicy, type LoadedPolicy } from '../policy/load.ts';
import { startEmbedded, type EmbeddedServer } from '../postgres/gateway/embedded.ts';
import { handleConnection, SessionTable, type TargetContext } from '../postgres/gateway/frontend.ts';
import type { PolicyView } from '../postgres/gateway/session.ts';
import { embeddedUpstream, realUpstream, type Upstream } from '../postgres/gateway/upstream.ts';
import { loadParser } from '../sql/parser.ts';
import { startAdmin, startApiListener, type AdminServer, type ExtraHandler } from './admin.ts';
import { handleApprovalsApi } from '../approvals/api.ts';
import { Approvals } from '../approvals/service.ts';
import { requirementKey } from '../approvals/store.ts';
import type { WebhookTarget } from '../approvals/webhooks.ts';
import { openAudit, type AuditSetup } from '../audit/open.ts';
import type { Recorder } from '../audit/recorder.ts';
import type { Logger } from './log.ts';
import { GatewayMetrics } from './metrics.ts';
import { readSecret } from './secrets.ts';
import { CatalogCache } from '../postgres/gateway/catalog-cache.ts';
import type { MaskContext } from '../postgres/masking/strategies.ts';

export interface GatewayOptions {
  /** folder the policy's relative paths (JWKS file, seed, certificates) resolve against */
  root: string;
  log: Logger;
  /** override a target's listen address: target name → `host:port` (tests, the CLI's --listen) */
  listen?: Record<string, string>;
  /** `host:port` of the admin listener, or null for none */
  admin?: string | null;
  /** default host:port for targets that name no address: port counts up from here */
  defaultListen?: string;
}

export interface ListeningTarget {
  name: string;
  host: string;
  port: number;
  embedded: boolean;
  tls: boolean;
}

interface TargetRuntime {
  name: string;
  server: Server;
  context: TargetContext;
  embedded: EmbeddedServer | null;
  address: ListeningTarget;
}

const DEV_KEY_ID = 'pamc-dev-1';

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(address.slice(i + 1)) };
}

export class Gateway {
  readonly metrics = new GatewayMetrics();
  private view: PolicyView;
  private verifier!: TokenVerifier;
  private readonly targets = new Map<string, TargetRuntime>();
  private admin: AdminServer | null = null;
  private apiServer: AdminServer | null = null;
  /** approval requests, grants and webhooks */
  readonly approvals: Approvals;
  /** session records, when the policy has an `audit` block */
  private audit: AuditSetup | null = null;
  private readonly maskContexts = new Map<string, MaskContext>();
  private closing = false;

  private constructor(
    private readonly options: GatewayOptions,
    loaded: LoadedPolicy,
  ) {
    this.view = { loaded, version: 1 };
    const a = loaded.compiled.approvals;
    this.approvals = new Approvals({
      log: options.log,
      grantsDir: a?.dir ? resolve(options.root, a.dir) : null,
      webhooks: [],
      apiUrl: a?.api.url ?? null,
      recorder: () => this.audit?.recorder ?? null,
    });
  }

  get recorder(): Recorder | null {
    return this.audit?.recorder ?? null;
  }

  private async webhookTargets(compiled: CompiledPolicy): Promise<WebhookTarget[]> {
    const out: WebhookTarget[] = [];
    for (const w of compiled.approvals?.webhooks ?? []) {
      const url = typeof w.url === 'string' ? w.url : await readSecret(w.url, this.options.root);
      out.push({ url, secret: w.secret ? await readSecret(w.secret, this.options.root) : null, format: w.format });
    }
    return out;
  }

  private apiHandler(): ExtraHandler {
    return (req, res) => handleApprovalsApi(req, res, { approvals: () => this.approvals, verifier: () => this.verifier, log: this.options.log });
  }

  /** Starts a gateway for a compiled policy; throws (with a readable message) if it cannot. */
  static async start(compiled: CompiledPolicy, options: GatewayOptions): Promise<Gateway> {
    const g = new Gateway(options, loadPolicy(compiled));
    await loadParser();
    g.verifier = await createTokenVerifier(compiled.identity, options.root);
    await g.warnAboutDevKey(compiled);
    try {
      if (compiled.audit) {
        g.audit = await openAudit(compiled.audit, options.root);
        g.audit.recorder.policy({ name: compiled.policy, digest: compiled.digest, reason: 'start', version: 1 });
      }
      g.approvals.reconfigure(await g.webhookTargets(compiled), compiled.approvals?.api.url ?? null);
      let nextPort = options.defaultListen ? splitAddress(options.defaultListen).port : 6432;
      for (const [name, t] of Object.entries(compiled.targets)) {
        if (t.kind !== 'postgres') {
          options.log.warn('target-not-served', { target: name, kind: t.kind, reason: `${t.kind} targets are not served by this version of the gateway` });
          continue;
        }
        const address = options.listen?.[name] ?? t.listener.address ?? `${options.defaultListen ? splitAddress(options.defaultListen).host : '127.0.0.1'}:${nextPort++}`;
        await g.startTarget(name, t, address);
      }
      if (options.admin) g.admin = await startAdmin(options.admin, g, compiled.approvals?.api.listen ? undefined : g.apiHandler());
      const api = compiled.approvals?.api;
      if (api?.listen) {
        const tls = api.tls ? { cert: await readFile(resolve(options.root, api.tls.cert)), key: await readSecret(api.tls.key, options.root) } : null;
        g.apiServer = await startApiListener(api.listen, g.apiHandler(), tls);
      }
    } catch (e) {
      await g.close();
      throw e;
    }
    options.log.info('gateway-started', { policy: compiled.policy, digest: compiled.digest, targets: g.listening() });
    return g;
  }

  private async warnAboutDevKey(compiled: CompiledPolicy): Promise<void> {
    if (!('file' in compiled.identity.jwks)) return;
    try {
      const jwks = JSON.parse(await readFile(resolve(this.options.root, compiled.identity.jwks.file), 'utf8')) as { keys?: { kid?: string }[] };
      if (jwks.keys?.some((k) => k.kid === DEV_KEY_ID)) {
        this.options.log.warn('development-key-trusted', {
          note: 'this policy trusts the public development key of `pamc token --dev`: anyone can mint tokens for it. Local use only.',
        });
      }
    } catch {
      // the verifier reports an unreadable JWKS
    }
  }

  private async startTarget(name: string, t: CompiledTarget, address: string): Promise<void> {
    const connection = t.connection;
    if (!connection) throw new Error(`target ${name} has no connection`);
    let embedded: EmbeddedServer | null = null;
    let upstream: Upstream;
    if (connection.embedded) {
      embedded = await startEmbedded(connection.seed, this.options.root);
      upstream = embeddedUpstream(name, embedded);
    } else {
      upstream = realUpstream(name, connection, this.options.root);
    }
    const tlsContext = await this.tlsContext(t);
    const searchPath = () => this.currentTarget(name)?.searchPath ?? t.searchPath;
    const catalog = new CatalogCache(upstream, searchPath, this.options.log, name);
    // masking needs the snapshot, and so do decisions: partitions and inheritance children share rows
    await catalog.refresh();
    this.maskContexts.set(name, await this.readMaskContext(t));
    const context: TargetContext = {
      name,
      tls: { mode: t.listener.tls.mode, context: tlsContext },
      upstream,
      searchPath,
      catalog,
      approvals: this.approvals,
      recorder: () => this.audit?.recorder ?? null,
      maskContext: () => this.maskContexts.get(name) ?? { hashKey: null },
      policy: () => this.view,
      verifier: () => this.verifier,
      log: this.options.log,
      metrics: this.metrics,
      sessions: new SessionTable(),
      closing: () => this.closing,
    };
    const server = createServer({ pauseOnConnect: false }, (socket: Socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      void handleConnection(socket, context);
    });
    const { host, port } = splitAddress(address);
    await new Promise<void>((resolvePromise, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen on ${address} for target ${name}: ${e.code === 'EADDRINUSE' ? 'the address is in use' : e.message}`)),
      );
      server.listen(port, host, () => resolvePromise());
    });
    server.on('error', (e) => this.options.log.error('listener-error', { target: name, error: e.message }));
    const bound = server.address();
    const actualPort = typeof bound === 'object' && bound ? bound.port : port;
    this.targets.set(name, {
      name,
      server,
      context,
      embedded,
      address: { name, host, port: actualPort, embedded: embedded !== null, tls: tlsContext !== null },
    });
  }

  /** The hash key of a target's `hash` masks; without it `hash` masks as `redact`. */
  private async readMaskContext(t: CompiledTarget): Promise<MaskContext> {
    const key = t.masking.hashKey;
    if (!key) return { hashKey: null };
    try {
      return { hashKey: Buffer.from(await readSecret(key, this.options.root), 'utf8') };
    } catch (e) {
      this.options.log.error('hash-key-unavailable', { error: (e as Error).message, note: '`hash` masks yield redacted values until the key can be read' });
      return { hashKey: null };
    }
  }

  private async tlsContext(t: CompiledTarget): Promise<SecureContext | null> {
    const { cert, key, mode } = t.listener.tls;
    if (mode === 'off' || cert === null || key === null) return null;
    const certPem = await readFile(resolve(this.options.root, cert));
    const keyPem = await readSecret(key, this.options.root);
    return createSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' });
  }

  private currentTarget(name: string): CompiledTarget | undefined {
    return this.view.loaded.compiled.targets[name];
  }

  /** Where each served target listens. */
  /** The admin listener's port (0 when there is none) and the approvals API's own, if any. */
  adminPorts(): { admin: number; api: number } {
    return { admin: this.admin?.port ?? 0, api: this.apiServer?.port ?? 0 };
  }

  listening(): ListeningTarget[] {
    return [...this.targets.values()].map((t) => t.address);
  }

  get policyView(): PolicyView {
    return this.view;
  }

  sessionCount(): number {
    let n = 0;
    for (const t of this.targets.values()) n += t.context.sessions.all.size;
    return n;
  }

  /**
   * Replaces the policy in force. The new one must load; targets that need a restart to change
   * (added, removed, moved, or with other connection details) are reported, and keep serving as
   * before for the connection parts while their rules come from the new policy.
   */
  async reload(compiled: CompiledPolicy): Promise<{ restartNeeded: string[] }> {
    const loaded = loadPolicy(compiled);
    const verifier = await createTokenVerifier(compiled.identity, this.options.root);
    const before = this.view.loaded.compiled;
    const restartNeeded: string[] = [];
    for (const name of new Set([...Object.keys(before.targets), ...Object.keys(compiled.targets)])) {
      const a = before.targets[name];
      const b = compiled.targets[name];
      if (!a || !b || JSON.stringify([a.connection, a.listener]) !== JSON.stringify([b.connection, b.listener])) restartNeeded.push(name);
    }
    for (const [name, t] of Object.entries(compiled.targets)) {
      const running = this.targets.get(name);
      if (!running || t.kind !== 'postgres') continue;
      this.maskContexts.set(name, await this.readMaskContext(t));
      // Masks may name relations the running snapshot does not hold yet.
      if (Object.keys(t.masks).length > 0) await running.context.catalog?.refresh();
    }
    this.view = { loaded, version: this.view.version + 1 };
    this.verifier = verifier;
    this.withdrawOutdatedRequests(loaded);
    this.approvals.reconfigure(await this.webhookTargets(compiled), compiled.approvals?.api.url ?? null);
    this.audit?.recorder.policy({ name: compiled.policy, digest: compiled.digest, reason: 'reload', version: this.view.version });
    if (JSON.stringify(before.audit ?? null) !== JSON.stringify(compiled.audit ?? null) || JSON.stringify(before.approvals?.api ?? null) !== JSON.stringify(compiled.approvals?.api ?? null)) {
      this.options.log.warn('restart-needed', { reason: 'the audit block or the approvals API listener changed; they change on restart' });
    }
    this.metrics.reloads.inc({ result: 'ok' });
    this.options.log.info('policy-reloaded', { policy: compiled.policy, digest: compiled.digest, version: this.view.version, restartNeeded });
    return { restartNeeded };
  }

  /**
   * After a reload: a pending request asks for what rules that are no longer in the policy
   * required. Its statement could not run on it (it is decided again when released, and a grant
   * is for the requirements it was given under), so it is withdrawn now, and its approvers no
   * longer see it.
   */
  private withdrawOutdatedRequests(loaded: LoadedPolicy): void {
    const current = new Set<string>();
    for (const [name, t] of loaded.targets) {
      for (const cells of t.actions.values()) {
        for (const cell of cells.values()) {
          for (const e of cell.approve) {
            const q = e.approval;
            if (q) current.add(`${name}\u0000${loaded.rules[e.rule]?.text ?? ''}\u0000${requirementKey(q)}`);
          }
        }
      }
    }
    for (const r of this.approvals.store.all()) {
      if (r.status !== 'pending') continue;
      const kept = r.requirements.every((q) => current.has(`${r.target}\u0000${q.rule.text}\u0000${requirementKey(q)}`));
      if (!kept) this.approvals.store.withdraw(r.id, 'the policy changed');
    }
  }

  /**
   * Stops accepting; idle sessions end at once, busy ones when their statement or transaction
   * is over, for up to `graceMs`; then the rest are closed.
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.options.log.info('gateway-stopping', { sessions: this.sessionCount(), graceSeconds: graceMs / 1000 });
    for (const t of this.targets.values()) t.server.close();
    for (const t of this.targets.values()) for (const s of [...t.context.sessions.all]) s.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.sessionCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const t of this.targets.values()) for (const s of [...t.context.sessions.all]) s.end('gateway-shutdown');
    await this.approvals.close();
    await this.admin?.close();
    await this.apiServer?.close();
    for (const t of this.targets.values()) t.context.catalog?.close();
    await this.audit?.close().catch((e: Error) => this.options.log.error('audit-close-failed', { error: e.message }));
    for (const t of this.targets.values()) await t.embedded?.stop().catch(() => {});
    this.options.log.info('gateway-stopped');
  }
}
