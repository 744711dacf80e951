// The hash chain and the names of segment files (spec/audit.md §2–3).
//
//   hash(line)   = lowercase hex SHA-256 of the line's UTF-8 bytes, without its "\n"
//   prev(seq 0)  = genesis(log) = hex SHA-256 of "pamc-audit-genesis:" + log id
//   prev(seq n)  = hash(line of seq n−1), across segment boundaries

import * as crypto from 'node:crypto';

export const GENESIS_PREFIX = 'pamc-audit-genesis:';

/** crypto.hash (Node ≥ 20.12): one call, about twice as fast as createHash for short input. */
const oneShot = (crypto as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash;

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot !== undefined ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

export function genesisHash(log: string): string {
  return sha256Hex(GENESIS_PREFIX + log);
}

/** The hash the next record's `prev` must hold. */
export function lineHash(line: string | Uint8Array): string {
  return sha256Hex(line);
}

const SEGMENT_RE = /^audit-(\d{8,})\.jsonl$/;

export function segmentName(n: number): string {
  return `audit-${String(n).padStart(8, '0')}.jsonl`;
}

/** The number of a segment file, or null when the name is not one. */
export function segmentNumber(name: string): number | null {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : null;
}

/** A segment being created: written and synced under this name, then renamed. */
export function pendingSegmentName(n: number): string {
  return `.${segmentName(n)}.tmp`;
}

export function isPendingSegment(name: string): boolean {
  return /^\.audit-\d{8,}\.jsonl\.tmp$/.test(name);
}

export const HEX64 = /^[0-9a-f]{64}$/;

/** The line as the recorder writes it: JSON.stringify output of the parsed value. */
export function isCanonical(line: string, parsed: unknown): boolean {
  return JSON.stringify(parsed) === line;
}

let lastMs = NaN;
let lastIso = '';
/** the second of the last formatted time, and its text up to the '.' */
let lastSecond = NaN;
let lastPrefix = '';

/**
 * RFC 3339 UTC with milliseconds, as Date#toISOString writes it. Records come many to a
 * millisecond and thousands to a second: the last millisecond's text is kept, and the text of
 * the last second, so a new millisecond only appends its three digits.
 */
export function isoTime(ms: number): string {
  if (ms === lastMs) return lastIso;
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond || !Number.isInteger(ms)) {
    const iso = new Date(ms).toISOString();
    lastMs = ms;
    lastIso = iso;
    // a year outside 0000–9999 is written with a sign and six digits: the cut is then elsewhere
    if (Number.isInteger(ms) && iso.length === 24) {
      lastSecond = second;
      lastPrefix = iso.slice(0, 20);
    } else lastSecond = NaN;
    return iso;
  }
  const m = ms - second * 1000;
  lastMs = ms;
  lastIso = lastPrefix + (m < 10 ? '00' : m < 100 ? '0' : '') + m + 'Z';
  return lastIso;
}
