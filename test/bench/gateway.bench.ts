// pgbench -S through the gateway, side by side with the same run direct to PostgreSQL, through a
// plain Node.js TCP pipe and through PgBouncer in session mode (DESIGN.md §7): throughput in
// simple, extended and prepared modes at 1 and 8 clients, the latency each proxy adds at one
// client, and the gateway's memory with 200 idle sessions.
//
// Every proxy runs as a process of its own, as in production; the modes and proxies are
// interleaved round by round so load from elsewhere hits them alike.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../support/ports.ts';
import { findPostgresBinaries, startPostgres, type PostgresServer } from '../support/postgres-server.ts';
import type { Bench, Suite } from './lib/suite.ts';
import { pgbench, waitPort, which, type Endpoint } from './lib/pgbench.ts';
import { startPamc } from './lib/pamc-process.ts';

const run = promisify(execFile);

// The leanest relay Node.js can run: each socket reads with `onread` into one reused buffer (no
// Readable stream, no buffer allocated per read) and writes a copy of what it read. Node's server
// has no `onread` option, so the accepted socket's handle is wrapped again by a socket that has
// one (internals, acceptable in a baseline; pamc does not do this). It parses nothing: the floor
// for any proxy written for Node.js on this machine, with the same syscalls as the pipe.
const RELAY_SCRIPT = `
const net = require('node:net');
const [listen, target] = process.argv.slice(2).map(Number);
net.createServer({ pauseOnConnect: true }, (accepted) => {
  const handle = accepted._handle;
  accepted._handle = null;
  let u;
  const c = new net.Socket({ handle, readable: true, writable: true, onread: { buffer: Buffer.allocUnsafe(65536), callback: (n, b) => { u.write(Buffer.from(b.subarray(0, n))); } } });
  u = net.connect({ port: target, host: '127.0.0.1', onread: { buffer: Buffer.allocUnsafe(65536), callback: (n, b) => { c.write(Buffer.from(b.subarray(0, n))); } } });
  c.setNoDelay(true); u.setNoDelay(true);
  c.on('end', () => u.end()); u.on('end', () => c.end());
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(listen, '127.0.0.1');
`;

const PIPE_SCRIPT = `
const net = require('node:net');
const [listen, target] = process.argv.slice(2).map(Number);
net.createServer((c) => {
  const u = net.connect(target, '127.0.0.1');
  c.setNoDelay(true); u.setNoDelay(true);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(listen, '127.0.0.1');
`;

/** The user and the system CPU a process has used so far, in microseconds (/proc/PID/stat, all its threads). */
function cpuUs(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: (Number(fields[11]) * 1e6) / 100, system: (Number(fields[12]) * 1e6) / 100 };
}

