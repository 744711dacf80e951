#!/usr/bin/env node
// The `pamc` command. The sources are TypeScript: they are bundled with esbuild into
// node_modules/.cache/pamc/ on first use and whenever a source file changes, so a cold start
// loads one file instead of compiling hundreds.
import { loadCli } from './load-cli.js';

// A reader that goes away (`pamc compile … | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const { main } = await loadCli();
process.exitCode = await main(process.argv.slice(2));
