// `pamc check` from a cold start (DESIGN.md §7: under 300 ms on the examples), against a bare
// `node -e 0` in the same run; and compiling a generated 10,000-rule policy in process (under
// 1 s), against parsing the same text alone.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { analysisCheck } from '../../compiler/analysis/index.ts';
import { compileFiles } from '../../compiler/index.ts';
import { parsePolicy } from '../../language/index.ts';
import { decodeSource } from '../../language/source.ts';
import { generatePolicy } from './lib/policy-gen.ts';
import type { RunOutcome, Suite } from './lib/suite.ts';

const EXAMPLES = [
  { name: 'quickstart', path: 'examples/quickstart' },
  { name: 'crewai', path: 'examples/crewai' },
  { name: 'multi-file', path: 'examples/multi-file/policies' },
];

const LARGE = 10_000;

/** The line of a failed run's output that says what went wrong (not the stack's location line). */
function firstError(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.find((l) => /error|cannot|not found|failed/i.test(l) && !l.startsWith('at ')) ?? lines[0] ?? '(no output)';
}

const suite: Suite = {
  name: 'check',
  title: '`pamc check` from a cold start, and compiling a 10,000-rule policy in process',
  requires(b) {
    if (!existsSync(join(b.root, 'bin', 'pamc.js'))) return 'bin/pamc.js is missing';
    const missing = EXAMPLES.filter((e) => !existsSync(join(b.root, e.path)));
    return missing.length > 0 ? `missing examples: ${missing.map((e) => e.path).join(', ')}` : null;
  },
  async run(b) {
    const bundle = join(b.root, 'node_modules', '.cache', 'pamc', 'cli.mjs');
    const stamp = () => (existsSync(bundle) ? statSync(bundle).mtimeMs : 0);
    let rebuilt = 0;
    const preload = ['--import', pathToFileURL(join(b.root, 'test', 'bench', 'lib', 'report-cpu.mjs')).href];
    /** CPU milliseconds per case, read from what report-cpu.mjs prints at exit */
    const cpu = new Map<string, number[]>();
    const node = (label: string, args: string[]) => {
      const r = spawnSync(process.execPath, [...preload, ...args], { cwd: b.root, stdio: 'pipe', env: { ...process.env, FORCE_COLOR: '0' } });
      const m = /\[pamc-bench-cpu-us\] (\d+)/.exec(r.stderr.toString());
      if (m) cpu.set(label, [...(cpu.get(label) ?? []), Number(m[1]) / 1000]);
      return r;
    };
    /** A pamc run; discarded when the bundle was rebuilt during it (someone edited a source file). */
    const pamc = (args: string[], label = `pamc ${args.join(' ')}`) => (): RunOutcome => {
      const before = stamp();
      const flags = b.profileDir !== null ? ['--cpu-prof', `--cpu-prof-dir=${join(b.profileDir, 'pamc')}`] : [];
      const r = node(label, [...flags, 'bin/pamc.js', ...args]);
      if (stamp() !== before) {
        rebuilt++;
        cpu.get(label)?.pop();
        return 'discard';
      }
      if (r.status !== 0) throw new Error(`pamc ${args.join(' ')} exited with ${r.status}: ${firstError(r.stderr.toString() || r.stdout.toString())}`);
      return true;
    };
    await b.runs(
      [
        { name: 'node -e 0', fn: () => node('node -e 0', ['-e', '0']).status === 0, baseline: true, note: 'a bare Node.js start and exit' },
        { name: 'pamc --version', fn: pamc(['--version']), against: 'node -e 0', note: 'the CLI loading, no command' },
        ...EXAMPLES.map((e) => ({
          name: `pamc check ${e.path}`,
          fn: pamc(['check', e.path]),
          against: 'node -e 0',
          target: { medianBelowNs: 300e6 },
        })),
      ],
      { warmup: 1, runs: b.quick ? 5 : 15 },
    );

    const gen = generatePolicy(LARGE);
    const text = gen.text;
    const inputs = () => [{ path: 'policy.pam', display: 'policy.pam', source: decodeSource(Buffer.from(text, 'utf8'), 'policy.pam') }];
    const compile = () => {
      const out = compileFiles(inputs());
      const errors = out.diagnostics.filter((d) => d.severity === 'error');
      if (out.policy === null || errors.length > 0) throw new Error(`the generated policy does not compile: ${errors[0]?.message ?? 'no policy'}`);
      return true;
    };
    const t0 = process.hrtime.bigint();
    compile();
    b.note('first compile in this process', `${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`, 'JIT cold, built-in data loaded on first use');
    b.note('the 10,000-rule policy', `${(text.length / 1024).toFixed(0)} KiB, ${text.split('\n').length} lines, ${gen.rules.length} rules`);
    await b.runs(
      [
        { name: `compile ${LARGE.toLocaleString('en')} rules (in process)`, fn: compile, against: 'parse alone', target: { medianBelowNs: 1e9 } },
        {
          name: 'parse alone',
          fn: () => parsePolicy(decodeSource(Buffer.from(text, 'utf8'), 'policy.pam').text, 'policy.pam').diagnostics.length === 0,
          baseline: true,
          note: 'language/ only: decode, lex, parse, CST → AST',
        },
      ],
      { warmup: 1, runs: b.quick ? 3 : 9 },
    );

    // What `pamc check` adds on a large policy: the analysis of the decision tables, in process
    // and from a cold start. Slow, so few runs.
    const small = generatePolicy(LARGE / 10).text;
    const smallInputs = () => [{ path: 'policy.pam', display: 'policy.pam', source: decodeSource(Buffer.from(small, 'utf8'), 'policy.pam') }];
    const dir = mkdtempSync(join(tmpdir(), 'pamc-bench-'));
    const file = join(dir, 'policy.pam');
    writeFileSync(file, text);
    try {
      await b.runs(
        [
          {
            name: `compile + analysis, ${LARGE.toLocaleString('en')} rules (in process)`,
            fn: () => compileFiles(inputs(), undefined, [analysisCheck]).policy !== null,
            against: `compile ${LARGE.toLocaleString('en')} rules (in process)`,
            note: 'what `pamc check` runs: the compiler plus the analysis of the decision tables (PAM4001-4006)',
          },
          {
            name: `compile + analysis, ${(LARGE / 10).toLocaleString('en')} rules (in process)`,
            fn: () => compileFiles(smallInputs(), undefined, [analysisCheck]).policy !== null,
            note: 'the same at a tenth of the size: how the analysis scales',
          },
          {
            name: `pamc check (the ${LARGE.toLocaleString('en')}-rule policy)`,
            fn: pamc(['check', file], 'pamc check (10,000 rules)'),
            against: 'node -e 0',
            note: 'the same from a cold start',
          },
        ],
        { warmup: 0, runs: b.quick ? 1 : 3 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
    b.note(
      'CPU time per run (median, user + system, all threads)',
      [...cpu.entries()].filter(([, xs]) => xs.length > 0).map(([label, xs]) => `${label} ${median(xs).toFixed(0)} ms`).join(' · '),
      'what a run costs, whatever the load: wall time on a busy machine also counts waiting for a CPU',
    );
    if (rebuilt > 0) b.note('runs discarded', rebuilt, 'the CLI bundle was rebuilt during them (a source file changed), so they were repeated');
    if (b.profileDir !== null) b.note('profiling', 'on', 'the pamc runs were profiled (--cpu-prof): their times are inflated');
  },
};

export default suite;
