// Verifying a log directory (spec/audit.md §6): every line is parsed and checked to be in the
// recorder's canonical form, every record chains from the one before it, segments are numbered
// without gaps and each begins with an open record that states how the previous one ended, and
// every checkpoint repeats exactly what it signs and verifies against the trusted keys. The first
// problem stops the walk and names the first bad record; the state of the end of the log (closed,
// open, torn last line) is reported separately.

import { genesisHash, HEX64, isCanonical, lineHash } from './chain.ts';
import { readCheckpoint, verifyCheckpointSignature } from './checkpoint.ts';
import type { VerificationKey } from './keys.ts';
import { RECORD_KINDS } from './records.ts';
import { listSegments, readLines, type Line, type SegmentFile } from './segment-files.ts';

export type ProblemCode =
  | 'empty'
  | 'missing-segment'
  | 'malformed'
  | 'not-canonical'
  | 'missing-open'
  | 'misplaced-open'
  | 'wrong-segment'
  | 'wrong-log'
  | 'altered'
  | 'missing'
  | 'inserted'
  | 'duplicate'
  | 'reordered'
  | 'segment-end'
  | 'torn-segment'
  | 'bad-checkpoint'
  | 'bad-signature'
  | 'incomplete-tail'
  | 'not-closed';

export interface Problem {
  code: ProblemCode;
  /** the segment file of the first bad record, or null when the problem is the directory's */
  segment: string | null;
  /** 1-based line in that file */
  line: number | null;
  seq: number | null;
  message: string;
}

export interface SegmentSummary {
  name: string;
  number: number;
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** bytes after the last complete line */
  tailBytes: number;
  /** how it ended: a rotate or close checkpoint, or nothing (a crash, or the live segment) */
  closedBy: 'rotate' | 'close' | null;
}

export interface VerifyOptions {
  /** trusted public keys; without them the chain is checked but no signature is */
  keys?: readonly VerificationKey[] | null;
  /** the gateway may be writing: an open log and a partial last line are not problems */
  live?: boolean;
  /** segments before the first one present were removed by retention: check from there */
  allowPruned?: boolean;
}

export interface VerifyReport {
  ok: boolean;
  dir: string;
  log: string | null;
  segments: SegmentSummary[];
  records: number;
  lastSeq: number | null;
  checkpoints: { total: number; verified: number; keys: string[] };
  lastCheckpoint: { seq: number; ts: string; segment: string; line: number } | null;
  /** records after the last checkpoint: not covered by any signature */
  uncovered: number;
  closed: boolean;
  /** a partial last line of the last segment */
  tail: { segment: string; line: number; bytes: number } | null;
  signatures: 'verified' | 'unchecked';
  /** the first problem first; verification stops at the first integrity problem */
  problems: Problem[];
  notices: string[];
}

interface Parsed {
  seq: number;
  prev: string;
  ts: string;
  kind: string;
  obj: Record<string, unknown>;
}

