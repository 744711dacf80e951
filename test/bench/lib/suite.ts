// The contract between the bench runner (run.ts) and a suite (test/bench/<name>.bench.ts).
//
// A suite module default-exports a `Suite`. The runner starts one child process per suite
// (with --expose-gc), calls `requires()` to learn whether the suite can run here, then
// `run(bench)`. The suite measures through `bench`, so every suite gets the same method
// (warm-up, interleaved rounds, median of batches) and the same report. README.md has a
// worked example.

import type { Measurement } from './stats.ts';

/** A target from DESIGN.md §7; a row passes when every bound given holds. */
export interface Target {
  /** the median must be at most this many nanoseconds per operation */
  medianAtMostNs?: number;
  /** the median must be below this many nanoseconds (strict) */
  medianBelowNs?: number;
  /** median ÷ baseline median must be at most this (1.3 = "at most 1.3× the baseline's time") */
  ratioAtMost?: number;
  /** how the table shows the target, when the default wording does not fit */
  label?: string;
}

interface CaseCommon {
  /** the row's name in the table, unique within the suite */
  name: string;
  /** marks the row as a baseline: other rows point at it with `against` */
  baseline?: boolean;
  /** the baseline row this row's ratio is taken against (any row of the same suite) */
  against?: string;
  target?: Target;
  /** one short line shown under the table */
  note?: string;
}

/** An in-process operation, called many times. */
export interface OpCase extends CaseCommon {
  /**
   * One operation. `i` counts the calls of this case (warm-up included), for cases that need a
   * distinct input per call. Return the result: the runner keeps it so the work is not optimised
   * away.
   */
  fn: (i: number) => unknown;
}

export type RunOutcome = boolean | void | 'discard';

/** Something slow and whole, such as a process start, timed once per run. */
export interface RunCase extends CaseCommon {
  /**
   * One run. Resolve to false (or throw) when the run failed: the row is then reported as failed.
   * Resolve to 'discard' when something outside the measurement disturbed the run (another
   * process rebuilt a cache it used): the sample is dropped and the run repeated.
   */
  fn: () => Promise<RunOutcome> | RunOutcome;
}

export interface OpOptions {
  /** warm-up per case before any measurement (default 300 ms; --quick 100 ms) */
  warmupMs?: number;
  /** wall time of one timed batch for fast operations (default 2 ms) */
  batchMs?: number;
  /** measured time per case, spread over interleaved rounds (default 600 ms; --quick 150 ms) */
  budgetMs?: number;
  /** operations at least this slow are timed one by one, which gives a p99 (default 5 µs) */
  perCallAboveNs?: number;
}

export interface RunOptions {
  /** untimed runs per case first (default 1) */
  warmup?: number;
  /** timed runs per case (default 15; --quick 5) */
  runs?: number;
}

/** A measurement taken elsewhere (pgbench's own report, a server log), for record(). */
export interface ExternalRow extends CaseCommon {
  /** nanoseconds per operation, one per sample: for a throughput, 1e9 / (operations per second) */
  samplesNs: number[];
  /** true when each sample is a single operation, so a p99 is meaningful */
  perOperation?: boolean;
}

export interface Bench {
  /** --quick: shorter budgets, for a smoke run */
  readonly quick: boolean;
  /** --profile: suites that start processes may add --cpu-prof to them, writing into this folder */
  readonly profileDir: string | null;
  /** the repository root */
  readonly root: string;
  /** Measures in-process operations, interleaved round by round so drift hits every case alike. */
  ops(cases: OpCase[], options?: OpOptions): Promise<Measurement[]>;
  /** Times whole runs (a spawned process, a compile of a large policy), interleaved. */
  runs(cases: RunCase[], options?: RunOptions): Promise<Measurement[]>;
  /** Adds a row measured by other means. */
  record(row: ExternalRow): void;
  /** A labelled figure reported under the table and in the JSON (not timed, not judged). */
  note(label: string, value: string | number, detail?: string): void;
  /** A yes/no fact the suite verified (e.g. both evaluators agree); a false check is listed in the summary. */
  check(label: string, ok: boolean, detail?: string): void;
  /** Progress on stderr. */
  log(message: string): void;
}

export interface Suite {
  /** the name `npm run bench -- <name>` selects; by convention the file name before .bench.ts */
  name: string;
  /** one line for the table heading */
  title: string;
  /** Resolves to null when the suite can run here, or to the reason it cannot (it is then skipped). */
  requires?(bench: Bench): Promise<string | null> | string | null;
  run(bench: Bench): Promise<void>;
}
