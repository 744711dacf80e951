// The benchmark runner: `npm run bench [-- <suite>...] [--quick] [--strict] [--profile] [--list]`.
//
// Runs the suites test/bench/*.bench.ts, each in its own child process (started with
// --expose-gc, so one suite's heap and JIT state never colour another's). Inside a suite every
// case is measured against its baseline in the same process, interleaved round by round.
// Prints the machine, a markdown table per suite and a summary on stdout (progress goes to
// stderr), and writes everything as JSON to test/bench/results/latest.json.
// Benchmarks report; they do not fail a build unless --strict is given.

import { fork } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeMachine } from './lib/machine.ts';
import { measureOps, measureRuns } from './lib/measure.ts';
import {
  renderHeader,
  renderSuite,
  renderSummary,
  summarizeReport,
  toRows,
  type BenchReport,
  type RowSpec,
  type SuiteResult,
} from './lib/report.ts';
import { summarize, type Measurement } from './lib/stats.ts';
import type { Bench, Suite } from './lib/suite.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const SUFFIX = '.bench.ts';

interface Options {
  names: string[];
  quick: boolean;
  strict: boolean;
  profile: boolean;
  list: boolean;
  out: string;
  child: string | null;
  profileDir: string | null;
}

const USAGE = `usage: npm run bench -- [suite...] [--quick] [--strict] [--profile] [--list] [--out file.json]
  suite      run only these suites (default: all of test/bench/*.bench.ts)
  --quick    shorter warm-ups and budgets: a smoke run, not figures to quote
  --strict   exit 1 when a target is missed or a check fails
  --profile  write a V8 CPU profile per suite (and per spawned pamc) under test/bench/results/profiles/
  --list     list the suites and whether each can run here
  --out      where to write the JSON (default test/bench/results/latest.json)`;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    names: [],
    quick: false,
    strict: false,
    profile: false,
    list: false,
    out: join(here, 'results', 'latest.json'),
    child: null,
    profileDir: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--strict') o.strict = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--list') o.list = true;
    else if (a === '--out') o.out = resolve(argv[++i] ?? '');
    else if (a === '--child') o.child = argv[++i] ?? null;
    else if (a === '--profile-dir') o.profileDir = argv[++i] ?? null;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) {
      console.error(`unknown option ${a}\n${USAGE}`);
      process.exit(2);
    } else o.names.push(a);
  }
  return o;
}

function suiteFiles(): Map<string, string> {
  const files = readdirSync(here)
    .filter((f) => f.endsWith(SUFFIX))
    .sort();
  return new Map(files.map((f) => [f.slice(0, -SUFFIX.length), join(here, f)]));
}

async function loadSuite(file: string): Promise<Suite> {
  const mod = (await import(pathToFileURL(file).href)) as { default?: Suite };
  const s = mod.default;
  if (s === undefined || typeof s.run !== 'function' || typeof s.name !== 'string') {
    throw new Error(`${relative(root, file)} does not default-export a Suite`);
  }
  return s;
}

// ---- the child: one suite ------------------------------------------------------------------

function makeBench(o: Options, result: SuiteResult, measured: { m: Measurement; spec: RowSpec }[]): Bench {
  const spec = (c: RowSpec): RowSpec => ({ baseline: c.baseline, against: c.against, target: c.target, note: c.note });
  return {
    quick: o.quick,
    profileDir: o.profileDir,
    root,
    async ops(cases, options = {}) {
      const ms = await measureOps(cases, options, o.quick);
      ms.forEach((m, i) => measured.push({ m, spec: spec(cases[i]) }));
      return ms;
    },
    async runs(cases, options = {}) {
      const ms = await measureRuns(cases, options, o.quick);
      ms.forEach((m, i) => measured.push({ m, spec: spec(cases[i]) }));
      return ms;
    },
    record(row) {
      measured.push({ m: summarize(row.name, 'external', row.samplesNs, 1, row.perOperation === true), spec: spec(row) });
    },
    note(label, value, detail) {
      result.notes.push({ label, value, detail: detail ?? null });
    },
    check(label, ok, detail) {
      result.checks.push({ label, ok, detail: detail ?? null });
    },
    log(message) {
      process.stderr.write(`[${result.name}] ${message}\n`);
    },
  };
}

