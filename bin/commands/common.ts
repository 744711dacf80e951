// What the commands share: the command shape, exit codes, and compiling a policy from paths.

import type { Argv } from 'yargs';
import { compileFiles, type CompileOutput } from '../../compiler/index.ts';
import { renderDiagnostics, type DiagnosticFormat } from '../../compiler/render.ts';
import { loadPolicyFiles } from '../../compiler/sources.ts';

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;

export interface CommandModule {
  command: string | string[];
  describe: string;
  builder: (y: Argv) => Argv;
  handler: (args: Record<string, unknown>) => Promise<number>;
}

/** A mistake in how pamc was called: reported on stderr with exit code 2. */
export class UsageError extends Error {}

export interface CompiledFromPaths extends CompileOutput {
  root: string;
  fileCount: number;
}

/** Reads and compiles the policy at `paths` (files or folders); usage errors for missing paths. */
export async function compilePaths(paths: string[]): Promise<CompiledFromPaths> {
  const input = await loadPolicyFiles(paths.length > 0 ? paths : ['.']);
  if (input.problems.length > 0) throw new UsageError(input.problems.join('; '));
  const out = compileFiles(input.files);
  return { ...out, root: input.root, fileCount: input.files.length };
}

export function useColor(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/** Prints diagnostics in a format; returns nothing. */
export function printDiagnostics(out: CompileOutput, fileCount: number, format: DiagnosticFormat, version: string): void {
  process.stdout.write(
    renderDiagnostics(format, out.diagnostics, out.texts, fileCount, { color: useColor(process.stdout), toolVersion: version }),
  );
}

/** A repeatable option's values (yargs gives one value or an array). */
export function listOf(value: unknown): string[] {
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
}

export function splitList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return items.flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
}
