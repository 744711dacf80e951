// The target's catalog snapshot for masking (spec/masking.md §8): taken over the gateway's own
// connection when the target starts, and again (debounced, one at a time) when a session
// reports DDL. Until a snapshot exists — and from a report of DDL until a snapshot taken after
// it is in — there is none: masked identities get every column of a relation masked.

import type { Logger } from '../../gateway/log.ts';
import { CATALOG_SQL, snapshotFromRows, type CatalogSnapshot } from '../masking/catalog.ts';
import { closeQuietly, queryRows } from '../query-client.ts';
import type { Upstream } from './upstream.ts';

const DEBOUNCE_MS = 50;

/** A clock that orders DDL reports and snapshot loads. */
let clock = 0;
const tick = () => ++clock;

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

export class CatalogCache {
  private snapshot: CatalogSnapshot | null = null;
  /** when the snapshot's load began */
  private snapshotTick = 0;
  /** when DDL was last reported */
  private dirtyTick = 0;
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

  /** The snapshot, or null while there is none or DDL was reported after its load began. */
  current(): CatalogSnapshot | null {
    return this.snapshotTick > this.dirtyTick ? this.snapshot : null;
  }

  /**
   * The latest snapshot even when DDL was reported since: for the partitions and inheritance
   * relatives of relations (decide.ts). A link made through the gateway since was decided as a
   * move of rows (spec/language.md §5.7a), so the snapshot before it is good enough there. Null
   * until the first load.
   */
  lastKnown(): CatalogSnapshot | null {
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

  /** DDL was seen: the snapshot is out of date at once; refresh soon. */
  invalidate(): void {
    this.dirtyTick = tick();
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
    const started = tick();
    try {
      const conn = await this.upstream.connect({
        client_encoding: 'UTF8',
        standard_conforming_strings: 'on',
        search_path: path.map(quoteIdent).join(', '),
        application_name: 'pamc catalog',
      }, 'internal');
      try {
        const rows = await queryRows(conn.socket, CATALOG_SQL);
        this.snapshot = snapshotFromRows(rows, path);
        this.snapshotTick = started;
        // DDL reported while this load ran may be missing from it: load again.
        if (this.dirtyTick > started) this.again = true;
        this.log.debug('catalog-snapshot', { target: this.target, relations: this.snapshot.byOid.size });
      } finally {
        closeQuietly(conn.socket);
      }
    } catch (e) {
      this.log.warn('catalog-snapshot-failed', { target: this.target, error: (e as Error).message, note: 'masked identities get every column masked until a snapshot succeeds' });
    }
  }
}
