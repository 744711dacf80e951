// Reading segment files: the list of a directory's segments, the lines of a segment with their
// byte offsets (hashes are computed over the raw bytes), and the end of the last segment.

import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { segmentNumber } from './chain.ts';

export interface SegmentFile {
  name: string;
  number: number;
  path: string;
}

/** The segment files of `dir`, by number. Other files are ignored. */
export async function listSegments(dir: string): Promise<SegmentFile[]> {
  const names = await readdir(dir);
  const out: SegmentFile[] = [];
  for (const name of names) {
    const n = segmentNumber(name);
    if (n !== null) out.push({ name, number: n, path: join(dir, name) });
  }
  return out.sort((a, b) => a.number - b.number);
}

export interface Line {
  /** the line's bytes without "\n" */
  bytes: Buffer;
  /** 1-based */
  number: number;
  /** byte offset of the line's start */
  offset: number;
  /** false for bytes after the last "\n" (a line being written, or torn by a crash) */
  complete: boolean;
}

const CHUNK = 1 << 20;

/** The lines of a file, read in chunks: memory stays bounded by the longest line. */
export async function* readLines(path: string, from = 0): AsyncGenerator<Line> {
  const fh = await open(path, 'r');
  try {
    let position = from;
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = from;
    let number = 0;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : Buffer.from(buf.subarray(0, bytesRead));
      let start = 0;
      for (;;) {
        const nl = data.indexOf(10, start);
        if (nl < 0) break;
        number++;
        yield { bytes: data.subarray(start, nl), number, offset: carryOffset + start, complete: true };
        start = nl + 1;
      }
      carry = data.subarray(start);
      carryOffset += start;
    }
    if (carry.length > 0) yield { bytes: carry, number: number + 1, offset: carryOffset, complete: false };
  } finally {
    await fh.close();
  }
}

export interface SegmentEnd {
  size: number;
  /** the last complete line, or null when the file has none */
  lastLine: Buffer | null;
  /** offset just past the last complete line's "\n" */
  end: number;
  /** bytes after it */
  tailBytes: number;
  /** the first complete line (the segment's open record) */
  firstLine: Buffer | null;
}

/** The first and last complete lines of a segment, read from its ends. */
export async function readSegmentEnds(path: string): Promise<SegmentEnd> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    // the first line
    let firstLine: Buffer | null = null;
    {
      let acc = Buffer.alloc(0);
      let pos = 0;
      const buf = Buffer.allocUnsafe(64 * 1024);
      while (pos < size) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        acc = Buffer.concat([acc, buf.subarray(0, bytesRead)]);
        pos += bytesRead;
        const nl = acc.indexOf(10);
        if (nl >= 0) {
          firstLine = acc.subarray(0, nl);
          break;
        }
      }
    }
    // the last "\n", then the one before it
    const chunk = 64 * 1024;
    let tailEnd = size;
    let lastNl = -1;
    let back = Buffer.alloc(0);
    let backStart = size;
    while (backStart > 0) {
      const start = Math.max(0, backStart - chunk);
      const piece = Buffer.allocUnsafe(backStart - start);
      await fh.read(piece, 0, piece.length, start);
      back = Buffer.concat([piece, back]);
      backStart = start;
      if (lastNl < 0) {
        const i = back.lastIndexOf(10);
        if (i >= 0) {
          lastNl = backStart + i;
          tailEnd = lastNl + 1;
        }
      }
      if (lastNl >= 0) {
        const rel = lastNl - backStart;
        const prevNl = rel > 0 ? back.lastIndexOf(10, rel - 1) : -1;
        if (prevNl >= 0 || backStart === 0) {
          const lineStart = prevNl >= 0 ? backStart + prevNl + 1 : 0;
          const lastLine = back.subarray(lineStart - backStart, rel);
          return { size, lastLine: Buffer.from(lastLine), end: tailEnd, tailBytes: size - tailEnd, firstLine };
        }
      }
    }
    return { size, lastLine: null, end: 0, tailBytes: size, firstLine };
  } finally {
    await fh.close();
  }
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
