// Session records (issue 6, spec/audit.md): pgbench -S through two gateways in the same run, one
// writing a record of every statement and one without an audit block. Target: the records cost
// at most 10% of throughput. Afterwards the log must verify and hold a record per transaction.

import { execFile, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findPostgresBinaries, startPostgres, type PostgresServer } from '../support/postgres-server.ts';
import type { Bench, Suite } from './lib/suite.ts';
import { pgbench, pgbenchRun, waitPort, which, type Endpoint } from './lib/pgbench.ts';
import { processCpuUs } from './lib/process-cpu.ts';
import { startPamc } from './lib/pamc-process.ts';

const run = promisify(execFile);

const suite: Suite = {
  name: 'audit',
  title: 'pgbench -S through pamc with session records on and off',
  async requires() {
    if (!findPostgresBinaries()) return 'no PostgreSQL server binaries under /usr/lib/postgresql';
    if (!(await which('pgbench'))) return 'pgbench is not installed';
    return null;
  },
  async run(b: Bench) {
    const pgbenchBin = (await which('pgbench'))!;
    const server: PostgresServer = await startPostgres({ isolated: true });
    const children: ChildProcess[] = [];
    // the gateways' folders: the recording one holds the run's log, hundreds of MB
    const dirs: string[] = [];
    try {
      const db = 'bench';
      await server.psql(`CREATE DATABASE ${db}`);
      await run(pgbenchBin, ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(server.port), '-U', server.superuser.user, db], {
        env: { ...process.env, PGPASSWORD: server.superuser.password },
      });
      const pair = generateKeyPairSync('ed25519');
      const recording = await startPamc(b.root, server, db, {
        files: { 'audit.jwk': JSON.stringify(pair.privateKey.export({ format: 'jwk' })) },
        blocks: 'audit {\n  dir "audit"\n  key file "audit.jwk"\n}',
      });
      const plain = await startPamc(b.root, server, db);
      children.push(recording.child, plain.child);
      dirs.push(recording.dir, plain.dir);
      await Promise.all([waitPort(recording.port, 60_000), waitPort(plain.port, 60_000)]);
      const endpoints: Endpoint[] = [
        { name: 'records off', port: plain.port, password: plain.token, user: 'bench' },
        { name: 'records on', port: recording.port, password: recording.token, user: 'bench' },
      ];
      const pids = new Map([
        ['records off', plain.child.pid!],
        ['records on', recording.child.pid!],
      ]);

      // more, shorter rounds than the gateway suite: on a noisy machine the ratio of two
      // endpoints measured seconds apart is steadier than either alone (the paired ratio below)
      const seconds = 2;
      const rounds = b.quick ? 1 : 10;
      const modes = ['simple', 'prepared'];
      const clientCounts = [1, 8];
      const samples = new Map<string, number[]>();
      // the gateway's CPU per transaction in each sample (all its threads, µs): what the records
      // cost in CPU, beside what they cost in throughput
      const cpu = new Map<string, number[]>();
      // warm-up: every endpoint, every mode, once
      for (const e of endpoints) for (const m of modes) await pgbench(pgbenchBin, e, db, m, 2, 1);
      for (let r = 0; r < rounds; r++) {
        for (const c of clientCounts) {
          for (const m of modes) {
            const order = r % 2 === 0 ? endpoints : [...endpoints].reverse();
            for (const e of order) {
              const before = processCpuUs(pids.get(e.name)!);
              const { tps, transactions } = await pgbenchRun(pgbenchBin, e, db, m, c, seconds);
              const after = processCpuUs(pids.get(e.name)!);
              const key = `${m} · ${c} client${c > 1 ? 's' : ''} · ${e.name}`;
              samples.set(key, [...(samples.get(key) ?? []), 1e9 / tps]);
              if (before !== null && after !== null && transactions > 0) cpu.set(key, [...(cpu.get(key) ?? []), (after - before) / transactions]);
              b.log(`${key}: ${tps.toFixed(0)} tps`);
            }
          }
        }
      }
      for (const c of clientCounts) {
        for (const m of modes) {
          const k = (e: string) => `${m} · ${c} client${c > 1 ? 's' : ''} · ${e}`;
          b.record({ name: k('records off'), samplesNs: samples.get(k('records off'))!, baseline: true });
          b.record({
            name: k('records on'),
            samplesNs: samples.get(k('records on'))!,
            against: k('records off'),
            target: { ratioAtMost: 1.1, label: 'records cost ≤ 10% of throughput' },
            note: 'time per transaction (1 / tps)',
          });
        }
      }
      // The same target read round by round: records on ÷ off of each round (the two ran back to
      // back), then the median. A slow minute of the machine then weighs on both sides of a ratio.
      for (const c of clientCounts) {
        for (const m of modes) {
          const k = (e: string) => `${m} · ${c} client${c > 1 ? 's' : ''} · ${e}`;
          const on = samples.get(k('records on'))!;
          const off = samples.get(k('records off'))!;
          const ratios = on.map((x, i) => x / off[i]).sort((x, y) => x - y);
          const median = ratios[Math.floor(ratios.length / 2)];
          b.note(`${m} · ${c} client${c > 1 ? 's' : ''}: records on ÷ off, round by round (median)`, median.toFixed(2), `rounds sorted: ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
          const cpuOn = cpu.get(k('records on'));
          const cpuOff = cpu.get(k('records off'));
          if (cpuOn && cpuOff && cpuOn.length === on.length && cpuOff.length === off.length) {
            const added = cpuOn.map((x, i) => x - cpuOff[i]).sort((x, y) => x - y);
            const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
            b.note(
              `${m} · ${c} client${c > 1 ? 's' : ''}: the records' CPU per transaction (gateway process, on − off, round by round, median)`,
              `${added[Math.floor(added.length / 2)].toFixed(1)} µs`,
              `gateway CPU per transaction: records on ${mid(cpuOn).toFixed(1)} µs, off ${mid(cpuOff).toFixed(1)} µs (medians)`,
            );
          }
        }
      }

      // The log the run wrote: it verifies, and holds a statement record per transaction.
      recording.child.kill('SIGTERM');
      await new Promise((r) => recording.child.once('exit', r));
      const auditDir = join(recording.dir, 'audit');
      const publicKey = join(recording.dir, 'audit-public.jwk');
      writeFileSync(publicKey, JSON.stringify(pair.publicKey.export({ format: 'jwk' })));
      let statements = 0;
      let bytes = 0;
      for (const f of readdirSync(auditDir).filter((x) => x.endsWith('.jsonl'))) {
        const text = readFileSync(join(auditDir, f), 'utf8');
        bytes += text.length;
        for (const line of text.split('\n')) if (line.includes('"kind":"statement"')) statements++;
      }
      const verified = await run(process.execPath, [join(b.root, 'bin/pamc.js'), 'audit', 'verify', auditDir, '--key', publicKey, '--json'], { maxBuffer: 1 << 24 }).then(
        (r) => JSON.parse(r.stdout) as { ok: boolean },
        () => ({ ok: false }),
      );
      b.note('statement records written', statements, `${(bytes / 1024 / 1024).toFixed(1)} MiB, ${(bytes / Math.max(1, statements)).toFixed(0)} bytes per record on average`);
      b.check('the log of the run passes pamc audit verify', verified.ok);
      b.check('the log holds statement records of the run', statements > 1000, `${statements}`);
    } finally {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      await server.stop();
    }
  },
};

export default suite;
