// What the numbers were measured on, printed above every report.

import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  /** MHz reported by the first core, 0 when unknown */
  mhz: number;
  memoryGiB: number;
  node: string;
  v8: string;
  platform: string;
  /** 1, 5 and 15 minute load averages when the run started: on a shared machine they matter */
  loadAverage: number[];
  commit: string | null;
  /** the working tree had uncommitted changes (files of other work in progress included) */
  dirty: boolean;
}

function git(root: string, args: string[]): string | null {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function describeMachine(root: string): Machine {
  const cpus = os.cpus();
  const commit = git(root, ['rev-parse', '--short=12', 'HEAD']);
  const status = git(root, ['status', '--porcelain', '--untracked-files=no']);
  return {
    cpu: (cpus[0]?.model ?? 'unknown').trim(),
    cores: os.availableParallelism?.() ?? cpus.length,
    mhz: cpus[0]?.speed ?? 0,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    commit,
    dirty: status !== null && status.length > 0,
  };
}

export function machineLine(m: Machine): string {
  const mhz = m.mhz > 0 ? ` @ ${m.mhz} MHz` : '';
  const commit = m.commit === null ? 'no commit' : `commit ${m.commit}${m.dirty ? ' + uncommitted changes' : ''}`;
  return [
    `**Machine:** ${m.cpu}${mhz}, ${m.cores} cores, ${m.memoryGiB} GiB · Node ${m.node} (V8 ${m.v8}) · ${m.platform}`,
    `**Load average at start:** ${m.loadAverage.join(' / ')} (1 / 5 / 15 min) · ${commit}`,
  ].join('  \n');
}
