// The target's catalog snapshot for masking (spec/masking.md §8): taken over the gateway's own
// connection when the target starts, and again (debounced, one at a time) when a session
// reports DDL. Until a snapshot exists, masked identities get every column masked.

import type { Logger } from '../../gateway/log.ts';
import { CATALOG_SQL, snapshotFromRows, type CatalogSnapshot } from '../masking/catalog.ts';
import { closeQuietly, queryRows } from '../query-client.ts';
import type { Upstream } from './upstream.ts';

const DEBOUNCE_MS = 50;

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

export class CatalogCache {
  private snapshot: CatalogSnapshot | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly upstream: Upstream,
    private readonly searchPath: () => readonly string[],
    private readonly log: Logger,
    private readonly target: string,
  ) {}

  current(): CatalogSnapshot | null {
    return this.snapshot;
  }

  /** Takes a new snapshot; concurrent calls share one run and ask for one more after it. */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.load().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.running;
  }

  /** DDL was seen: refresh soon. */
  invalidate(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, DEBOUNCE_MS);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async load(): Promise<void> {
    const path = this.searchPath();
    try {
      const conn = await this.upstream.connect({
        client_encoding: 'UTF8',
        standard_conforming_strings: 'on',
        search_path: path.map(quoteIdent).join(', '),
        application_name: 'pamc catalog',
      });
      try {
        const rows = await queryRows(conn.socket, CATALOG_SQL);
        this.snapshot = snapshotFromRows(rows, path);
        this.log.debug('catalog-snapshot', { target: this.target, relations: this.snapshot.byOid.size });
      } finally {
        closeQuietly(conn.socket);
      }
    } catch (e) {
      this.log.warn('catalog-snapshot-failed', { target: this.target, error: (e as Error).message, note: 'masked identities get every column masked until a snapshot succeeds' });
    }
  }
}
