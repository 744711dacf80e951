// How the gateway reaches a postgres target: a real server with the policy's credentials, or
// the embedded PGlite. Credentials are read per connection and never leave this module except
// in the login itself.

import type { Connection } from '../../../spec/compiled-policy.ts';
import { readSecret } from '../../gateway/secrets.ts';
import { connectUpstream, sendCancel, UpstreamError, type AuthMethod, type UpstreamConnection } from '../upstream-connect.ts';
import type { EmbeddedServer } from './embedded.ts';

export interface Upstream {
  /** the database names a client may ask for */
  readonly databases: readonly string[];
  /**
   * A connection for a client's session, or for the gateway's own short work (`internal`: the
   * catalog snapshot), which an embedded server runs beside the session it serves.
   */
  connect(parameters: Record<string, string>, purpose?: 'session' | 'internal'): Promise<UpstreamConnection>;
  cancel(pid: number, secret: Buffer): Promise<void>;
}

/** With TLS to the server, a cleartext or md5 password request is a downgrade worth refusing. */
function allowedMethods(mode: string): readonly AuthMethod[] {
  return mode === 'verify-full' || mode === 'verify-ca' ? ['scram-sha-256', 'password'] : ['scram-sha-256', 'md5', 'password', 'trust'];
}

export function realUpstream(targetName: string, c: Extract<Connection, { embedded: false }>, root: string): Upstream {
  return {
    databases: [c.database, targetName],
    async connect(parameters) {
      const password = c.password ? await readSecret(c.password, root) : undefined;
      return connectUpstream({
        host: c.host,
        port: c.port,
        user: c.user,
        ...(password !== undefined ? { password } : {}),
        database: c.database,
        parameters,
        ssl: c.tls.ca ? { mode: c.tls.mode, caFile: resolveIn(root, c.tls.ca) } : c.tls.mode,
        allowedAuthMethods: allowedMethods(c.tls.mode),
        connectTimeoutMs: 10_000,
      });
    },
    cancel(pid, secret) {
      return sendCancel(c.host, c.port, pid, secret);
    },
  };
}

/** How long a session waits for the embedded server to finish serving the one before it. */
export const EMBEDDED_WAIT_MS = 5_000;

/**
 * PGlite is one PostgreSQL session underneath: every connection to it shares its prepared
 * statements, portals, settings and transaction. Two client sessions at once would each be
 * decided by a gateway session that sees only its own half (one could DEALLOCATE and PREPARE
 * again a name the other then executes, or set the search path the other's names resolve in),
 * so the embedded server serves one client session at a time: the next waits for it to end, up
 * to EMBEDDED_WAIT_MS, and is then refused.
 */
export function embeddedUpstream(targetName: string, server: EmbeddedServer): Upstream {
  let serving: Promise<void> | null = null;
  const open = (parameters: Record<string, string>) =>
    connectUpstream({ socketPath: server.socketPath, user: 'postgres', database: 'postgres', parameters, ssl: 'disable', connectTimeoutMs: 10_000 });
  return {
    databases: ['postgres', targetName],
    async connect(parameters, purpose = 'session') {
      if (purpose === 'internal') return open(parameters);
      const deadline = Date.now() + EMBEDDED_WAIT_MS;
      while (serving !== null) {
        const left = deadline - Date.now();
        let timer: NodeJS.Timeout | undefined;
        const ended = await Promise.race([serving.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, left))))]);
        clearTimeout(timer);
        if (!ended && serving !== null) throw new UpstreamError('busy', `the embedded server of target "${targetName}" serves another session`);
      }
      let release!: () => void;
      serving = new Promise<void>((r) => (release = r));
      const done = () => {
        serving = null;
        release();
      };
      try {
        const conn = await open(parameters);
        conn.socket.once('close', done);
        return conn;
      } catch (e) {
        done();
        throw e;
      }
    },
    cancel(pid, secret) {
      return sendCancel('', 5432, pid, secret, { socketPath: server.socketPath });
    },
  };
}

function resolveIn(root: string, path: string): string {
  return path.startsWith('/') ? path : `${root}/${path}`;
}
