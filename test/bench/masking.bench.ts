// Masking on a large result (DESIGN.md §7: a 1,000,000-row SELECT through the gateway with
// masks on two columns costs at most 1.3× the same SELECT through the gateway without masks;
// RSS stays flat during the stream). One run: the same SELECT of 1,000,000 rows (an id, three
// text columns, an integer; about 70 MiB on the wire) read to its end
//   - directly from PostgreSQL (the floor),
//   - through the gateway by an identity without masks (the baseline),
//   - through the gateway by an identity with `redact` and `email` on two columns (the target),
//   - and, for information, with `hash` (HMAC-SHA-256 per value) on the same two columns.
// The gateway is `pamc serve` in a process of its own; the client is a minimal protocol reader
// in the bench process (it frames messages and counts DataRows, nothing more), so the times are
// the server's and the gateway's. The gateway's RSS is sampled every 50 ms during the masked
// runs.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startGateway, type GatewayFixture } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';
import { postgresUnavailableReason } from '../support/postgres-server.ts';
import type { Suite } from './lib/suite.ts';

const ROWS = 1_000_000;
const QUERY = 'SELECT id, name, ssn, email, n FROM people';
const HASH_ENV = 'PAMC_BENCH_MASK_KEY';

const SETUP = `
CREATE TABLE people AS
  SELECT g AS id, 'name-' || g AS name, 'ssn-' || lpad(g::text, 9, '0') AS ssn, 'user' || g || '@example.com' AS email, g * 7 AS n
    FROM generate_series(1, ${ROWS}) g;
ANALYZE people;
`;

const RULES = `
group "plain" {
  on db {
    allow read on public.*
  }
}
group "masked" {
  on db {
    allow read on public.*
    mask public.people.ssn with redact
    mask public.people.email with email
  }
}
group "hashed" {
  on db {
    allow read on public.*
    mask public.people.ssn, public.people.email with hash
  }
}`;

/** A connection that runs one simple query at a time and counts the DataRows of its result. */
class Reader {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((rows: number) => void) | null = null;
  private failed: ((e: Error) => void) | null = null;
  private rows = 0;
  private constructor(private readonly socket: Socket) {}

  static async open(port: number, user: string, database: string, password: string | null): Promise<Reader> {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const r = new Reader(socket);
    socket.on('data', (d: Buffer) => r.onData(d));
    const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
    const head = Buffer.alloc(8);
    head.writeInt32BE(8 + params.length, 0);
    head.writeInt32BE(196608, 4);
    const ready = r.next(password);
    socket.write(Buffer.concat([head, params]));
    await ready;
    return r;
  }

  private password: string | null = null;

  private next(password: string | null = null): Promise<number> {
    this.password = password;
    this.rows = 0;
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let off = 0;
    while (this.buf.length - off >= 5) {
      const type = this.buf[off];
      const len = this.buf.readInt32BE(off + 1);
      if (this.buf.length - off < len + 1) break;
      if (type === 0x44) this.rows++;
      else if (type === 0x5a) {
        const w = this.waiting;
        this.waiting = null;
        w?.(this.rows);
      } else if (type === 0x45) {
        this.failed?.(new Error(`server error: ${this.buf.subarray(off + 5, off + 1 + len).toString('latin1').replace(/\0/g, ' ')}`));
      } else if (type === 0x52 && this.buf.readInt32BE(off + 5) === 3) {
        // cleartext password: the gateway's token
        const pw = Buffer.from(`${this.password ?? ''}\0`);
        const m = Buffer.alloc(5);
        m[0] = 0x70;
        m.writeInt32BE(4 + pw.length, 1);
        this.socket.write(Buffer.concat([m, pw]));
      }
      off += len + 1;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }

  /** Runs the query, resolves to the number of rows once ReadyForQuery arrives. */
  query(sql: string): Promise<number> {
    const done = this.next();
    const body = Buffer.from(`${sql}\0`);
    const m = Buffer.alloc(5);
    m[0] = 0x51;
    m.writeInt32BE(4 + body.length, 1);
    this.socket.write(Buffer.concat([m, body]));
    return done;
  }

  close(): void {
    this.socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
  }
}

/** The process's CPU time (user + system), in nanoseconds (clock ticks of 10 ms). */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 1e7;
}

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
}

