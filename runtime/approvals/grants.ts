// Retry-mode grants (spec/approvals.md §3): once a retry-mode request is approved, the same
// identity may run the same statement (by fingerprint) on the same target within the window,
// as many times as the rule allows. Grants are kept in a JSON file (written whole, atomically)
// so they survive a gateway restart; without a directory they live in memory.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Grant {
  request: string;
  subject: string;
  target: string;
  fingerprint: string;
  usesLeft: number;
  /** epoch ms */
  expiresAt: number;
}

const FILE = 'grants.json';

export class GrantBook {
  private grants: Grant[] = [];

  constructor(
    private readonly dir: string | null,
    private readonly now: () => number = Date.now,
  ) {
    if (dir) {
      try {
        const data = JSON.parse(readFileSync(join(dir, FILE), 'utf8')) as { grants?: Grant[] };
        this.grants = (data.grants ?? []).filter((g) => typeof g.fingerprint === 'string' && g.usesLeft > 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the approval grants in ${dir}: ${(e as Error).message}`);
      }
    }
  }

  private prune(): void {
    const t = this.now();
    this.grants = this.grants.filter((g) => g.usesLeft > 0 && g.expiresAt > t);
  }

  private persist(): void {
    if (!this.dir) return;
    mkdirSync(this.dir, { recursive: true });
    const tmp = join(this.dir, `${FILE}.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify({ grants: this.grants }, null, 2));
    renameSync(tmp, join(this.dir, FILE));
  }

  add(g: Grant): void {
    this.prune();
    this.grants.push(g);
    this.persist();
  }

  /** Uses one run of a grant for this identity, target and statement; null when there is none. */
  consume(subject: string, target: string, fingerprint: string): Grant | null {
    this.prune();
    const g = this.grants.find((x) => x.subject === subject && x.target === target && x.fingerprint === fingerprint);
    if (!g) return null;
    g.usesLeft--;
    this.prune();
    this.persist();
    return g;
  }

  list(): readonly Grant[] {
    this.prune();
    return this.grants;
  }
}
