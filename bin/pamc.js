#!/usr/bin/env node
// The `pamc` command. The sources are TypeScript: they are bundled with esbuild into
// node_modules/.cache/pamc/ on first use and whenever a source file changes, so a cold start
// loads one file instead of compiling hundreds.
import { loadCli } from './load-cli.js';

const { main } = await loadCli();
process.exitCode = await main(process.argv.slice(2));
