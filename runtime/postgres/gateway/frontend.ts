// The client side of a connection before its session starts: transport (SSLRequest with TLS
// termination or 'N', GSSENCRequest → 'N', direct TLS with ALPN `postgresql`, bytes smuggled
// after SSLRequest refused), CancelRequest, the startup packet, the token as a cleartext
// password, the upstream login, and the hand-over to PgSession.

import { randomBytes, randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../../gateway/log.ts';
import type { GatewayMetrics } from '../../gateway/metrics.ts';
import { decide } from '../../policy/decide.ts';
import { createPrincipal, type Identity } from '../../policy/principal.ts';
import type { TokenVerifier } from '../../identity/verify-token.ts';
import { TokenError } from '../../identity/verify-token.ts';
import {
  buildError,
  decodePasswordMessage,
  decodeStartupPacket,
  encodeAuthenticationCleartextPassword,
  encodeAuthenticationOk,
  encodeBackendKeyData,
  encodeNegotiateProtocolVersion,
  encodeParameterStatus,
  encodeReadyForQuery,
  FrontendMessageType as F,
  FrontendReader,
  looksLikeTlsClientHello,
  negotiation,
  type Frame,
  type ProtocolError,
} from '../protocol/index.ts';
import { UpstreamError } from '../upstream-connect.ts';
import { PgSession, type PolicyView } from './session.ts';
import { decideStartup } from './startup-params.ts';
import type { CatalogCache } from './catalog-cache.ts';
import type { Approvals } from '../../approvals/service.ts';
import type { Recorder } from '../../audit/recorder.ts';
import type { MaskContext } from '../masking/strategies.ts';
import type { Upstream } from './upstream.ts';

const STARTUP_TIMEOUT_MS = 30_000;

export interface ListenerTls {
  mode: 'off' | 'prefer' | 'require';
  context: SecureContext | null;
}

/** What every connection to one target shares. */
export interface TargetContext {
  name: string;
  tls: ListenerTls;
  upstream: Upstream;
  searchPath: () => readonly string[];
  policy: () => PolicyView;
  verifier: () => TokenVerifier;
  log: Logger;
  metrics: GatewayMetrics;
  sessions: SessionTable;
  /** the gateway is shutting down: a session that finishes its startup now ends when idle */
  closing?: () => boolean;
  /** the target's catalog snapshot for masking */
  catalog?: CatalogCache;
  /** the hash key of the target's `hash` masks */
  maskContext?: () => MaskContext;
  /** approval requests of statements that need them */
  approvals?: Approvals;
  /** session records, when the policy has an audit block */
  recorder?: () => Recorder | null;
}

/** Sessions by the backend key the gateway gave the client, for CancelRequest. */
export class SessionTable {
  private readonly byKey = new Map<string, { session: PgSession; cancel: () => void }>();
  readonly all = new Set<PgSession>();

  add(pid: number, secret: Buffer, session: PgSession, cancel: () => void): void {
    this.byKey.set(`${pid}:${secret.toString('hex')}`, { session, cancel });
    this.all.add(session);
  }
  remove(pid: number, secret: Buffer, session: PgSession): void {
    this.byKey.delete(`${pid}:${secret.toString('hex')}`);
    this.all.delete(session);
  }
  cancel(pid: number, secret: Buffer): boolean {
    const s = this.byKey.get(`${pid}:${secret.toString('hex')}`);
    if (!s) return false;
    s.cancel();
    return true;
  }
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.') || address === 'localhost';
}

/** Frames from a socket, one at a time, during startup. */
class StartupChannel {
  private waiter: ((v: Frame | ProtocolError | 'closed') => void) | null = null;
  private closed = false;
  private readonly onData = (chunk: Buffer) => {
    this.reader.push(chunk);
    this.wake();
  };
  private readonly onClose = () => {
    this.closed = true;
    this.wake();
  };

  constructor(
    readonly socket: Socket | TLSSocket,
    readonly reader: FrontendReader,
  ) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('end', this.onClose);
    socket.on('error', this.onClose);
  }

  private wake(): void {
    if (!this.waiter) return;
    const next = this.reader.next();
    if (next !== null) {
      const w = this.waiter;
      this.waiter = null;
      w(next);
    } else if (this.closed) {
      const w = this.waiter;
      this.waiter = null;
      w('closed');
    }
  }

  next(): Promise<Frame | ProtocolError | 'closed'> {
    const m = this.reader.next();
    if (m !== null) return Promise.resolve(m);
    if (this.closed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Stops listening; the socket is paused and keeps its bytes for the next owner. */
  detach(): void {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('end', this.onClose);
    this.socket.off('error', this.onClose);
  }
}

class Refusal extends Error {
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

function fatal(socket: Socket | TLSSocket, sqlstate: string, message: string, hint?: string): void {
  try {
    socket.end(buildError(sqlstate, message, { severity: 'FATAL', ...(hint ? { hint } : {}) }));
  } catch {
    socket.destroy();
  }
}

/** Handles one accepted client connection to a target, through to its session. */
export async function handleConnection(raw: Socket, t: TargetContext): Promise<void> {
  const log = t.log.child({ target: t.name, client: `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}` });
  const loopback = isLoopback(raw.remoteAddress);
  raw.setNoDelay(true);
  raw.on('error', () => {});
  const timer = setTimeout(() => {
    log.warn('startup-timeout');
    fatal(raw, '08006', 'pamc: the startup did not finish in time');
    raw.destroy();
  }, STARTUP_TIMEOUT_MS);
  try {
    await startup(raw, t, loopback, log, timer);
  } catch (e) {
    clearTimeout(timer);
    const socket = (e as { socket?: Socket | TLSSocket }).socket ?? raw;
    if (e instanceof Refusal) {
      t.metrics.connections.inc({ target: t.name, result: 'refused' });
      fatal(socket, e.sqlstate, e.message, e.hint);
    } else {
      t.metrics.connections.inc({ target: t.name, result: 'error' });
      log.error('startup-failed', { error: (e as Error).message });
      fatal(socket, '08006', 'pamc: the gateway could not set up the session');
    }
  }
}

async function startup(raw: Socket, t: TargetContext, loopback: boolean, log: Logger, timer: NodeJS.Timeout): Promise<void> {
  let socket: Socket | TLSSocket = raw;
  let encrypted = false;

  // Direct TLS (PostgreSQL 17 `sslnegotiation=direct`): the first byte is a TLS handshake.
  const first = await firstChunk(raw);
  if (first === null) return;
  if (looksLikeTlsClientHello(first)) {
    if (!t.tls.context) {
      log.info('refused', { reason: 'direct TLS without a certificate configured' });
      raw.destroy();
      return;
    }
    socket = await upgradeTls(withFirstChunk(raw, first), t.tls.context, true);
    encrypted = true;
  } else {
    raw.unshift(first);
  }

  let reader = new FrontendReader();
  let channel = new StartupChannel(socket, reader);
  socket.resume();
  let startupMessage: Extract<ReturnType<typeof decodeStartupPacket>, { kind: 'StartupMessage' }> | null = null;
  while (startupMessage === null) {
    const f = await channel.next();
    if (f === 'closed') return;
    if (f.kind === 'ProtocolError') throw Object.assign(new Refusal('08P01', `pamc: ${f.message}`), { socket });
    const p = decodeStartupPacket(f.body);
    if (p.kind === 'ProtocolError') throw Object.assign(new Refusal('08P01', `pamc: ${p.message}`), { socket });
    switch (p.kind) {
      case 'SSLRequest':
      case 'GSSENCRequest': {
        if (encrypted) throw Object.assign(new Refusal('08P01', 'pamc: an encryption request on an encrypted connection'), { socket });
        if (reader.bufferedBytes > 0) {
          // CVE-2021-23214: bytes after the request and before the handshake would be read as
          // if they had come through TLS. Refused before answering, as PostgreSQL does.
          log.warn('refused', { reason: 'bytes after an encryption request' });
          throw Object.assign(new Refusal('08P01', 'pamc: received unencrypted data after an encryption request'), { socket });
        }
        const canTls = p.kind === 'SSLRequest' && t.tls.context !== null;
        socket.write(canTls ? 'S' : 'N');
        if (canTls) {
          channel.detach();
          socket = await upgradeTls(socket as Socket, t.tls.context!, false);
          encrypted = true;
          reader = new FrontendReader();
          channel = new StartupChannel(socket, reader);
          socket.resume();
        }
        break;
      }
      case 'CancelRequest':
        channel.detach();
        clearTimeout(timer);
        if (!t.sessions.cancel(p.pid, p.secret)) log.info('cancel-unknown-key');
        socket.destroy();
        return;
      case 'StartupMessage':
        startupMessage = p;
        break;
    }
  }

  if (!encrypted && t.tls.mode === 'require' && !loopback) {
    throw Object.assign(new Refusal('28000', 'pamc: TLS is required for connections from other hosts', 'connect with sslmode=require'), { socket });
  }
  const nego = negotiation(startupMessage);
  if (nego) socket.write(encodeNegotiateProtocolVersion(nego.newestMinor, nego.unrecognizedOptions));

  const decision = decideStartup(startupMessage.parameters, { databases: t.upstream.databases, searchPath: t.searchPath() });
  if (!decision.ok) throw Object.assign(new Refusal(decision.sqlstate, `pamc: ${decision.message}`, decision.hint), { socket });

  // The token arrives as a cleartext password (TLS protects it off loopback).
  socket.write(encodeAuthenticationCleartextPassword());
  const pw = await channel.next();
  if (pw === 'closed') return;
  if (pw.kind === 'ProtocolError') throw Object.assign(new Refusal('08P01', `pamc: ${pw.message}`), { socket });
  if (pw.type !== F.Password) throw Object.assign(new Refusal('08P01', 'pamc: expected a password message'), { socket });
  const pm = decodePasswordMessage(pw.body);
  if (pm.kind === 'ProtocolError') throw Object.assign(new Refusal('08P01', `pamc: ${pm.message}`), { socket });

  // The session's connect record (spec/audit.md §4), written for refused identities too.
  const recordConnect = (identity: Identity | null, error: { code: string; message: string } | null): string | null => {
    const recorder = t.recorder?.();
    if (!recorder) return null;
    const compiled = t.policy().loaded.compiled;
    const tlsInfo = socket instanceof TLSSocket ? { protocol: socket.getProtocol() ?? 'TLS', ...(socket.getCipher()?.name ? { cipher: socket.getCipher().name } : {}) } : null;
    return recorder.connect({
      identity: identity ? { subject: identity.subject, groups: identity.groups, agent: identity.agent } : null,
      client: { address: raw.remoteAddress ?? '?', ...(raw.remotePort ? { port: raw.remotePort } : {}) },
      target: { name: t.name, kind: 'postgres', database: decision.upstream.database, user: decision.user },
      tls: tlsInfo,
      application: decision.applicationName || null,
      outcome: error ? 'rejected' : 'accepted',
      error,
      policy: { name: compiled.policy, digest: compiled.digest },
    });
  };

  let identity: Identity;
  try {
    identity = await t.verifier().verify(pm.password);
  } catch (e) {
    if (e instanceof TokenError) {
      log.info('authentication-failed', { reason: e.reason, detail: e.detail, user: decision.user });
      const sqlstate = e.reason === 'unavailable' ? '08006' : '28P01';
      recordConnect(null, { code: sqlstate, message: `authentication failed: ${e.message}` });
      throw Object.assign(new Refusal(sqlstate, `pamc: authentication failed: ${e.message}`), { socket });
    }
    throw e;
  }

  // An identity the policy grants nothing on this target is refused at the door.
  const view = t.policy();
  const target = view.loaded.targets.get(t.name);
  if (!target) throw Object.assign(new Refusal('28000', `pamc: target "${t.name}" is not in the policy`), { socket });
  const principal = createPrincipal(view.loaded, target, identity);
  if (decide(principal, [{ text: '', location: 0, length: 0, nodeType: 'Connect', facts: [], limited: false, fingerprint: '', effects: [] }]).effect === 'deny') {
    log.info('authorization-failed', { subject: identity.subject, agent: identity.agent, groups: identity.groups });
    recordConnect(identity, { code: '28000', message: 'the policy grants this identity nothing on the target' });
    throw Object.assign(
      new Refusal('28000', `pamc: the policy grants this identity nothing on target "${t.name}"`, 'check the groups in your token against the policy'),
      { socket },
    );
  }

  let upstream;
  try {
    upstream = await t.upstream.connect({ ...decision.upstream, application_name: decision.applicationName || `pamc:${identity.agent ?? identity.subject}` });
  } catch (e) {
    const detail = e instanceof UpstreamError ? `${e.code}: ${e.message}` : (e as Error).message;
    if (e instanceof UpstreamError && e.code === 'busy') {
      log.warn('embedded-busy', { subject: identity.subject, detail });
      recordConnect(identity, { code: '53300', message: 'the embedded target serves another session' });
      throw Object.assign(
        new Refusal('53300', `pamc: target "${t.name}" is embedded (one PGlite session underneath) and serves one session at a time; another is open`, 'end the other session, or use a PostgreSQL server for concurrent sessions'),
        { socket },
      );
    }
    // A value of a startup parameter the client chose (DateStyle=garbage, TimeZone=Mars/…) that the
    // server refuses is the client's mistake, not the target's outage: said so, with the server's
    // words (they name the parameter and value, nothing of the gateway's login).
    if (e instanceof UpstreamError && e.sqlstate !== undefined && (e.sqlstate.startsWith('22') || e.sqlstate === '42704') && e.serverError?.message) {
      log.warn('startup-parameter-refused', { subject: identity.subject, detail });
      recordConnect(identity, { code: e.sqlstate, message: e.serverError.message });
      throw Object.assign(new Refusal(e.sqlstate, `pamc: target "${t.name}" refused a startup parameter: ${e.serverError.message}`), { socket });
    }
    log.error('upstream-unavailable', { subject: identity.subject, detail });
    recordConnect(identity, { code: '08006', message: 'the target is unavailable' });
    throw Object.assign(new Refusal('08006', `pamc: target "${t.name}" is unavailable`), { socket });
  }
  // The classifier reads SQL as a UTF8 database does. Another database encoding cuts long names
  // at other bytes and (single-byte encodings) folds the case of letters outside ASCII, so the
  // server would resolve names the gateway decided differently: refused, never guessed.
  const encoding = upstream.parameters.get('server_encoding') ?? '(not reported)';
  if (encoding !== 'UTF8') {
    upstream.socket.destroy();
    log.error('upstream-encoding', { subject: identity.subject, detail: `the database's encoding is ${encoding}; pamc serves UTF8 databases only` });
    recordConnect(identity, { code: '0A000', message: `the target database's encoding is ${encoding}, not UTF8` });
    throw Object.assign(new Refusal('0A000', `pamc: target "${t.name}" cannot be served: its database encoding is ${encoding}, and pamc reads SQL as a UTF8 database does`), { socket });
  }

  channel.detach();
  clearTimeout(timer);
  const pid = randomInt(1, 0x7fffffff);
  const secret = randomBytes(4);
  const hello: Buffer[] = [encodeAuthenticationOk()];
  for (const [name, value] of upstream.parameters) {
    hello.push(encodeParameterStatus(name, name === 'session_authorization' ? decision.user : value));
  }
  hello.push(encodeBackendKeyData(pid, secret), encodeReadyForQuery(upstream.transactionStatus));
  socket.write(Buffer.concat(hello));

  const id = `${t.name}-${pid.toString(36)}`;
  const auditId = recordConnect(identity, null);
  const upstreamKey = upstream.backendKey;
  const session: PgSession = new PgSession(
    socket,
    upstream.socket as Socket,
    {
      id,
      targetName: t.name,
      identity,
      policy: t.policy,
      log: t.log,
      metrics: t.metrics,
      onEnd: (s) => {
        t.sessions.remove(pid, secret, s);
        t.metrics.activeSessions.add({ target: t.name }, -1);
      },
      cancelUpstream: () => {
        if (!upstreamKey) return;
        return t.upstream.cancel(upstreamKey.pid, upstreamKey.secret).catch((e: Error) => log.warn('cancel-failed', { error: e.message }));
      },
      catalog: () => t.catalog?.current() ?? null,
      lastCatalog: () => t.catalog?.lastKnown() ?? null,
      invalidateCatalog: () => t.catalog?.invalidate(),
      ...(t.maskContext ? { maskContext: t.maskContext } : {}),
      ...(t.approvals ? { approvals: t.approvals } : {}),
      ...(t.recorder ? { recorder: t.recorder } : {}),
      auditId,
      upstreamReads: upstream.reads,
    },
    reader,
    t.searchPath(),
  );
  t.sessions.add(pid, secret, session, () => session.cancel());
  t.metrics.connections.inc({ target: t.name, result: 'accepted' });
  t.metrics.activeSessions.add({ target: t.name }, 1);
  log.info('connect', {
    session: id,
    subject: identity.subject,
    agent: identity.agent,
    groups: identity.groups,
    user: decision.user,
    application: decision.applicationName,
    tls: encrypted,
  });
  session.start();
  if (t.closing?.()) session.shutdown();
}

function firstChunk(socket: Socket): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      socket.pause();
      resolve(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(null);
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}

/**
 * The socket as a stream that starts with bytes already read from it. TLSSocket reads a
 * net.Socket's handle directly and would miss them, so direct TLS goes through this.
 */
function withFirstChunk(socket: Socket, first: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  d.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!d.push(chunk)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  Object.defineProperty(d, 'remoteAddress', { get: () => socket.remoteAddress });
  return d;
}

function upgradeTls(socket: Socket | Duplex, context: SecureContext, direct: boolean): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = new TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: ['postgresql'] });
    const fail = (e: Error) => reject(Object.assign(new Refusal('08P01', `pamc: TLS handshake failed: ${e.message}`), { socket }));
    tls.once('error', fail);
    tls.once('secure', () => {
      tls.off('error', fail);
      tls.on('error', () => {});
      // A direct TLS connection must say it speaks PostgreSQL (ALPN), as PostgreSQL 17 requires.
      if (direct && tls.alpnProtocol !== 'postgresql') {
        tls.destroy();
        reject(Object.assign(new Refusal('08P01', 'pamc: direct TLS without ALPN "postgresql"'), { socket: tls }));
        return;
      }
      resolve(tls);
    });
  });
}
