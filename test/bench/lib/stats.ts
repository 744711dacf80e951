// Order statistics over samples, and the shape of one measured row.

export interface Measurement {
  name: string;
  /** how the row was measured */
  kind: 'ops' | 'runs' | 'external';
  /** nanoseconds per operation, one per sample, in the order taken */
  samplesNs: number[];
  /** operations per sample (1 when each call was timed alone) */
  batch: number;
  /** operations timed in total */
  operations: number;
  medianNs: number;
  minNs: number;
  maxNs: number;
  /** only when every sample is one operation and there are enough of them */
  p99Ns: number | null;
  /** set when a run reported failure; the row then has no verdict */
  failed?: string;
  /** runs dropped and repeated because something outside the measurement disturbed them */
  discarded?: number;
}

/** The q-quantile (0..1) of sorted values, interpolated linearly between neighbours. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** A p99 needs at least this many single-operation samples to mean anything. */
export const MIN_SAMPLES_FOR_P99 = 200;

export function summarize(
  name: string,
  kind: Measurement['kind'],
  samplesNs: number[],
  batch: number,
  perOperation: boolean,
): Measurement {
  const sorted = [...samplesNs].sort((a, b) => a - b);
  return {
    name,
    kind,
    samplesNs,
    batch,
    operations: samplesNs.length * batch,
    medianNs: quantile(sorted, 0.5),
    minNs: sorted[0] ?? Number.NaN,
    maxNs: sorted[sorted.length - 1] ?? Number.NaN,
    p99Ns: perOperation && sorted.length >= MIN_SAMPLES_FOR_P99 ? quantile(sorted, 0.99) : null,
  };
}
