// The embedded default: PostgreSQL compiled to WASM (PGlite) running in the gateway's own
// process, served on a private Unix socket that only the gateway connects to, seeded from a
// SQL file. PGlite is a single session underneath: connections are multiplexed onto it at the
// query level, so their transactions and prepared statements are not isolated from each other,
// and the gateway lets one client session use it at a time (embeddedUpstream in upstream.ts).
// It is for trying pamc, not for production.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface EmbeddedServer {
  socketPath: string;
  stop(): Promise<void>;
}

export async function startEmbedded(seedFile: string | null, root: string): Promise<EmbeddedServer> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  if (seedFile !== null) {
    const path = resolve(root, seedFile);
    let sql: string;
    try {
      sql = await readFile(path, 'utf8');
    } catch (e) {
      await db.close();
      throw new Error(`cannot read the seed file ${seedFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      await db.exec(sql);
    } catch (e) {
      await db.close();
      throw new Error(`the seed file ${seedFile} failed: ${(e as Error).message}`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'pamc-embedded-'));
  const socketPath = join(dir, '.s.PGSQL.5432');
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1000 });
  await server.start();
  return {
    socketPath,
    async stop() {
      await server.stop();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
