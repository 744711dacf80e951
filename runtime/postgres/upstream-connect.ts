// Logging in to the real PostgreSQL server (the gateway's upstream).
//
//   const up = await connectUpstream({ host, port, user, password, database, ssl: 'verify-full', ca });
//   up.socket            paused, no listeners of ours except a no-op 'error' guard; bytes the
//                        server sent after ReadyForQuery were put back with socket.unshift(),
//                        so the first 'data' event after resume() delivers them first
//   up.parameters        ParameterStatus values (server_version, client_encoding, ...)
//   up.backendKey        { pid, secret } for CancelRequest (sendCancel)
//   up.transactionStatus 'I' normally
//
// TLS modes follow libpq: disable (never), prefer (SSLRequest; 'N' or a failed handshake →
// plain), require (TLS or fail; the certificate is only verified when a CA is given, as
// libpq does with a root certificate), verify-ca (chain must verify), verify-full (chain and
// host name / IP). Unix sockets never use TLS (libpq ignores sslmode there too).
//
// Authentication: SCRAM-SHA-256 (the server must prove it knows the password: a wrong server
// signature, or AuthenticationOk before SCRAM finished, is refused), md5, cleartext password,
// trust. `allowedAuthMethods` restricts them, like libpq's require_auth: a gateway that only
// expects SCRAM should refuse a server (or a man in the middle) asking for the cleartext password.
//
// Errors reject with an UpstreamError whose message never contains the password, a SCRAM
// proof or any other secret (messages are also scrubbed of the password as a last guard).

import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket, type ConnectionOptions } from 'node:tls';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BackendReader, BackendMessageType as B } from './protocol/framing.ts';
import { SlabReads } from './slab-reads.ts';
import { encodeStartupMessage, encodeSSLRequest, encodeCancelRequest } from './protocol/startup.ts';
import {
  decodeAuthentication,
  encodePasswordMessage,
  encodeSASLInitialResponse,
  encodeSASLResponse,
} from './protocol/authentication.ts';
import { createScramClient, md5PasswordResponse, SCRAM_SHA_256, type ScramClient } from './protocol/scram.ts';
import { decodeErrorResponse, decodeNoticeResponse, describeFields, type NoticeFields } from './protocol/error-notice.ts';
import {
  decodeBackendKeyData,
  decodeNegotiateProtocolVersion,
  decodeParameterStatus,
  decodeReadyForQuery,
  type TransactionStatus,
} from './protocol/status.ts';
import { typeName } from './protocol/errors.ts';

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
export type AuthMethod = 'scram-sha-256' | 'md5' | 'password' | 'trust';