async function runChild(o: Options, file: string): Promise<void> {
  const started = Date.now();
  const load0 = loadavg()[0];
  const result: SuiteResult = { name: '', title: '', status: 'ran', reason: null, durationMs: 0, load: null, rows: [], notes: [], checks: [] };
  const measured: { m: Measurement; spec: RowSpec }[] = [];
  try {
    const suite = await loadSuite(file);
    result.name = suite.name;
    result.title = suite.title;
    const bench = makeBench(o, result, measured);
    const missing = suite.requires ? await suite.requires(bench) : null;
    if (missing !== null) {
      result.status = 'skipped';
      result.reason = missing;
    } else await suite.run(bench);
  } catch (e) {
    result.status = 'failed';
    result.reason = (e as Error).stack?.split('\n').slice(0, 4).join(' ⏎ ') ?? String(e);
  }
  result.rows = toRows(measured);
  const names = new Set(result.rows.map((r) => r.name));
  for (const r of result.rows) {
    if (r.against !== null && !names.has(r.against)) result.checks.push({ label: `${r.name}: its baseline \`${r.against}\` is not a row of the suite`, ok: false, detail: null });
  }
  result.durationMs = Date.now() - started;
  result.load = { start: load0, end: loadavg()[0] };
  await new Promise<void>((resolveSend) => process.send!({ type: 'result', result }, () => resolveSend()));
}

// ---- the parent ----------------------------------------------------------------------------

function runSuiteProcess(o: Options, name: string, file: string): Promise<SuiteResult> {
  const args = ['--child', file];
  if (o.quick) args.push('--quick');
  const execArgv = [...process.execArgv, '--expose-gc'];
  if (o.profile) {
    const dir = join(here, 'results', 'profiles', name);
    mkdirSync(dir, { recursive: true });
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
    args.push('--profile-dir', dir);
  }
  const started = Date.now();
  return new Promise((resolveResult) => {
    let result: SuiteResult | null = null;
    const child = fork(fileURLToPath(import.meta.url), args, {
      cwd: root,
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (msg: { type?: string; result?: SuiteResult }) => {
      if (msg.type === 'result' && msg.result) result = msg.result;
    });
    child.on('exit', (code, signal) => {
      resolveResult(
        result ?? {
          name,
          title: '',
          status: 'failed',
          reason: `the suite's process ended (${signal ?? `exit code ${code}`}) without a result`,
          durationMs: Date.now() - started,
          load: null,
          rows: [],
          notes: [],
          checks: [],
        },
      );
    });
  });
}

async function listSuites(files: Map<string, string>): Promise<void> {
  // Loading a suite runs its module's top level (parsers, compilers): list in a child per suite.
  for (const [name, file] of files) {
    const r = await runSuiteProcessList(file);
    console.log(`${name.padEnd(12)} ${r}`);
  }
}

function runSuiteProcessList(file: string): Promise<string> {
  return new Promise((resolveLine) => {
    let line = 'could not be loaded';
    const child = fork(fileURLToPath(import.meta.url), ['--child-list', file], {
      cwd: root,
      execArgv: process.execArgv,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.on('message', (msg: { line?: string }) => {
      if (msg.line !== undefined) line = msg.line;
    });
    child.on('exit', () => resolveLine(line));
  });
}

async function childList(file: string): Promise<void> {
  const suite = await loadSuite(file);
  const o = parseArgs([]);
  const bench = makeBench(o, { name: suite.name, title: suite.title, status: 'ran', reason: null, durationMs: 0, load: null, rows: [], notes: [], checks: [] }, []);
  const missing = suite.requires ? await suite.requires(bench) : null;
  const line = `${suite.title}${missing === null ? '' : ` (skipped here: ${missing})`}`;
  await new Promise<void>((r) => process.send!({ line }, () => r()));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child-list') return childList(argv[1]);
  const o = parseArgs(argv);
  if (o.child !== null) return runChild(o, o.child);

  const files = suiteFiles();
  if (o.list) return listSuites(files);
  const unknown = o.names.filter((n) => !files.has(n));
  if (unknown.length > 0) {
    console.error(`unknown suite${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; available: ${[...files.keys()].join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const chosen = o.names.length > 0 ? o.names : [...files.keys()];
  const machine = describeMachine(root);
  const date = new Date().toISOString();
  console.log(renderHeader(machine, date));
  if (o.quick) console.log('_--quick: short budgets, for a smoke run; do not quote these figures_\n');
  const suites: SuiteResult[] = [];
  for (const name of chosen) {
    process.stderr.write(`[${name}] starting\n`);
    const r = await runSuiteProcess(o, name, files.get(name)!);
    if (r.name === '') r.name = name;
    suites.push(r);
    console.log(renderSuite(r));
  }
  const report: BenchReport = { date, machine, options: { quick: o.quick, suites: chosen }, suites, summary: summarizeReport(suites) };
  console.log(renderSummary(report));
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(report, null, 2) + '\n');
  console.log(`Results written to ${relative(process.cwd(), o.out) || o.out}`);
  const s = report.summary;
  if (s.failed.length > 0 || (o.strict && (s.miss > 0 || s.failedChecks > 0))) process.exitCode = 1;
}

await main();
