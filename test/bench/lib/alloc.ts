// Bytes allocated on the V8 heap by an operation, without --trace-gc: the growth of the used
// heap over many calls plus everything the collections in between freed (v8.GCProfiler reports
// the used size before and after each one). Objects that die young and are collected count;
// memory outside the V8 heap (WASM, Buffers) does not.

import v8 from 'node:v8';

export interface Allocation {
  calls: number;
  bytesPerCall: number;
  /** garbage collections during the calls */
  collections: number;
}

let sink: unknown;

/** GCProfiler reports heap statistics in camelCase, whatever @types/node says. */
function usedHeap(stats: object): number {
  const s = stats as { usedHeapSize?: number; used_heap_size?: number };
  return s.usedHeapSize ?? s.used_heap_size ?? 0;
}

export function allocationOf(fn: (i: number) => unknown, calls: number): Allocation {
  const g = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < Math.min(calls, 50_000); i++) sink = fn(i); // optimised before counting
  g?.();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = v8.getHeapStatistics().used_heap_size;
  for (let i = 0; i < calls; i++) sink = fn(i);
  const after = v8.getHeapStatistics().used_heap_size;
  const report = profiler.stop();
  let freed = 0;
  for (const s of report.statistics) freed += usedHeap(s.beforeGC.heapStatistics) - usedHeap(s.afterGC.heapStatistics);
  return { calls, bytesPerCall: (after - before + freed) / calls, collections: report.statistics.length };
}

/** The last value returned (so the calls are not optimised away). */
export function lastAllocated(): unknown {
  return sink;
}
