// A bounded LRU map: at most `maxEntries` entries and `maxChars` total key length. A Map keeps
// insertion order, so a hit re-inserts the entry and eviction takes the oldest.

export class LruCache<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private total = 0;

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
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V, size: number): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.total -= old.size;
      this.map.delete(key);
    }
    if (size > this.maxChars) return;
    this.map.set(key, { value, size });
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
