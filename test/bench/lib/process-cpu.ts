// The CPU a process has used, for suites that set a cost in CPU beside one in time.

import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time a process has run, all its threads, in µs: the scheduler's own count
 * (/proc/<pid>/task/<tid>/schedstat, nanoseconds), not the 10 ms ticks of /proc/<pid>/stat.
 * Null where the kernel does not keep it.
 */
export function processCpuUs(pid: number): number | null {
  let total = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1000;
      } catch {
        // a thread that ended between the listing and the read
      }
    }
  } catch {
    return null;
  }
  return Number.isFinite(total) ? total : null;
}

