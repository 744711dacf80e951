// What one write to a socket carries: buffers queued in order, taken as one buffer.
//
// Most of what the gateway relays is messages passed on as they came, each a view of the chunk
// it was read in: consecutive views of one chunk become one view of it again (no copy). Only a
// write that mixes them with bytes of the gateway's own (a denial, a masked row) is joined into
// a new buffer. Adjacent views are merged by position alone: the merged view holds exactly the
// bytes of both, whatever wrote them.

export class Outgoing {
  private readonly parts: Buffer[] = [];
  /** the first buffer of the run of adjacent views being extended, or null */
  private run: Buffer | null = null;
  private runEnd = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    const run = this.run;
    if (run !== null) {
      if (b.buffer === run.buffer && b.byteOffset === this.runEnd) {
        this.runEnd += b.length;
        return;
      }
      this.parts.push(this.runView(run));
    }
    this.run = b;
    this.runEnd = b.byteOffset + b.length;
  }

  get empty(): boolean {
    return this.run === null;
  }

  /** Everything queued, as one buffer (null when nothing is); the queue is empty afterwards. */
  take(): Buffer | null {
    const run = this.run;
    if (run === null) return null;
    const last = this.runView(run);
    this.run = null;
    if (this.parts.length === 0) return last;
    this.parts.push(last);
    const all = Buffer.concat(this.parts);
    this.parts.length = 0;
    return all;
  }

  private runView(run: Buffer): Buffer {
    const length = this.runEnd - run.byteOffset;
    return length === run.length ? run : Buffer.from(run.buffer, run.byteOffset, length);
  }
}
