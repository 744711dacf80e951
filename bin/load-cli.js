// Loads bin/cli.ts through a bundle that is rebuilt when any of its inputs changed.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules', '.cache', 'pamc');
const bundle = join(cacheDir, 'cli.mjs');
const manifest = join(cacheDir, 'cli.inputs.json');

// Packages that load files next to their own code (WASM) stay outside the bundle.
const external = ['libpg-query', '@electric-sql/pglite', '@electric-sql/pglite-socket', 'pg', 'postgres', 'ssh2', 'esbuild', 'tsx'];

function isFresh() {
  if (!existsSync(bundle) || !existsSync(manifest)) return false;
  try {
    const inputs = JSON.parse(readFileSync(manifest, 'utf8'));
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
  const result = await esbuild.build({
    entryPoints: [join(root, 'bin', 'cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    minifyWhitespace: true,
    minifySyntax: true,
    external,
    absWorkingDir: root,
    outfile: bundle,
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
  const lock = statSync(join(root, 'package-lock.json'));
  inputs['package-lock.json'] = `${lock.size}:${lock.mtimeMs}`;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  writeFileSync(tmp, result.outputFiles[0].contents);
  renameSync(tmp, bundle);
  const tmpManifest = `${manifest}.${process.pid}.tmp`;
  writeFileSync(tmpManifest, JSON.stringify(inputs));
  renameSync(tmpManifest, manifest);
}

export async function loadCli() {
  if (process.env.PAMC_NO_BUNDLE === '1') {
    const { register } = await import('tsx/esm/api');
    register();
    return import(pathToFileURL(join(root, 'bin', 'cli.ts')).href);
  }
  if (!isFresh()) await build();
  return import(pathToFileURL(bundle).href);
}