/** The PID a daemon wrote to its pidfile (PgBouncer runs under runuser, which is not it). */
async function pidFromFile(file: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no pid in ${file}`);
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

const suite: Suite = {
  name: 'gateway',
  title: 'pgbench -S: direct, a plain Node.js TCP pipe, PgBouncer (session mode) and pamc',
  async requires() {
    if (!findPostgresBinaries()) return 'no PostgreSQL server binaries under /usr/lib/postgresql';
    if (!(await which('pgbench'))) return 'pgbench is not installed';
    if (!(await which('pgbouncer'))) return 'pgbouncer is not installed (Debian package pgbouncer)';
    return null;
  },
  async run(b: Bench) {
    const pgbenchBin = (await which('pgbench'))!;
    const pgbouncerBin = (await which('pgbouncer'))!;
    const server: PostgresServer = await startPostgres({ isolated: true });
    const children: ChildProcess[] = [];
    // the gateway's folder, which also holds the pipes' scripts and PgBouncer's files
    let gatewayDir: string | null = null;
    try {
      const db = 'bench';
      await server.psql(`CREATE DATABASE ${db}`);
      await run(pgbenchBin, ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(server.port), '-U', server.superuser.user, db], {
        env: { ...process.env, PGPASSWORD: server.superuser.password },
      });

      // pamc: a policy that lets the bench identity run pgbench's select, in a child process
      const pamc = await startPamc(b.root, server, db);
      const { token, port: pamcPort, dir } = pamc;
      gatewayDir = dir;
      const gw = pamc.child;
      children.push(gw);

      const pipePort = await freePort();
      const pipeFile = join(dir, 'pipe.cjs');
      writeFileSync(pipeFile, PIPE_SCRIPT);
      const pipe = spawn(process.execPath, [pipeFile, String(pipePort), String(server.port)], { stdio: 'ignore' });
      children.push(pipe);

      const relayPort = await freePort();
      const relayFile = join(dir, 'relay.cjs');
      writeFileSync(relayFile, RELAY_SCRIPT);
      const relay = spawn(process.execPath, [relayFile, String(relayPort), String(server.port)], { stdio: 'ignore' });
      children.push(relay);

      const bouncerPort = await freePort();
      const ini = join(dir, 'pgbouncer.ini');
      writeFileSync(join(dir, 'users.txt'), `"${server.superuser.user}" "${server.superuser.password}"\n`);
      writeFileSync(
        ini,
        `[databases]
${db} = host=127.0.0.1 port=${server.port} dbname=${db} user=${server.superuser.user} password=${server.superuser.password}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${bouncerPort}
auth_type = trust
auth_file = ${join(dir, 'users.txt')}
pool_mode = session
max_client_conn = 400
default_pool_size = 50
logfile = ${join(dir, 'pgbouncer.log')}
pidfile = ${join(dir, 'pgbouncer.pid')}
unix_socket_dir =
`,
      );
      chmodSync(dir, 0o777);
      const asPostgres = process.getuid?.() === 0;
      const bouncer = asPostgres ? spawn('runuser', ['-u', 'postgres', '--', pgbouncerBin, ini], { stdio: 'ignore' }) : spawn(pgbouncerBin, [ini], { stdio: 'ignore' });
      children.push(bouncer);

      await Promise.all([waitPort(pamcPort, 60_000), waitPort(pipePort), waitPort(relayPort), waitPort(bouncerPort)]);
      const endpoints: Endpoint[] = [
        { name: 'direct', port: server.port, password: server.superuser.password, user: server.superuser.user },
        { name: 'node pipe', port: pipePort, password: server.superuser.password, user: server.superuser.user },
        { name: 'node relay', port: relayPort, password: server.superuser.password, user: server.superuser.user },
        { name: 'pgbouncer', port: bouncerPort, password: '', user: server.superuser.user },
        { name: 'pamc', port: pamcPort, password: token, user: 'bench' },
      ];

      const seconds = b.quick ? 2 : 5;
      const rounds = b.quick ? 1 : 3;
      const modes = ['simple', 'extended', 'prepared'];
      const clientCounts = [1, 8];
      const samples = new Map<string, number[]>();
      // the CPU each proxy spends per transaction (its process, every thread): what it costs
      // the machine, apart from how long a transaction waits
      const proxyPids: Record<string, number> = { 'node pipe': pipe.pid!, 'node relay': relay.pid!, pgbouncer: await pidFromFile(join(dir, 'pgbouncer.pid')), pamc: gw.pid! };
      const cpuSamples = new Map<string, { user: number; system: number }[]>();
      // warm-up: every endpoint, every mode, once
      for (const e of endpoints) for (const m of modes) await pgbench(pgbenchBin, e, db, m, 2, 1);
      for (let r = 0; r < rounds; r++) {
        for (const c of clientCounts) {
          for (const m of modes) {
            const order = r % 2 === 0 ? endpoints : [...endpoints].reverse();
            for (const e of order) {
              const pid = proxyPids[e.name];
              const cpu0 = pid === undefined ? null : cpuUs(pid);
              const tps = await pgbench(pgbenchBin, e, db, m, c, seconds);
              const key = `${m} · ${c} client${c > 1 ? 's' : ''} · ${e.name}`;
              samples.set(key, [...(samples.get(key) ?? []), 1e9 / tps]);
              if (pid !== undefined && cpu0 !== null) {
                const cpu1 = cpuUs(pid);
                const n = tps * seconds;
                cpuSamples.set(key, [...(cpuSamples.get(key) ?? []), { user: (cpu1.user - cpu0.user) / n, system: (cpu1.system - cpu0.system) / n }]);
              }
              b.log(`${key}: ${tps.toFixed(0)} tps`);
            }
          }
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)];
      for (const c of clientCounts) {
        for (const m of modes) {
          const k = (e: string) => `${m} · ${c} client${c > 1 ? 's' : ''} · ${e}`;
          b.record({ name: k('direct'), samplesNs: samples.get(k('direct'))!, baseline: true });
          b.record({ name: k('node pipe'), samplesNs: samples.get(k('node pipe'))!, against: k('direct'), baseline: true });
          b.record({ name: k('pgbouncer'), samplesNs: samples.get(k('pgbouncer'))!, against: k('direct'), baseline: true });
          b.record({
            name: k('node relay vs pgbouncer'),
            samplesNs: samples.get(k('node relay'))!,
            against: k('pgbouncer'),
            note: 'the leanest Node.js relay (onread on both sockets, parses nothing): the floor of a proxy in Node.js',
          });
          b.record({
            name: k('pamc vs pipe'),
            samplesNs: samples.get(k('pamc'))!,
            against: k('node pipe'),
            target: { ratioAtMost: 1, label: 'throughput ≥ the pipe' },
            note: 'time per transaction (1 / tps); ratio ≤ 1 means at least the pipe’s throughput',
          });
          b.record({ name: k('pamc vs pgbouncer'), samplesNs: samples.get(k('pamc'))!, against: k('pgbouncer'), target: { ratioAtMost: 1.1, label: 'within 10% of PgBouncer' } });
          // medians of the total and of each part, so the parts need not add up to the total
          const cpu = (e: string) => {
            const runs = cpuSamples.get(k(e))!;
            const total = median(runs.map((x) => x.user + x.system));
            return `${total.toFixed(1)} µs (user ${median(runs.map((x) => x.user)).toFixed(1)}, system ${median(runs.map((x) => x.system)).toFixed(1)})`;
          };
          b.note(
            `${m} · ${c} client${c > 1 ? 's' : ''}: CPU per transaction`,
            `pipe ${cpu('node pipe')}, relay ${cpu('node relay')}, PgBouncer ${cpu('pgbouncer')}, pamc ${cpu('pamc')}`,
            'the proxy process, all threads, from /proc (10 ms ticks over the run); medians of the total and of each part',
          );
          if (c === 1) {
            const added = (e: string) => median(samples.get(k(e))!) - median(samples.get(k('direct'))!);
            const ratio = added('pamc') / Math.max(1, added('pgbouncer'));
            const relayRatio = added('node relay') / Math.max(1, added('pgbouncer'));
            b.note(
              `${m}: latency added at 1 client`,
              `pamc ${(added('pamc') / 1000).toFixed(1)} µs, PgBouncer ${(added('pgbouncer') / 1000).toFixed(1)} µs, ratio ${ratio.toFixed(2)}; the Node.js relay ${(added('node relay') / 1000).toFixed(1)} µs, ratio ${relayRatio.toFixed(2)}`,
              'target: ≤ 1.2× PgBouncer',
            );
            b.check(`${m}: pamc adds at most 1.2× PgBouncer's latency at 1 client`, ratio <= 1.2, `${ratio.toFixed(2)}×`);
          }
        }
      }

      // Memory with 200 idle sessions
      const before = rssKiB(gw.pid!);
      const clients: pg.Client[] = [];
      for (let i = 0; i < 200; i++) {
        const cl = new pg.Client({ host: '127.0.0.1', port: pamcPort, user: 'bench', password: token, database: db });
        await cl.connect();
        clients.push(cl);
      }
      await new Promise((r) => setTimeout(r, 500));
      const after = rssKiB(gw.pid!);
      await Promise.all(clients.map((cl) => cl.end()));
      b.note('gateway RSS, no sessions', `${(before / 1024).toFixed(1)} MiB`);
      b.note('gateway RSS, 200 idle sessions', `${(after / 1024).toFixed(1)} MiB`, `${((after - before) / 200).toFixed(0)} KiB per session`);
    } finally {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
      if (gatewayDir) rmSync(gatewayDir, { recursive: true, force: true });
      await server.stop();
    }
  },
};

export default suite;