export interface UpstreamTlsOptions {
  mode: SslMode;
  /** CA certificate(s) in PEM */
  ca?: string | Buffer;
  /** path of a PEM file with the CA certificate(s) */
  caFile?: string;
  /** name to verify (and send as SNI); default: the host when it is not an IP address */
  servername?: string;
  /** client certificate and key (PEM), for `cert` authentication or servers that ask for one */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface UpstreamOptions {
  host?: string;
  port?: number;
  /** Unix socket: its directory (`<dir>/.s.PGSQL.<port>`) or the socket file itself */
  socketPath?: string;
  user: string;
  /** not needed for trust */
  password?: string | Buffer;
  database?: string;
  /** further startup parameters (application_name, client_encoding, options, ...) */
  parameters?: Record<string, string>;
  /** a mode, or a mode with CA and names; default 'prefer' like libpq */
  ssl?: SslMode | UpstreamTlsOptions;
  /** budget for connect, TLS and authentication together (default 10 s) */
  connectTimeoutMs?: number;
  /** authentication methods the server may ask for (default: all four) */
  allowedAuthMethods?: readonly AuthMethod[];
  /** cap on a message from the server during startup (default 1 MiB) */
  maxMessageLength?: number;
}

export interface UpstreamConnection {
  socket: Socket | TLSSocket;
  parameters: Map<string, string>;
  /** null if the server sent no BackendKeyData */
  backendKey: { pid: number; secret: Buffer } | null;
  transactionStatus: TransactionStatus;
  authMethod: AuthMethod;
  tls: boolean;
  /** NoticeResponses received during startup */
  notices: NoticeFields[];
  /** bytes received after ReadyForQuery, put back into the socket with unshift() */
  bufferedBytes: number;
  /** the socket reads into slabs (no TLS): the reader may let it reuse them (slab-reads.ts) */
  reads: SlabReads | null;
}

export type UpstreamErrorCode =
  /** TCP / Unix socket connection failed (refused, unreachable, DNS) */
  | 'connect-failed'
  /** the whole login did not finish within connectTimeoutMs */
  | 'timeout'
  /** TLS was required and the server does not offer it */
  | 'tls-unavailable'
  /** the TLS handshake or certificate verification failed */
  | 'tls-failed'
  /** the server refused the credentials (SQLSTATE class 28) */
  | 'auth-failed'
  /** the server asked for a method that is not allowed or not supported */
  | 'auth-method-refused'
  /** the server asked for a password and none was configured */
  | 'password-required'
  /** the server could not prove it knows the password (SCRAM), or skipped the proof */
  | 'server-not-verified'
  /** any other ErrorResponse during startup (unknown database, too many connections, ...) */
  | 'server-error'
  /** malformed or unexpected bytes from the server */
  | 'protocol-error'
  /** the server closed the connection during startup */
  | 'closed'
  /** the embedded server already serves a session (it has one session underneath) */
  | 'busy';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
    /** SQLSTATE of the server's ErrorResponse, when there was one */
    readonly sqlstate?: string,
    /** the server's ErrorResponse fields, when there was one */
    readonly serverError?: NoticeFields,
  ) {
    super(message);
  }
}

const ALL_METHODS: readonly AuthMethod[] = ['scram-sha-256', 'md5', 'password', 'trust'];

/** Logs in to a PostgreSQL server. See the module comment. */
export async function connectUpstream(options: UpstreamOptions): Promise<UpstreamConnection> {
  const secrets = secretStrings(options.password);
  try {
    if (typeof options.user !== 'string' || options.user === '') throw new UpstreamError('protocol-error', 'a user name is required');
    const port = options.port ?? 5432;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UpstreamError('connect-failed', `invalid port ${String(options.port)}`);
    const tlsOpts = normalizeTls(options.ssl);
    const unix = options.socketPath !== undefined;
    const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
    if (unix || tlsOpts.mode === 'disable') return await attempt(options, tlsOpts, false, deadline);
    if (tlsOpts.mode === 'prefer') {
      try {
        return await attempt(options, tlsOpts, true, deadline);
      } catch (err) {
        // libpq's prefer: a server without TLS ('N') continues in the clear inside attempt();
        // a failed handshake is retried on a new connection without TLS.
        if (err instanceof UpstreamError && err.code === 'tls-failed') return await attempt(options, tlsOpts, false, deadline);
        throw err;
      }
    }
    return await attempt(options, tlsOpts, true, deadline);
  } catch (err) {
    throw scrub(err, secrets);
  }
}

function secretStrings(password: string | Buffer | undefined): string[] {
  if (password === undefined) return [];
  const s = typeof password === 'string' ? password : password.toString('utf8');
  return s.length > 0 ? [s] : [];
}

function scrub(err: unknown, secrets: string[]): UpstreamError {
  const e = err instanceof UpstreamError ? err : new UpstreamError('protocol-error', `unexpected failure: ${(err as Error)?.message ?? String(err)}`);
  let message = e.message;
  for (const s of secrets) message = message.split(s).join('[redacted]');
  if (message === e.message) return e;
  return new UpstreamError(e.code, message, e.sqlstate, e.serverError);
}

