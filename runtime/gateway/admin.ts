// The admin HTTP listener: /healthz (the process is alive), /readyz (listeners up, policy
// loaded), /metrics (Prometheus text format). Later: the approvals API.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface AdminSource {
  readonly metrics: { registry: { render(): string } };
  readonly policyView: { version: number; loaded: { compiled: { policy: string; digest: string } } };
  listening(): unknown[];
  sessionCount(): number;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export async function startAdmin(address: string, g: AdminSource): Promise<AdminServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
