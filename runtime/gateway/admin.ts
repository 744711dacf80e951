// The admin HTTP listener: /healthz (the process is alive), /readyz (listeners up, policy
// loaded), /metrics (Prometheus text format), and the approvals API under /approvals
// (runtime/approvals/api.ts) unless the policy gives that its own listener.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

export interface AdminSource {
  readonly metrics: { registry: { render(): string } };
  readonly policyView: { version: number; loaded: { compiled: { policy: string; digest: string } } };
  listening(): unknown[];
  sessionCount(): number;
}

/** Extra routes: returns false when a path is not theirs. */
export type ExtraHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export async function startAdmin(address: string, g: AdminSource, extra?: ExtraHandler): Promise<AdminServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (extra && path.startsWith('/approvals')) {
      void extra(req, res).then((handled) => {
        if (!handled) send(res, 404, 'text/plain', 'not found\n');
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return send(res, 200, 'text/plain', 'ok\n');
      case '/readyz': {
        const v = g.policyView;
        return send(
          res,
          200,
          'application/json',
          JSON.stringify({ ready: true, policy: v.loaded.compiled.policy, digest: v.loaded.compiled.digest, version: v.version, targets: g.listening(), sessions: g.sessionCount() }) + '\n',
        );
      }
      case '/metrics':
        return send(res, 200, 'text/plain; version=0.0.4', g.metrics.registry.render());
      default:
        return send(res, 404, 'text/plain', 'not found\n');
    }
  });
  return listen(server, address);
}

async function listen(server: Server, address: string): Promise<AdminServer> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(address.slice(i + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** A listener of its own for the approvals API (the policy's `approvals { api listen … }`), HTTPS when it has a certificate. */
export async function startApiListener(address: string, handler: ExtraHandler, tls: { cert: Buffer; key: string } | null): Promise<AdminServer> {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void handler(req, res).then((handled) => {
      if (!handled) send(res, 404, 'text/plain', 'not found\n');
    });
  };
  const server = tls ? createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, onRequest) : createServer(onRequest);
  return listen(server as Server, address);
}
