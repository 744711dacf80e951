// Loads bin/cli.ts through a bundle that is rebuilt when any of its inputs changed.
//
// The bundle is split per command (esbuild `splitting`): a run loads the entry and the chunks of
// the command it runs. Each build goes into a folder of its own under node_modules/.cache/pamc/;
// a pointer file, replaced atomically, names the current one, so concurrent runs and rebuilds
// never see half a build.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules', '.cache', 'pamc');
const pointer = join(cacheDir, 'current');

// Packages that load files next to their own code (WASM) stay outside the bundle.
const external = ['libpg-query', '@electric-sql/pglite', '@electric-sql/pglite-socket', 'pg', 'postgres', 'ssh2', 'esbuild', 'tsx'];

function current() {
  try {
    const dir = readFileSync(pointer, 'utf8').trim();
    return dir ? join(cacheDir, dir) : null;
  } catch {
    return null;
  }
}

function isFresh(dir) {
  if (!dir || !existsSync(join(dir, 'cli.js'))) return false;
  try {
    const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
    for (const [file, stamp] of Object.entries(inputs)) {
      const s = statSync(join(root, file));
      if (`${s.size}:${s.mtimeMs}` !== stamp) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function build() {
  const esbuild = await import('esbuild');
  const name = `build-${Date.now().toString(36)}-${process.pid}`;
  const outdir = join(cacheDir, name);
  const result = await esbuild.build({
    entryPoints: { cli: join(root, 'bin', 'cli.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    minifyWhitespace: true,
    minifySyntax: true,
    external,
    absWorkingDir: root,
    outdir,
    // Bundled CommonJS modules still need require() in an ES module.
    banner: { js: "import { createRequire as __pamcCreateRequire } from 'node:module'; const require = __pamcCreateRequire(import.meta.url);" },
    logLevel: 'silent',
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    if (file.includes('node_modules/')) continue;
    const s = statSync(join(root, file));
    inputs[file] = `${s.size}:${s.mtimeMs}`;
  }
  // the build's own options live here: a change to them is a change of every build
  for (const file of ['package-lock.json', 'bin/load-cli.js']) {
    const st = statSync(join(root, file));
    inputs[file] = `${st.size}:${st.mtimeMs}`;
  }
  mkdirSync(outdir, { recursive: true });
  for (const f of result.outputFiles) writeFileSync(f.path, f.contents);
  writeFileSync(join(outdir, 'inputs.json'), JSON.stringify(inputs));
  const tmp = `${pointer}.${process.pid}.tmp`;
  writeFileSync(tmp, name);
  renameSync(tmp, pointer);
  // Older builds: a run that started with one may still be loading its chunks, so keep a few.
  const builds = readdirSync(cacheDir)
    .filter((d) => d.startsWith('build-') && d !== name)
    .map((d) => ({ d, t: statSync(join(cacheDir, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of builds.slice(3)) rmSync(join(cacheDir, d), { recursive: true, force: true });
  return outdir;
}

export async function loadCli() {
  if (process.env.PAMC_NO_BUNDLE === '1') {
    const { register } = await import('tsx/esm/api');
    register();
    return import(pathToFileURL(join(root, 'bin', 'cli.ts')).href);
  }
  let dir = current();
  if (!isFresh(dir)) dir = await build();
  return import(pathToFileURL(join(dir, 'cli.js')).href);
}
