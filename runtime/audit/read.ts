// Reading records for people and SIEMs (`pamc audit show`, `pamc audit export`): every complete
// line of every segment, in order, parsed. Lines that are not records are counted and skipped;
// `pamc audit verify` is what judges the log.

import type { AuditRecord } from './records.ts';
import { listSegments, readLines } from './segment-files.ts';

export interface ReadRecord {
  record: AuditRecord;
  /** the line as written */
  line: string;
  segment: string;
  lineNumber: number;
}

export interface ReadStats {
  skipped: number;
}

export async function* readRecords(dir: string, stats: ReadStats = { skipped: 0 }): AsyncGenerator<ReadRecord> {
  for (const seg of await listSegments(dir)) {
    for await (const l of readLines(seg.path)) {
      if (!l.complete) {
        stats.skipped++;
        continue;
      }
      const line = l.bytes.toString('utf8');
      try {
        const record = JSON.parse(line) as AuditRecord;
        if (record === null || typeof record !== 'object' || typeof record.kind !== 'string') throw new Error('not a record');
        yield { record, line, segment: seg.name, lineNumber: l.number };
      } catch {
        stats.skipped++;
      }
    }
  }
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: an ISO time, a date, or a duration back from now (`90m`, `24h`, `7d`). */
export function parseSince(text: string, now = Date.now()): number | null {
  const rel = /^(\d+)([smhdw])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]];
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}
