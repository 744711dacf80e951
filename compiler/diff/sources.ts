// Where the two sides of a diff come from: policy files on disk, or the same files as a git
// revision holds them, read with `git ls-tree` and `git cat-file` (nothing is checked out).
//
//   pamc diff old/ new/                 two folders (or files)
//   pamc diff main HEAD -- policies/    two revisions, the policy under policies/ in each
//   pamc diff main policies/            the revision against the working tree, same paths
//
// Without `--`, an argument that exists on disk is a path and anything else a revision; after
// `--` come the paths a revision side reads (the other side's paths when it is a path, else `.`).

import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { posix, relative, resolve, sep } from 'node:path';
import { decodeSource } from '../../language/source.ts';
import { loadPolicyFiles, type InputFile } from '../sources.ts';

export interface LoadedSide {
  /** the argument as given: a path or a revision */
  label: string;
  files: InputFile[];
  /** compiled source path → path shown to the reader */
  display: (sourcePath: string) => string;
  problems: string[];
}

export class SideError extends Error {}

function git(args: string[], cwd: string, input?: string): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile('git', args, { cwd, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const message = String(stderr).trim().split('\n')[0] || err.message;
        reject(new SideError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'git is not installed' : message));
      } else resolvePromise(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function isRevision(rev: string, cwd: string): Promise<boolean> {
  if (rev.startsWith('-')) return false;
  try {
    await git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], cwd);
    return true;
  } catch {
    return false;
  }
}

async function fromPaths(label: string, paths: string[], cwd: string): Promise<LoadedSide> {
  const loaded = await loadPolicyFiles(paths, cwd);
  const byPath = new Map(loaded.files.map((f) => [f.path, f.display]));
  return { label, files: loaded.files, display: (p) => byPath.get(p) ?? p, problems: loaded.problems };
}

function commonDir(paths: string[]): string {
  let common = posix.dirname(paths[0]);
  for (const p of paths.slice(1)) {
    while (common !== '.' && !p.startsWith(`${common}/`)) common = posix.dirname(common);
  }
  return common;
}

async function fromRevision(rev: string, paths: string[], cwd: string): Promise<LoadedSide> {
  const top = (await git(['rev-parse', '--show-toplevel'], cwd)).toString('utf8').trim();
  // Pathspecs are relative to the working directory; ls-tree answers with paths from the top.
  const listing = await git(['ls-tree', '-r', '-z', '--full-name', '--name-only', rev, '--', ...paths], cwd);
  const names = listing
    .toString('utf8')
    .split('\0')
    .filter((n) => n.endsWith('.pam') && !n.split('/').some((part) => part.startsWith('.') || part === 'node_modules'))
    .sort();
  const problems: string[] = [];
  if (names.length === 0) problems.push(`${rev} holds no .pam files in ${paths.map((p) => `\`${p}\``).join(', ')}`);
  const contents = names.length > 0 ? await catFiles(rev, names, top) : [];
  // The policy root, as for paths on disk: the folder given, else the deepest common folder.
  const fromTop = (p: string) => relative(top, resolve(cwd, p)).split(sep).join('/');
  let root: string;
  if (paths.length === 1 && !names.includes(fromTop(paths[0]))) root = fromTop(paths[0]);
  else root = names.length > 0 ? commonDir(names) : '.';
  if (root === '') root = '.';
  const rel = (full: string) => (root === '.' ? full : posix.relative(root, full));
  const shown = new Map<string, string>();
  const files: InputFile[] = names.map((full, i) => {
    const path = rel(full);
    const display = `${rev}:${relative(cwd, resolve(top, full)).split(sep).join('/')}`;
    shown.set(path, display);
    return { path, display, source: decodeSource(contents[i], display) };
  });
  return { label: rev, files, display: (p) => shown.get(p) ?? p, problems };
}

/** Reads blobs through one `git cat-file --batch`: `<sha> blob <size>\n<bytes>\n` per object. */
async function catFiles(rev: string, names: string[], top: string): Promise<Buffer[]> {
  const out = await git(['cat-file', '--batch'], top, names.map((n) => `${rev}:${n}\n`).join(''));
  const blobs: Buffer[] = [];
  let at = 0;
  for (const name of names) {
    const nl = out.indexOf(10, at);
    const header = out.subarray(at, nl).toString('utf8');
    const m = /^[0-9a-f]+ blob (\d+)$/.exec(header);
    if (!m) throw new SideError(`cannot read ${rev}:${name} (${header})`);
    const size = Number(m[1]);
    blobs.push(out.subarray(nl + 1, nl + 1 + size));
    at = nl + 1 + size + 1;
  }
  return blobs;
}

export interface SideSpecs {
  base: string;
  head: string;
  /** paths after `--` */
  paths: string[];
}

/** Loads both sides; SideError for an argument that is neither a path nor a revision. */
export async function loadSides(spec: SideSpecs, cwd = process.cwd()): Promise<{ base: LoadedSide; head: LoadedSide }> {
  const explicit = spec.paths.length > 0;
  const kindOf = async (arg: string): Promise<'path' | 'revision'> => {
    if (!explicit && (await exists(resolve(cwd, arg)))) return 'path';
    if (await isRevision(arg, cwd)) return 'revision';
    throw new SideError(
      explicit ? `\`${arg}\` is not a git revision (before \`--\` come two revisions)` : `\`${arg}\` is neither a file or folder nor a git revision`,
    );
  };
  const [kb, kh] = await Promise.all([kindOf(spec.base), kindOf(spec.head)]);
  const pathsFor = (other: string, otherKind: 'path' | 'revision') => (explicit ? spec.paths : otherKind === 'path' ? [other] : ['.']);
  const load = (arg: string, kind: 'path' | 'revision', other: string, otherKind: 'path' | 'revision') =>
    kind === 'path' ? fromPaths(arg, [arg], cwd) : fromRevision(arg, pathsFor(other, otherKind), cwd);
  const [base, head] = await Promise.all([load(spec.base, kb, spec.head, kh), load(spec.head, kh, spec.base, kb)]);
  return { base, head };
}

/** Decodes text given in memory (tests): `{ 'a.pam': text }` as one side. */
export function sideFromTexts(label: string, texts: Record<string, string>): LoadedSide {
  const files = Object.entries(texts).map(([path, text]) => ({ path, display: path, source: decodeSource(Buffer.from(text, 'utf8'), path) }));
  return { label, files, display: (p) => p, problems: [] };
}
