// Finding the files of a policy: `pamc check policies/` reads every `.pam` file below the folder;
// files given by name are read as given. The policy root (for paths in the compiled output) is
// the folder given, or the deepest folder containing every file given.

import { readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { readSource, type DecodedSource } from '../language/source.ts';

export interface InputFile {
  /** path relative to the policy root, `/`-separated: what the compiled policy records */
  path: string;
  /** path as the user should see it in diagnostics: relative to the working directory */
  display: string;
  /** the decoded text, or why it could not be decoded (too large, not UTF-8, unreadable) */
  source: DecodedSource;
}

export interface LoadedInput {
  root: string;
  files: InputFile[];
  /** usage problems: a path that does not exist, a folder without `.pam` files */
  problems: string[];
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(full, out);
    else if (e.isFile() && e.name.endsWith('.pam')) out.push(full);
  }
}

function commonDir(paths: string[]): string {
  let common = dirname(paths[0]);
  for (const p of paths.slice(1)) {
    while (!(dirname(p) + sep).startsWith(common.endsWith(sep) ? common : common + sep)) {
      const up = dirname(common);
      if (up === common) break;
      common = up;
    }
  }
  return common;
}

export async function loadPolicyFiles(paths: string[], cwd = process.cwd()): Promise<LoadedInput> {
  const problems: string[] = [];
  const found: string[] = [];
  const dirs: string[] = [];
  for (const p of paths) {
    const full = resolve(cwd, p);
    let st;
    try {
      st = await stat(full);
    } catch {
      problems.push(`\`${p}\` does not exist`);
      continue;
    }
    if (st.isDirectory()) {
      dirs.push(full);
      const before = found.length;
      await walk(full, found);
      if (found.length === before) problems.push(`\`${p}\` holds no .pam files`);
    } else found.push(full);
  }
  const unique = [...new Set(found)].sort();
  const root = dirs.length === 1 && paths.length === 1 ? dirs[0] : unique.length > 0 ? commonDir(unique) : cwd;
  const files: InputFile[] = [];
  for (const full of unique) {
    files.push({
      path: relative(root, full).split(sep).join('/'),
      display: relative(cwd, full) || full,
      source: await readSource(full),
    });
  }
  return { root, files, problems };
}
