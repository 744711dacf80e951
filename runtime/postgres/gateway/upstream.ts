// How the gateway reaches a postgres target: a real server with the policy's credentials, or
// the embedded PGlite. Credentials are read per connection and never leave this module except
// in the login itself.

import type { Connection } from '../../../spec/compiled-policy.ts';
import { readSecret } from '../../gateway/secrets.ts';
import { connectUpstream, sendCancel, type AuthMethod, type UpstreamConnection } from '../upstream-connect.ts';
import type { EmbeddedServer } from './embedded.ts';

export interface Upstream {
  /** the database names a client may ask for */
  readonly databases: readonly string[];
  connect(parameters: Record<string, string>): Promise<UpstreamConnection>;
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

export function embeddedUpstream(targetName: string, server: EmbeddedServer): Upstream {
  return {
    databases: ['postgres', targetName],
    connect(parameters) {
      return connectUpstream({ socketPath: server.socketPath, user: 'postgres', database: 'postgres', parameters, ssl: 'disable', connectTimeoutMs: 10_000 });
    },
    cancel(pid, secret) {
      return sendCancel('', 5432, pid, secret, { socketPath: server.socketPath });
    },
  };
}

function resolveIn(root: string, path: string): string {
  return path.startsWith('/') ? path : `${root}/${path}`;
}
