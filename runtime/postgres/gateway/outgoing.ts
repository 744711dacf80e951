// What one write to a socket carries: buffers queued in order, taken as one buffer.
//
// Most of what the gateway relays is messages passed on as they came, each a view of the chunk
// it was read in: consecutive views of one chunk become one view of it again (no copy). Only a
// write that mixes them with bytes of the gateway's own (a denial, a masked row) is joined into
// a new buffer. The caller says which chunk a view is of (`Frame.chunk`); views are merged only
// when they are of the same chunk and adjacent in it, so the merged view holds exactly the
// bytes of both. (Comparing `ArrayBuffer`s instead would call V8's slow `.buffer` accessor on
// every push.)

export class Outgoing {
  private readonly parts: Buffer[] = [];
  /** the first buffer of the run being extended, or null when nothing is queued */
  private run: Buffer | null = null;
  /** the chunk the run's views are of; null: the run cannot grow */
  private source: Buffer | null = null;
  /** the byte offset just past the run */
  private end = 0;

  /** Queues `b`; `source`: the buffer `b` is a view of, when adjacent views of it may be merged. */
  push(b: Buffer, source: Buffer | null = null): void {
    if (b.length === 0) return;
    if (this.run !== null) {
      if (source !== null && source === this.source && b.byteOffset === this.end) {
        this.end += b.length;
        return;
      }
      this.parts.push(this.runView(this.run));
    }
    this.run = b;
    this.source = source;
    this.end = b.byteOffset + b.length;
  }

  get empty(): boolean {
    return this.run === null;
  }

  /**
   * Everything queued, as one buffer (null when nothing is); the queue is empty afterwards.
   * `own`: the caller keeps the bytes beyond this turn (a write that will be queued), so a view
   * of a received chunk comes as a copy; joined bytes are a copy already.
   */
  take(own = false): Buffer | null {
    const run = this.run;
    if (run === null) return null;
    const view = this.runView(run);
    const last = own && this.source !== null && this.parts.length === 0 ? Buffer.from(view) : view;
    this.run = null;
    this.source = null;
    if (this.parts.length === 0) return last;
    this.parts.push(last);
    const all = Buffer.concat(this.parts);
    this.parts.length = 0;
    return all;
  }

  private runView(run: Buffer): Buffer {
    if (this.end - run.byteOffset === run.length) return run;
    // grown, so it has a source
    const base = this.source!.byteOffset;
    return this.source!.subarray(run.byteOffset - base, this.end - base);
  }
}