interface Seen {
  hash: string;
  segment: string;
  line: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A line as a record, or why it is not one. */
function parseLine(bytes: Buffer): Parsed | { error: 'malformed' | 'not-canonical'; message: string; seq: number | null } {
  let text: string;
  let obj: unknown;
  try {
    text = decoder.decode(bytes);
    obj = JSON.parse(text);
  } catch {
    return { error: 'malformed', message: 'the line is not a JSON record', seq: null };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { error: 'malformed', message: 'the line is not a JSON object', seq: null };
  const o = obj as Record<string, unknown>;
  const seq = Number.isSafeInteger(o.seq) && (o.seq as number) >= 0 ? (o.seq as number) : null;
  if (seq === null || typeof o.prev !== 'string' || !HEX64.test(o.prev) || typeof o.ts !== 'string' || typeof o.kind !== 'string') {
    return { error: 'malformed', message: 'the record lacks seq, prev, ts or kind', seq };
  }
  if (!RECORD_KINDS.includes(o.kind as never)) return { error: 'malformed', message: `unknown record kind \`${o.kind}\``, seq };
  if (Object.keys(o).slice(0, 4).join(',') !== 'seq,prev,ts,kind' || !isCanonical(text, o)) {
    return { error: 'not-canonical', message: 'the record is not in the form the recorder writes (spacing, key order or escapes changed)', seq };
  }
  return { seq, prev: o.prev, ts: o.ts, kind: o.kind, obj: o };
}

/** Lines of a segment with a one-line lookahead. */
class LineReader {
  private readonly it: AsyncGenerator<Line>;
  private buffered: Line | null | undefined;

  constructor(path: string) {
    this.it = readLines(path);
  }

  async next(): Promise<Line | null> {
    if (this.buffered !== undefined) {
      const b = this.buffered;
      this.buffered = undefined;
      return b;
    }
    const r = await this.it.next();
    return r.done ? null : r.value;
  }

  async peek(): Promise<Line | null> {
    if (this.buffered === undefined) {
      const r = await this.it.next();
      this.buffered = r.done ? null : r.value;
    }
    return this.buffered;
  }

  async close(): Promise<void> {
    await this.it.return(undefined);
  }
}

export async function verifyLog(dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const keys = opts.keys ?? null;
  const report: VerifyReport = {
    ok: false,
    dir,
    log: null,
    segments: [],
    records: 0,
    lastSeq: null,
    checkpoints: { total: 0, verified: 0, keys: [] },
    lastCheckpoint: null,
    uncovered: 0,
    closed: false,
    tail: null,
    signatures: keys ? 'verified' : 'unchecked',
    problems: [],
    notices: [],
  };
  const finish = (): VerifyReport => {
    report.segments = report.segments.map((x) => ({
      name: x.name,
      number: x.number,
      records: x.records,
      firstSeq: x.firstSeq,
      lastSeq: x.lastSeq,
      tailBytes: x.tailBytes,
      closedBy: x.closedBy,
    }));
    report.ok = report.problems.length === 0;
    return report;
  };
  const problem = (code: ProblemCode, segment: string | null, line: number | null, seq: number | null, message: string): VerifyReport => {
    report.problems.push({ code, segment, line, seq, message });
    return finish();
  };

  let segments: SegmentFile[];
  try {
    segments = await listSegments(dir);
  } catch (e) {
    return problem('empty', null, null, null, `cannot read ${dir}: ${(e as Error).message}`);
  }
  if (segments.length === 0) return problem('empty', null, null, null, `no segment files (audit-NNNNNNNN.jsonl) in ${dir}`);
  if (segments[0].number !== 1 && !opts.allowPruned) {
    return problem(
      'missing-segment',
      segments[0].name,
      null,
      null,
      `segment${segments[0].number > 2 ? 's' : ''} 1${segments[0].number > 2 ? `–${segments[0].number - 1}` : ''} missing before ${segments[0].name} (if retention removed them, verify with --allow-pruned)`,
    );
  }
  if (segments[0].number !== 1) {
    report.notices.push(`segments before ${segments[0].name} were removed: the chain is checked from its open record on, which nothing before it vouches for`);
  }

  let expSeq = -1;
  let expPrev = '';
  const recent = new Map<number, Seen>();
  const remember = (seq: number, seen: Seen) => {
    recent.set(seq, seen);
    if (recent.size > 512) recent.delete(recent.keys().next().value as number);
  };
  let previous: (SegmentSummary & { lastLine: number; tornLine: number | null }) | null = null;
  let lastRecord: Parsed | null = null;
  let lastLoc: { segment: string; line: number } | null = null;
  let sinceCheckpoint = 0;
  const keyIds = new Set<string>();

  for (let si = 0; si < segments.length; si++) {
    const seg = segments[si];
    const isLast = si === segments.length - 1;
    if (previous !== null && seg.number !== previous.number + 1) {
      const from = previous.number + 1;
      const to = seg.number - 1;
      return problem('missing-segment', seg.name, null, expSeq, `segment${from === to ? ` ${from} is` : `s ${from}–${to} are`} missing between ${previous.name} and ${seg.name}`);
    }
    const summary: SegmentSummary & { lastLine: number; tornLine: number | null } = {
      name: seg.name,
      number: seg.number,
      records: 0,
      firstSeq: null,
      lastSeq: null,
      tailBytes: 0,
      closedBy: null,
      lastLine: 0,
      tornLine: null,
    };
    report.segments.push(summary);
    const reader = new LineReader(seg.path);
    try {
      for (;;) {
        const line = await reader.next();
        if (line === null) break;
        if (!line.complete) {
          summary.tailBytes = line.bytes.length;
          summary.tornLine = line.number;
          if (isLast) report.tail = { segment: seg.name, line: line.number, bytes: line.bytes.length };
          break;
        }
        const parsed = parseLine(line.bytes);
        if ('error' in parsed) return problem(parsed.error, seg.name, line.number, parsed.seq, parsed.message);
        const hash = lineHash(line.bytes);
        const first = line.number === 1;

        if (first) {
          if (parsed.kind !== 'open') return problem('missing-open', seg.name, 1, parsed.seq, `${seg.name} does not begin with an open record`);
          const o = parsed.obj;
          if (o.segment !== seg.number) {
            return problem('wrong-segment', seg.name, 1, parsed.seq, `the open record of ${seg.name} says it is segment ${String(o.segment)}: segment files were renamed`);
          }
          if (typeof o.log !== 'string' || o.log === '') return problem('malformed', seg.name, 1, parsed.seq, 'the open record names no log');
          if (report.log === null) {
            report.log = o.log;
            if (seg.number === 1) {
              expSeq = 0;
              expPrev = genesisHash(o.log);
              if (o.reason !== 'create' || o.previous !== null) {
                return problem('segment-end', seg.name, 1, parsed.seq, 'the first segment does not begin the log (its open record is not a `create`)');
              }
            } else {
              expSeq = parsed.seq;
              expPrev = parsed.prev;
            }
          } else if (o.log !== report.log) {
            return problem('wrong-log', seg.name, 1, parsed.seq, `${seg.name} belongs to another log (${o.log}, not ${report.log})`);
          }
        } else if (parsed.kind === 'open') {
          return problem('misplaced-open', seg.name, line.number, parsed.seq, `an open record in the middle of ${seg.name}`);
        }

        if (parsed.seq !== expSeq || parsed.prev !== expPrev) {
          const d = await diagnose(parsed, hash, line, seg.name, reader, expSeq, expPrev, recent, lastLoc, previous);
          return problem(d.code, d.segment, d.line, d.seq, d.message);
        }

        if (first && previous !== null) {
          const end = checkPrevious(parsed.obj.previous, previous);
          if (end !== null) return problem('segment-end', seg.name, 1, parsed.seq, end);
          if (previous.closedBy === null) {
            report.notices.push(
              previous.tailBytes > 0
                ? `${previous.name} ended without a checkpoint and with ${previous.tailBytes} bytes of a torn record after seq ${previous.lastSeq} (a crash); ${seg.name} records it and chains from seq ${previous.lastSeq}`
                : `${previous.name} ended without a checkpoint after seq ${previous.lastSeq} (the gateway stopped without closing the log); ${seg.name} records it and chains from there`,
            );
          } else if (previous.closedBy === 'rotate' && parsed.obj.reason === 'start') {
            report.notices.push(
              `${previous.name} ended with its rotation checkpoint at seq ${previous.lastSeq} and the gateway stopped before opening the next segment (a crash); ${seg.name} records the restart and chains from there`,
            );
          }
        }

        if (parsed.kind === 'checkpoint') {
          const bad = await checkCheckpoint(parsed, report.log ?? '', seg.number, keys, keyIds);
          if (bad !== null) return problem(bad.code, seg.name, line.number, parsed.seq, bad.message);
          report.checkpoints.total++;
          if (keys) report.checkpoints.verified++;
          report.lastCheckpoint = { seq: parsed.seq, ts: parsed.ts, segment: seg.name, line: line.number };
          sinceCheckpoint = 0;
        } else sinceCheckpoint++;

        remember(parsed.seq, { hash, segment: seg.name, line: line.number });
        summary.records++;
        summary.firstSeq ??= parsed.seq;
        summary.lastSeq = parsed.seq;
        summary.lastLine = line.number;
        report.records++;
        report.lastSeq = parsed.seq;
        lastRecord = parsed;
        lastLoc = { segment: seg.name, line: line.number };
        expSeq = parsed.seq + 1;
        expPrev = hash;
      }
    } finally {
      await reader.close();
    }
    if (lastRecord !== null && lastLoc?.segment === seg.name && lastRecord.kind === 'checkpoint') {
      const reason = lastRecord.obj.reason;
      if (reason === 'rotate' || reason === 'close') summary.closedBy = reason;
    }
    if (!isLast && summary.tornLine !== null && summary.closedBy !== null) {
      return problem('torn-segment', seg.name, summary.tornLine, expSeq, `${seg.name} holds ${summary.tailBytes} bytes after its closing checkpoint`);
    }
    previous = summary;
  }

  report.checkpoints.keys = [...keyIds];
  report.uncovered = sinceCheckpoint;
  report.closed = lastRecord !== null && lastRecord.kind === 'checkpoint' && lastRecord.obj.reason === 'close';
  if (!keys) {
    report.notices.push('checkpoint signatures were not checked (no --key): whoever can write the directory could have rewritten the whole log');
  }
  if (report.tail !== null && !opts.live) {
    report.problems.push(problemOf(
      'incomplete-tail',
      report.tail.segment,
      report.tail.line,
      expSeq,
      `the last record is incomplete: ${report.tail.bytes} bytes without a newline at line ${report.tail.line} of ${report.tail.segment} (the writer stopped mid-write, or the file was cut); the records before it verify`,
    ));
  }
  if (!report.closed && !opts.live && lastLoc !== null) {
    const covered = report.lastCheckpoint ? `the last checkpoint is seq ${report.lastCheckpoint.seq}` : 'no checkpoint was written';
    report.problems.push(problemOf(
      'not-closed',
      lastLoc.segment,
      lastLoc.line,
      report.lastSeq !== null ? report.lastSeq + 1 : null,
      `the log is not closed: no final checkpoint after seq ${report.lastSeq} (line ${lastLoc.line} of ${lastLoc.segment}); ${covered}, ${report.uncovered} record${report.uncovered === 1 ? '' : 's'} after it are covered by no signature. The gateway is running (verify with --live), stopped without closing the log (a crash), or the end of the log was removed`,
    ));
  }
  return finish();
}

function problemOf(code: ProblemCode, segment: string | null, line: number | null, seq: number | null, message: string): Problem {
  return { code, segment, line, seq, message };
}

/** Whether the open record's `previous` states how the previous segment really ended. */
function checkPrevious(value: unknown, prev: SegmentSummary): string | null {
  const p = value as { segment?: unknown; lastSeq?: unknown; closed?: unknown; tailBytes?: unknown } | null;
  if (p === null || typeof p !== 'object') return `the open record does not say how ${prev.name} ended`;
  const closed = prev.closedBy !== null;
  if (p.segment !== prev.number || p.lastSeq !== prev.lastSeq || p.closed !== closed || p.tailBytes !== prev.tailBytes) {
    return `the open record says ${segmentLabel(p.segment)} ended at seq ${String(p.lastSeq)} (closed: ${String(p.closed)}, torn bytes: ${String(p.tailBytes)}), but ${prev.name} ends at seq ${prev.lastSeq} (closed: ${closed}, torn bytes: ${prev.tailBytes})`;
  }
  return null;
}

function segmentLabel(n: unknown): string {
  return typeof n === 'number' ? `segment ${n}` : 'the previous segment';
}

async function checkCheckpoint(
  r: Parsed,
  log: string,
  segment: number,
  keys: readonly VerificationKey[] | null,
  keyIds: Set<string>,
): Promise<{ code: 'bad-checkpoint' | 'bad-signature'; message: string } | null> {
  const o = r.obj;
  const names = Object.keys(o).join(',');
  if (names !== 'seq,prev,ts,kind,reason,jws' || typeof o.jws !== 'string') {
    return { code: 'bad-checkpoint', message: 'a checkpoint holds exactly seq, prev, ts, kind, reason and jws' };
  }
  const read = readCheckpoint(o.jws);
  if ('error' in read) return { code: 'bad-checkpoint', message: read.error };
  const p = read.payload;
  const mismatch: string[] = [];
  if (p.log !== log) mismatch.push('log');
  if (p.segment !== segment) mismatch.push('segment');
  if (p.seq !== r.seq - 1) mismatch.push('seq');
  if (p.hash !== r.prev) mismatch.push('hash');
  if (p.count !== r.seq) mismatch.push('count');
  if (p.ts !== r.ts) mismatch.push('ts');
  if (p.reason !== o.reason) mismatch.push('reason');
  if (mismatch.length > 0) return { code: 'bad-checkpoint', message: `the checkpoint does not sign what it claims (${mismatch.join(', ')} differ)` };
  if (read.kid !== null) keyIds.add(read.kid);
  if (keys) {
    const bad = await verifyCheckpointSignature(o.jws, read.kid, keys);
    if (bad !== null) return { code: 'bad-signature', message: `checkpoint seq ${r.seq}: ${bad}` };
  }
  return null;
}

/** Names the first bad record when a line does not continue the chain. */
async function diagnose(
  r: Parsed,
  hash: string,
  line: Line,
  segment: string,
  reader: LineReader,
  expSeq: number,
  expPrev: string,
  recent: Map<number, Seen>,
  before: { segment: string; line: number } | null,
  previous: (SegmentSummary & { tornLine: number | null; lastLine: number }) | null,
): Promise<Problem> {
  const atStart = line.number === 1;
  const torn = atStart && previous !== null && previous.tornLine !== null ? `; ${previous.name} ends with ${previous.tailBytes} bytes of a torn line` : '';
  const nextLine = await reader.peek();
  const next = nextLine !== null && nextLine.complete ? parseLine(nextLine.bytes) : null;
  const nextRecord = next !== null && !('error' in next) ? next : null;

  if (r.seq === expSeq) {
    if (nextRecord !== null && nextRecord.seq === expSeq && nextRecord.prev === expPrev) {
      return { code: 'inserted', segment, line: line.number, seq: r.seq, message: `line ${line.number} (seq ${r.seq}) was inserted: line ${line.number + 1} holds the record seq ${r.seq} that chains` };
    }
    const where = before ?? { segment, line: line.number - 1 };
    const prevSeq = expSeq - 1;
    return {
      code: 'altered',
      segment: where.segment,
      line: where.line,
      seq: prevSeq,
      message: `record seq ${prevSeq} (line ${where.line} of ${where.segment}) was altered: its hash is not the one seq ${r.seq} (line ${line.number} of ${segment}) records${torn}`,
    };
  }
  if (r.seq > expSeq) {
    if (nextRecord !== null && nextRecord.seq === expSeq) {
      return {
        code: 'reordered',
        segment,
        line: line.number,
        seq: r.seq,
        message: `records out of order: line ${line.number} holds seq ${r.seq} and line ${line.number + 1} seq ${expSeq}`,
      };
    }
    const missing = r.seq - expSeq === 1 ? `record seq ${expSeq} is` : `records seq ${expSeq}–${r.seq - 1} are`;
    const place = atStart && before !== null ? `at the end of ${before.segment} (after line ${before.line})` : `before line ${line.number} of ${segment}`;
    return { code: 'missing', segment, line: line.number, seq: expSeq, message: `${missing} missing ${place}${torn}` };
  }
  // r.seq < expSeq: the sequence goes back
  const earlier = recent.get(r.seq);
  if (earlier !== undefined && earlier.hash === hash) {
    return { code: 'duplicate', segment, line: line.number, seq: r.seq, message: `line ${line.number} repeats the record seq ${r.seq} of line ${earlier.line} of ${earlier.segment}` };
  }
  const anchor = recent.get(r.seq - 1);
  if (earlier !== undefined && ((r.seq === 0 && r.prev === expPrev) || (anchor !== undefined && anchor.hash === r.prev))) {
    return {
      code: 'inserted',
      segment: earlier.segment,
      line: earlier.line,
      seq: r.seq,
      message: `line ${earlier.line} of ${earlier.segment} (seq ${r.seq}) was inserted: line ${line.number} of ${segment} holds the record seq ${r.seq} that chains from seq ${r.seq - 1}`,
    };
  }
  return { code: 'reordered', segment, line: line.number, seq: r.seq, message: `the sequence goes back at line ${line.number}: seq ${r.seq} after seq ${expSeq - 1}` };
}
