// A bounded, approximately LRU map: at most `maxEntries` entries and `maxChars` total key length.
// A Map keeps insertion order and eviction takes the oldest. Re-inserting on every hit costs
// time proportional to the map's size on V8, so a hit re-inserts only an entry that has fallen
// into the older half: hot entries still never reach the front of the eviction order.

export class LruCache<V> {
  private readonly map = new Map<string, { value: V; size: number; stamp: number }>();
  private total = 0;
  /** insertions so far: an entry's stamp says how far back it was (re)inserted */
  private tick = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get chars(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (this.tick - e.stamp >= this.maxEntries >> 1) {
      this.map.delete(key);
      e.stamp = ++this.tick;
      this.map.set(key, e);
    }
    return e.value;
  }

  set(key: string, value: V, size: number): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.total -= old.size;
      this.map.delete(key);
    }
    if (size > this.maxChars) return;
    this.map.set(key, { value, size, stamp: ++this.tick });
    this.total += size;
    while (this.map.size > this.maxEntries || this.total > this.maxChars) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.total -= this.map.get(oldest.value)!.size;
      this.map.delete(oldest.value);
    }
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}
