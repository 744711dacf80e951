// Finding test files: `pamc test a.pamtest examples/` takes files as given and every
// `*.pamtest` file below a folder (hidden folders and node_modules skipped), in path order.

import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const TEST_FILE_SUFFIX = '.pamtest';

export interface Discovered {
  /** absolute paths, sorted, without duplicates */
  files: string[];
  /** usage problems: a path that does not exist */
  problems: string[];
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(full, out);
    else if (e.isFile() && e.name.endsWith(TEST_FILE_SUFFIX)) out.push(full);
  }
}

export async function discoverTestFiles(paths: readonly string[], cwd = process.cwd()): Promise<Discovered> {
  const problems: string[] = [];
  const found: string[] = [];
  for (const p of paths.length > 0 ? paths : ['.']) {
    const full = resolve(cwd, p);
    let st;
    try {
      st = await stat(full);
    } catch {
      problems.push(`\`${p}\` does not exist`);
      continue;
    }
    if (st.isDirectory()) await walk(full, found);
    else if (full.endsWith(TEST_FILE_SUFFIX)) found.push(full);
    else problems.push(`\`${p}\` is not a ${TEST_FILE_SUFFIX} file${full.endsWith('.pam') ? ' (it is a policy: give its tests, or their folder)' : ''}`);
  }
  return { files: [...new Set(found)].sort(), problems };
}