const suite: Suite = {
  name: 'masking',
  title: 'a 1,000,000-row SELECT: directly, through the gateway without masks, with masks on two columns',
  requires() {
    return postgresUnavailableReason();
  },
  async run(b) {
    process.env[HASH_ENV] = 'bench-hash-key';
    b.log('masking: loading 1,000,000 rows');
    let gw: GatewayFixture | null = null;
    let serve: ChildProcess | null = null;
    const readers: Reader[] = [];
    try {
      gw = await startGateway({ setup: SETUP, rules: RULES, targetSettings: `masking { hash_key env "${HASH_ENV}" }` });
      await gw.pg.psql(`GRANT SELECT ON people TO ${gw.pg.users.trust.user}`, { user: gw.pg.users.scram, database: gw.database });
      const port = await freePort();
      const flags = b.profileDir !== null ? ['--cpu-prof', `--cpu-prof-dir=${join(b.profileDir, 'gateway')}`] : [];
      serve = spawn(process.execPath, [...flags, join(b.root, 'bin', 'pamc.js'), 'serve', gw.dir, '--listen', `db=127.0.0.1:${port}`, '--admin', 'none', '--log-level', 'warn', '--no-watch'], {
        env: process.env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitForPort(port);
      const direct = await Reader.open(gw.pg.port, gw.pg.users.trust.user, gw.database, null);
      const plain = await Reader.open(port, 'agent', gw.database, await gw.token(['plain']));
      const masked = await Reader.open(port, 'agent', gw.database, await gw.token(['masked']));
      const hashed = await Reader.open(port, 'agent', gw.database, await gw.token(['hashed']));
      readers.push(direct, plain, masked, hashed);

      const pid = serve.pid!;
      const rss: number[] = [];
      let sampling = false;
      const sampler = setInterval(() => {
        if (sampling) rss.push(rssOf(pid));
      }, 50);
      const counted = new Map<string, number[]>();
      const cpu = new Map<string, number[]>();
      const runOf = (name: string, r: Reader, sample = false) => async () => {
        sampling = sample;
        const before = cpuOf(pid);
        const rows = await r.query(QUERY);
        const used = cpuOf(pid) - before;
        sampling = false;
        counted.set(name, [...(counted.get(name) ?? []), rows]);
        cpu.set(name, [...(cpu.get(name) ?? []), used]);
        return rows === ROWS;
      };
      const idleRss = rssOf(pid);
      await b.runs(
        [
          { name: 'direct to PostgreSQL', fn: runOf('direct', direct), note: 'the same SELECT, no gateway' },
          { name: 'gateway, no masks', fn: runOf('plain', plain), baseline: true, against: 'direct to PostgreSQL', note: 'relayed as it came' },
          { name: 'gateway, masks on two columns', fn: runOf('masked', masked, true), against: 'gateway, no masks', target: { ratioAtMost: 1.3 }, note: '`redact` on ssn, `email` on email' },
          { name: 'gateway, hash on two columns', fn: runOf('hashed', hashed), against: 'gateway, no masks', note: 'HMAC-SHA-256 of every value (reported, not judged)' },
        ],
        { warmup: 1, runs: b.quick ? 3 : 7 },
      );
      clearInterval(sampler);
      // The gateway's own CPU time per run: what masking costs it, whatever else shares the
      // machine (wall times on a busy 2-core machine move with the neighbours).
      b.record({ name: 'gateway CPU per run, no masks', samplesNs: (cpu.get('plain') ?? []).slice(1), baseline: true, note: 'user + system time of the gateway process (10 ms ticks)' });
      b.record({ name: 'gateway CPU per run, masks on two columns', samplesNs: (cpu.get('masked') ?? []).slice(1), against: 'gateway CPU per run, no masks' });
      b.record({ name: 'gateway CPU per run, hash on two columns', samplesNs: (cpu.get('hashed') ?? []).slice(1), against: 'gateway CPU per run, no masks' });
      b.check(`every run read ${ROWS} rows`, [...counted.values()].every((l) => l.every((n) => n === ROWS)));
      if (rss.length > 0) {
        const settled = rss.slice(Math.min(20, Math.floor(rss.length / 4)));
        const lo = Math.min(...settled);
        const hi = Math.max(...settled);
        b.note('gateway RSS while streaming (masked)', `${(hi / 1048576).toFixed(0)} MiB peak, ${((hi - lo) / 1048576).toFixed(1)} MiB range`, `${rss.length} samples every 50 ms; idle before the runs ${(idleRss / 1048576).toFixed(0)} MiB`);
        b.check('the gateway\'s RSS stays flat while it streams (range under 32 MiB)', hi - lo < 32 * 1048576, `${((hi - lo) / 1048576).toFixed(1)} MiB`);
      }
      b.note('rows per run', ROWS.toLocaleString('en-US'));
    } finally {
      for (const r of readers) r.close();
      serve?.kill('SIGTERM');
      await gw?.close();
    }
  },
};

export default suite;
