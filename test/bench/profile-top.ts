// The heaviest frames of V8 CPU profiles (.cpuprofile, from `node --cpu-prof` or
// `npm run bench -- --profile`): self time and total (inclusive) time per function, summed over
// every file given, so the profiles of several runs of one command add up.
//
//   node --import tsx test/bench/profile-top.ts [--top 25] [--filter text] file.cpuprofile...
//
// Code run through tsx shows up as `file.ts:1` (the profile holds no source maps): names are
// right, lines are not. For line-level figures, profile an esbuild bundle of the code instead.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

interface Frame {
  self: number;
  total: number;
}

function frameName(n: ProfileNode, root: string): string {
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (f.url === '') return name;
  let where = f.url.replace(/^file:\/\//, '');
  where = where.startsWith(root) ? relative(root, where) : where;
  where = where.replace(/^.*node_modules\//, 'node_modules/');
  return `${name} ${where}:${f.lineNumber + 1}`;
}

function add(frames: Map<string, Frame>, profile: Profile, root: string): number {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Time per node from the samples (each sample's time is the delta that follows it).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + dt);
  }
  let total = 0;
  for (const [id, us] of selfUs) {
    total += us;
    const node = byId.get(id);
    if (!node) continue;
    const name = frameName(node, root);
    const f = frames.get(name) ?? { self: 0, total: 0 };
    f.self += us;
    frames.set(name, f);
    // Inclusive time: once per distinct function on the stack (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const nm = frameName(n, root);
      if (seen.has(nm)) continue;
      seen.add(nm);
      const g = frames.get(nm) ?? { self: 0, total: 0 };
      g.total += us;
      frames.set(nm, g);
    }
  }
  return total;
}

function main(): void {
  // `… | head` closing the pipe is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const args = process.argv.slice(2);
  let top = 25;
  let filter: string | null = null;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else if (args[i] === '--filter') filter = args[++i] ?? null;
    else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error('usage: node --import tsx test/bench/profile-top.ts [--top N] [--filter text] file.cpuprofile...');
    process.exitCode = 2;
    return;
  }
  const root = process.cwd();
  const frames = new Map<string, Frame>();
  let totalUs = 0;
  for (const f of files) totalUs += add(frames, JSON.parse(readFileSync(f, 'utf8')) as Profile, root);
  const rows = [...frames.entries()].filter(([n]) => filter === null || n.includes(filter));
  const ms = (us: number) => (us / 1000 / files.length).toFixed(1).padStart(8);
  const pct = (us: number) => ((100 * us) / totalUs).toFixed(1).padStart(5);
  console.log(`${files.length} profile(s), ${(totalUs / 1000 / files.length).toFixed(1)} ms sampled per profile\n`);
  console.log('self ms/profile  self %  function');
  for (const [name, f] of [...rows].sort((a, b) => b[1].self - a[1].self).slice(0, top)) console.log(`${ms(f.self)}  ${pct(f.self)}%  ${name}`);
  console.log('\ntotal ms/profile  total %  function');
  for (const [name, f] of [...rows].sort((a, b) => b[1].total - a[1].total).slice(0, top)) console.log(`${ms(f.total)}  ${pct(f.total)}%  ${name}`);
}

main();
