// How the runner times things.
//
// In-process operations (ops): every case is warmed up first (so the JIT has optimised it and
// the per-call cost is known), then measured in rounds; a round gives each case one sample, so
// a noisy neighbour or a CPU clock change hits every case of the group alike. A fast operation's
// sample is one batch of calls sized to take `batchMs`, timed with process.hrtime.bigint() at its
// ends (the timer's own cost, tens of nanoseconds, is spread over thousands of calls); the row's
// figure is the median of the batch means. An operation slower than `perCallAboveNs` is timed
// call by call, which also gives a p99.
//
// Whole runs (runs): untimed warm-up runs, then rounds of one timed run per case, the case order
// rotating from round to round.

import type { OpCase, OpOptions, RunCase, RunOptions } from './suite.ts';
import { summarize, type Measurement } from './stats.ts';

let sink: unknown;

/** The last value an operation returned (read once at the end so nothing is optimised away). */
export function lastResult(): unknown {
  return sink;
}

const now = (): bigint => process.hrtime.bigint();

function loop(fn: (i: number) => unknown, n: number, start: number): void {
  for (let k = 0; k < n; k++) sink = fn(start + k);
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface OpState {
  c: OpCase;
  calls: number;
  estimateNs: number;
  perCall: boolean;
  /** calls per sample (batched) or samples per round (per call) */
  size: number;
  samples: number[];
  spentNs: number;
}

function defaultsFor(quick: boolean, o: OpOptions): Required<OpOptions> {
  return {
    warmupMs: o.warmupMs ?? (quick ? 100 : 300),
    batchMs: o.batchMs ?? 2,
    budgetMs: o.budgetMs ?? (quick ? 150 : 600),
    perCallAboveNs: o.perCallAboveNs ?? 5_000,
  };
}

/**
 * Runs the case for `ms`, in chunks that double until one takes a millisecond; returns the
 * fastest ns per call among the chunks (a chunk interrupted by a collection or by another
 * process would overstate the cost and put a fast operation in the call-by-call mode).
 */
function warmUp(s: OpState, ms: number): number {
  const until = now() + BigInt(Math.round(ms * 1e6));
  let n = 1;
  let best = Number.POSITIVE_INFINITY;
  for (;;) {
    const t0 = now();
    loop(s.c.fn, n, s.calls);
    const dt = Number(now() - t0);
    s.calls += n;
    // tiny chunks are dominated by the timer and the unoptimised first calls
    if (dt >= 100_000 || n >= 1024) best = Math.min(best, dt / n);
    if (dt < 1e6) n *= 2;
    if (now() >= until) return Number.isFinite(best) ? best : dt / n;
  }
}

export async function measureOps(cases: OpCase[], options: OpOptions, quick: boolean): Promise<Measurement[]> {
  const o = defaultsFor(quick, options);
  const states: OpState[] = cases.map((c) => ({ c, calls: 0, estimateNs: 0, perCall: false, size: 1, samples: [], spentNs: 0 }));
  for (const s of states) {
    s.estimateNs = Math.max(warmUp(s, o.warmupMs), 0.5);
    s.perCall = s.estimateNs >= o.perCallAboveNs;
    s.size = Math.max(1, Math.round((o.batchMs * 1e6) / s.estimateNs));
    await yieldToLoop();
  }
  const budgetNs = o.budgetMs * 1e6;
  const minSamples = (s: OpState) => (s.perCall ? 400 : 30);
  const done = (s: OpState) => s.spentNs >= budgetNs && s.samples.length >= minSamples(s);
  // A hard stop in case an operation turns out far slower than its warm-up said.
  const maxRounds = 100_000;
  for (let round = 0; round < maxRounds && !states.every(done); round++) {
    for (const s of states) {
      if (done(s)) continue;
      if (s.perCall) {
        const fn = s.c.fn;
        const r0 = now();
        for (let k = 0; k < s.size; k++) {
          const t0 = now();
          sink = fn(s.calls++);
          s.samples.push(Number(now() - t0));
        }
        s.spentNs += Number(now() - r0);
      } else {
        const t0 = now();
        loop(s.c.fn, s.size, s.calls);
        const dt = Number(now() - t0);
        s.calls += s.size;
        s.samples.push(dt / s.size);
        s.spentNs += dt;
      }
    }
    if (round % 8 === 7) await yieldToLoop();
  }
  return states.map((s) => summarize(s.c.name, 'ops', s.samples, s.perCall ? 1 : s.size, s.perCall));
}

interface RunState {
  c: RunCase;
  samples: number[];
  discarded: number;
  failed?: string;
}

/** A run that returned 'discard' (disturbed by something outside the measurement) is repeated, up to this many times. */
const MAX_DISCARDS = 6;

async function once(s: RunState): Promise<number | null> {
  for (let attempt = 0; ; attempt++) {
    const t0 = now();
    try {
      const outcome = await s.c.fn();
      const dt = Number(now() - t0);
      if (outcome === false) {
        s.failed = 'the run reported a failure';
        return null;
      }
      if (outcome !== 'discard') return dt;
      s.discarded++;
      if (attempt + 1 >= MAX_DISCARDS) {
        s.failed = `${MAX_DISCARDS} runs in a row were discarded`;
        return null;
      }
    } catch (e) {
      s.failed = (e as Error).message.split('\n')[0];
      return null;
    }
  }
}

export async function measureRuns(cases: RunCase[], options: RunOptions, quick: boolean): Promise<Measurement[]> {
  const warmup = options.warmup ?? 1;
  const runs = options.runs ?? (quick ? 5 : 15);
  const states: RunState[] = cases.map((c) => ({ c, samples: [], discarded: 0 }));
  for (const s of states) for (let k = 0; k < warmup && s.failed === undefined; k++) await once(s);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < states.length; k++) {
      const s = states[(k + r) % states.length];
      if (s.failed !== undefined) continue;
      const dt = await once(s);
      if (dt !== null) s.samples.push(dt);
    }
  }
  return states.map((s) => {
    const m = summarize(s.c.name, 'runs', s.samples, 1, true);
    if (s.failed !== undefined) m.failed = s.failed;
    if (s.discarded > 0) m.discarded = s.discarded;
    return m;
  });
}