/** The TLS options with the CA file read (a missing file is an error in every mode, never a reason to fall back). */
function normalizeTls(ssl: UpstreamOptions['ssl']): UpstreamTlsOptions {
  if (ssl === undefined) return { mode: 'prefer' };
  if (typeof ssl === 'string') ssl = { mode: ssl };
  if (!['disable', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(ssl.mode)) {
    throw new UpstreamError('tls-failed', `unknown sslmode ${String(ssl.mode).slice(0, 40)}`);
  }
  if (ssl.ca === undefined && ssl.caFile !== undefined) {
    try {
      return { ...ssl, ca: readFileSync(ssl.caFile) };
    } catch (err) {
      throw new UpstreamError('tls-failed', `could not read the CA file ${ssl.caFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return ssl;
}

function socketFile(path: string, port: number): string {
  try {
    if (statSync(path).isDirectory()) return join(path, `.s.PGSQL.${port}`);
  } catch {
    // not there: let connect() report it
  }
  return path;
}

function describeTarget(o: UpstreamOptions): string {
  return o.socketPath !== undefined ? `unix socket ${o.socketPath}` : `${o.host ?? 'localhost'}:${o.port ?? 5432}`;
}

/** One connection attempt: connect, optional TLS, startup, authentication, until ReadyForQuery. */
function attempt(o: UpstreamOptions, tlsOpts: UpstreamTlsOptions, tryTls: boolean, deadline: number): Promise<UpstreamConnection> {
  return new Promise<UpstreamConnection>((resolve, reject) => {
    const target = describeTarget(o);
    const port = o.port ?? 5432;
    let socket: Socket | TLSSocket;
    let raw: Socket;
    let reads: SlabReads | null = null;
    let settled = false;
    let phase: 'connect' | 'ssl-answer' | 'tls' | 'startup' = 'connect';
    let usingTls = false;

    const remaining = deadline - Date.now();
    const timer = setTimeout(() => fail(new UpstreamError('timeout', `connecting to ${target} timed out during ${phase}`)), Math.max(remaining, 1));

    const fail = (e: UpstreamError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw?.destroy();
      socket?.destroy();
      reject(e);
    };

    try {
      // Without TLS the server's replies are read into a slab of the socket's own (slab-reads.ts).
      reads = tryTls ? null : new SlabReads(() => raw);
      const onread = reads?.onread;
      raw = o.socketPath !== undefined ? netConnect({ path: socketFile(o.socketPath, port), onread }) : netConnect({ host: o.host ?? 'localhost', port, onread });
    } catch (err) {
      fail(new UpstreamError('connect-failed', `could not connect to ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      return;
    }
    socket = raw;
    raw.setNoDelay(true);
    const onRawError = (err: Error): void => {
      const code = phase === 'connect' ? 'connect-failed' : phase === 'tls' ? 'tls-failed' : 'closed';
      fail(new UpstreamError(code, `${phase === 'connect' ? 'could not connect to' : 'connection to'} ${target} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    };
    raw.on('error', onRawError);
    raw.once('connect', () => {
      if (settled) return;
      if (tryTls) {
        phase = 'ssl-answer';
        raw.once('data', onSslAnswer);
        raw.write(encodeSSLRequest());
      } else startup();
    });
    const onClose = (): void => fail(new UpstreamError('closed', `the server at ${target} closed the connection during ${phase}`));
    raw.once('close', onClose);
    let onTlsError: ((err: Error) => void) | null = null;

    function onSslAnswer(chunk: Buffer): void {
      if (settled) return;
      const answer = chunk[0];
      if (answer === 0x53 /* S */) {
        if (chunk.length > 1) {
          // CVE-2021-23222: bytes after 'S' did not come through TLS; a man in the middle may have sent them.
          fail(new UpstreamError('protocol-error', `the server at ${target} sent unencrypted data after agreeing to TLS`));
          return;
        }
        raw.pause();
        startTls();
        return;
      }
      if (answer === 0x4e /* N */ || answer === 0x45 /* E: a server predating SSL */) {
        if (tlsOpts.mode !== 'prefer') {
          fail(new UpstreamError('tls-unavailable', `the server at ${target} does not accept TLS connections (sslmode ${tlsOpts.mode})`));
          return;
        }
        if (answer === 0x45 || chunk.length > 1) {
          fail(new UpstreamError('tls-failed', `the server at ${target} answered the SSL request with an error`));
          return;
        }
        startup();
        return;
      }
      fail(new UpstreamError('protocol-error', `the server at ${target} answered the SSL request with ${typeName(answer ?? 0)}`));
    }

    function startTls(): void {
      phase = 'tls';
      const host = o.host ?? 'localhost';
      const verify = tlsOpts.mode === 'verify-ca' || tlsOpts.mode === 'verify-full';
      const ca = tlsOpts.ca;
      const servername = tlsOpts.servername ?? (isIP(host) === 0 ? host : undefined);
      const opts: ConnectionOptions = {
        socket: raw,
        host,
        rejectUnauthorized: verify || ca !== undefined,
        ALPNProtocols: ['postgresql'],
      };
      if (servername !== undefined) opts.servername = servername;
      if (ca !== undefined) opts.ca = ca;
      if (tlsOpts.cert !== undefined) opts.cert = tlsOpts.cert;
      if (tlsOpts.key !== undefined) opts.key = tlsOpts.key;
      if (tlsOpts.mode !== 'verify-full') opts.checkServerIdentity = () => undefined;
      const t = tlsConnect(opts);
      socket = t;
      onTlsError = (err: Error): void => {
        const what = phase === 'tls' ? 'TLS handshake with' : 'connection to';
        fail(new UpstreamError(phase === 'tls' ? 'tls-failed' : 'closed', `${what} ${target} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      };
      t.on('error', onTlsError);
      t.once('secureConnect', () => {
        if (settled) return;
        usingTls = true;
        startup();
      });
      t.once('close', onClose);
    }

    function startup(): void {
      phase = 'startup';
      const params: [string, string][] = [['user', o.user]];
      if (o.database !== undefined) params.push(['database', o.database]);
      for (const [k, v] of Object.entries(o.parameters ?? {})) {
        if (k !== 'user' && k !== 'database') params.push([k, v]);
      }
      let packet: Buffer;
      try {
        packet = encodeStartupMessage(params);
      } catch (err) {
        fail(new UpstreamError('protocol-error', `invalid startup parameters: ${(err as Error).message}`));
        return;
      }
      login(socket, packet).then(
        (conn) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(conn);
        },
        (err: UpstreamError) => fail(err),
      );
    }

    /** Authentication and the startup messages, until ReadyForQuery. */
    function login(sock: Socket | TLSSocket, packet: Buffer): Promise<UpstreamConnection> {
      return new Promise<UpstreamConnection>((done, abort) => {
        const reader = new BackendReader({ maxMessageLength: o.maxMessageLength ?? 1 << 20 });
        const allowed = new Set(o.allowedAuthMethods ?? ALL_METHODS);
        const parameters = new Map<string, string>();
        const notices: NoticeFields[] = [];
        let backendKey: UpstreamConnection['backendKey'] = null;
        let method: AuthMethod | null = null;
        let authenticated = false;
        let scram: ScramClient | null = null;
        let busy = false;
        let finished = false;

        const stopWith = (e: UpstreamError): void => {
          if (finished) return;
          finished = true;
          sock.off('data', onData);
          abort(e);
        };

        const needPassword = (m: AuthMethod): string | Buffer | null => {
          if (!allowed.has(m)) {
            stopWith(new UpstreamError('auth-method-refused', `the server at ${target} asks for ${m} authentication, which is not allowed`));
            return null;
          }
          method = m;
          if (o.password === undefined) {
            stopWith(new UpstreamError('password-required', `the server at ${target} asks for a password (${m}) and none is configured`));
            return null;
          }
          return o.password;
        };

        const onData = (chunk: Buffer): void => {
          reader.push(chunk);
          if (!busy) void pump();
        };

        const pump = async (): Promise<void> => {
          busy = true;
          try {
            for (;;) {
              if (finished) return;
              const m = reader.next();
              if (m === null) return;
              if (m.kind === 'ProtocolError') return stopWith(new UpstreamError('protocol-error', `invalid data from ${target}: ${m.message}`));
              await handle(m.type, m.body);
            }
          } finally {
            busy = false;
          }
        };

        const bad = (what: string): void => stopWith(new UpstreamError('protocol-error', `invalid data from ${target}: ${what}`));

        const handle = async (type: number, body: Buffer): Promise<void> => {
          switch (type) {
            case B.Authentication: {
              if (authenticated) return bad('authentication request after AuthenticationOk');
              const a = decodeAuthentication(body);
              switch (a.kind) {
                case 'ProtocolError':
                  return bad(a.message);
                case 'AuthenticationOk':
                  if (scram !== null && !scram.verified) {
                    return stopWith(new UpstreamError('server-not-verified', `the server at ${target} accepted the login without proving it knows the password (SCRAM not completed)`));
                  }
                  if (method === null) {
                    if (!allowed.has('trust')) {
                      return stopWith(new UpstreamError('auth-method-refused', `the server at ${target} accepted the login without authentication (trust), which is not allowed`));
                    }
                    method = 'trust';
                  }
                  authenticated = true;
                  return;
                case 'AuthenticationCleartextPassword': {
                  if (method !== null) return bad('a second authentication request');
                  const pw = needPassword('password');
                  if (pw !== null) sock.write(encodePasswordMessage(pw));
                  return;
                }
                case 'AuthenticationMD5Password': {
                  if (method !== null) return bad('a second authentication request');
                  const pw = needPassword('md5');
                  if (pw === null) return;
                  const text = typeof pw === 'string' ? pw : pw.toString('utf8');
                  sock.write(encodePasswordMessage(md5PasswordResponse(o.user, text, a.salt)));
                  return;
                }
                case 'AuthenticationSASL': {
                  if (method !== null) return bad('a second authentication request');
                  if (!a.mechanisms.includes(SCRAM_SHA_256)) {
                    return stopWith(new UpstreamError('auth-method-refused', `the server at ${target} offers no supported SASL mechanism (${a.mechanisms.join(', ').slice(0, 200)})`));
                  }
                  const pw = needPassword('scram-sha-256');
                  if (pw === null) return;
                  scram = createScramClient(pw);
                  sock.write(encodeSASLInitialResponse(SCRAM_SHA_256, scram.clientFirst));
                  return;
                }
                case 'AuthenticationSASLContinue': {
                  if (scram === null) return bad('SASLContinue without SASL');
                  const r = await scram.respond(a.data);
                  if (finished) return;
                  if (!Buffer.isBuffer(r)) return stopWith(new UpstreamError('server-not-verified', `SCRAM with ${target} failed: ${r.message}`));
                  sock.write(encodeSASLResponse(r));
                  return;
                }
                case 'AuthenticationSASLFinal': {
                  if (scram === null) return bad('SASLFinal without SASL');
                  const e = scram.verify(a.data);
                  if (e !== null) return stopWith(new UpstreamError('server-not-verified', `SCRAM with ${target} failed: ${e.message}`));
                  return;
                }
                default:
                  return stopWith(new UpstreamError('auth-method-refused', `the server at ${target} asks for unsupported authentication (${a.kind})`));
              }
            }
            case B.ErrorResponse: {
              const e = decodeErrorResponse(body);
              if (e.kind === 'ProtocolError') return bad(e.message);
              const sqlstate = e.fields.code;
              const code: UpstreamErrorCode = sqlstate.startsWith('28') ? 'auth-failed' : 'server-error';
              return stopWith(new UpstreamError(code, `the server at ${target} refused the connection: ${describeFields(e.fields)}`, sqlstate, e.fields));
            }
            case B.NoticeResponse: {
              const n = decodeNoticeResponse(body);
              if (n.kind === 'ProtocolError') return bad(n.message);
              notices.push(n.fields);
              return;
            }
            case B.NegotiateProtocolVersion: {
              const n = decodeNegotiateProtocolVersion(body);
              if (n.kind === 'ProtocolError') return bad(n.message);
              return; // we ask for 3.0 without options: nothing to downgrade
            }
            case B.ParameterStatus: {
              if (!authenticated) return bad('ParameterStatus before AuthenticationOk');
              const p = decodeParameterStatus(body);
              if (p.kind === 'ProtocolError') return bad(p.message);
              parameters.set(p.name, p.value);
              return;
            }
            case B.BackendKeyData: {
              if (!authenticated) return bad('BackendKeyData before AuthenticationOk');
              const k = decodeBackendKeyData(body);
              if (k.kind === 'ProtocolError') return bad(k.message);
              backendKey = { pid: k.pid, secret: k.secret };
              return;
            }
            case B.ReadyForQuery: {
              if (!authenticated) return bad('ReadyForQuery before AuthenticationOk');
              const z = decodeReadyForQuery(body);
              if (z.kind === 'ProtocolError') return bad(z.message);
              finished = true;
              sock.pause();
              sock.off('data', onData);
              const rest = reader.takeBuffered();
              if (rest.length > 0) sock.unshift(rest);
              done({
                socket: sock,
                parameters,
                backendKey,
                transactionStatus: z.status,
                authMethod: method ?? 'trust',
                tls: usingTls,
                reads,
                notices,
                bufferedBytes: rest.length,
              });
              return;
            }
            default:
              return bad(`unexpected message type ${typeName(type)} during startup`);
          }
        };

        sock.on('data', onData);
        sock.resume();
        sock.write(packet);
      }).then((conn) => {
        // Hand over: remove our close listeners, keep a no-op error guard so a later socket
        // error cannot crash the process before the caller attaches its own handlers.
        raw.off('close', onClose);
        raw.off('error', onRawError);
        raw.on('error', noop);
        if (conn.socket !== raw) {
          conn.socket.off('close', onClose);
          if (onTlsError !== null) conn.socket.off('error', onTlsError);
          conn.socket.on('error', noop);
        }
        return conn;
      });
    }
  });
}

function noop(): void {}

export interface CancelOptions {
  /** Unix socket directory or file instead of host:port */
  socketPath?: string;
  /** default 5 s */
  timeoutMs?: number;
}

/**
 * Sends a CancelRequest for backend `pid` with its secret key, on a new connection, and waits
 * for the server to close it (the server never answers). Resolves when the request was
 * delivered; whether anything was cancelled shows on the cancelled session (SQLSTATE 57014).
 */
export function sendCancel(host: string, port: number, pid: number, secret: Buffer | number, options: CancelOptions = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const target = options.socketPath !== undefined ? `unix socket ${options.socketPath}` : `${host}:${port}`;
    let sock: Socket;
    try {
      sock = options.socketPath !== undefined ? netConnect({ path: socketFile(options.socketPath, port) }) : netConnect({ host, port });
    } catch (err) {
      reject(new UpstreamError('connect-failed', `could not send a cancel request to ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      return;
    }
    let sent = false;
    let settled = false;
    const finish = (err: UpstreamError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err === null) resolve();
      else reject(err);
    };
    const timer = setTimeout(
      () => (sent ? finish(null) : finish(new UpstreamError('timeout', `sending a cancel request to ${target} timed out`))),
      options.timeoutMs ?? 5_000,
    );
    sock.on('error', (err) => {
      if (sent) finish(null); // delivered; a reset while closing changes nothing
      else finish(new UpstreamError('connect-failed', `could not send a cancel request to ${target}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    sock.on('connect', () => {
      sock.write(encodeCancelRequest(pid, secret), () => {
        sent = true;
      });
      sock.end();
    });
    sock.on('data', () => {}); // the server sends nothing; drain anyway
    sock.on('close', () => (sent ? finish(null) : finish(new UpstreamError('closed', `the connection to ${target} closed before the cancel request was sent`))));
  });
}
