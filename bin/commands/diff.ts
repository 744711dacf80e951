// `pamc diff <base> <head> [-- paths]`: what a policy change does, computed on the two compiled
// policies' decision tables (spec/diff.md). Exit codes: 0 (also when there are changes), 1 with
// `--fail-on widen` and a widening (or `--fail-on any` and any change), or when a side has
// errors; 2 usage errors.

import { writeFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { compileFiles } from '../../compiler/index.ts';
import { diffPolicies } from '../../compiler/diff/index.ts';
import { renderDiff, type DiffFormat } from '../../compiler/diff/render.ts';
import { buildReport } from '../../compiler/diff/report.ts';
import { loadSides, SideError, type LoadedSide } from '../../compiler/diff/sources.ts';
import { renderDiagnostics } from '../../compiler/render.ts';
import { EXIT_OK, EXIT_PROBLEMS, listOf, UsageError, useColor, type CommandModule } from './common.ts';

const FORMATS = ['human', 'json', 'markdown'] as const;

function compileSide(side: LoadedSide, which: string) {
  if (side.problems.length > 0) throw new UsageError(side.problems.join('; '));
  const out = compileFiles(side.files);
  if (!out.policy) {
    process.stderr.write(renderDiagnostics('human', out.diagnostics, out.texts, side.files.length, { color: useColor(process.stderr) }));
    process.stderr.write(`pamc: the ${which} policy (${side.label}) has errors (above); nothing to compare\n`);
  }
  return out.policy;
}

export const diffCommand: CommandModule = {
  command: 'diff <base> <head>',
  describe: 'what a policy change does: who gains or loses which access, widenings first',
  builder: (y: Argv) =>
    y
      .parserConfiguration({ 'populate--': true })
      .positional('base', { type: 'string', describe: 'the policy before: a file, a folder, or a git revision' })
      .positional('head', { type: 'string', describe: 'the policy after: a file, a folder, or a git revision' })
      .option('format', { choices: FORMATS, default: 'human' as DiffFormat, describe: 'human, json, or markdown for a pull-request comment' })
      .option('fail-on', { choices: ['widen', 'any'] as const, describe: 'exit 1 when a change widens access (widen) or on any change (any)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the report to this file instead of standard output' })
      .example('$0 diff old/ new/', 'two folders on disk')
      .example('$0 diff main HEAD -- policies/', 'two git revisions of the policy under policies/')
      .example('$0 diff origin/main policies/ --fail-on widen', 'the working tree against a revision; fail on a widening')
      .example('$0 diff main HEAD -- policies/ --format markdown -o diff.md', 'a pull-request comment'),
  handler: async (args) => {
    const paths = listOf(args['--']);
    let sides;
    try {
      sides = await loadSides({ base: String(args.base), head: String(args.head), paths });
    } catch (e) {
      if (e instanceof SideError) throw new UsageError(e.message);
      throw e;
    }
    const base = compileSide(sides.base, 'base');
    const head = compileSide(sides.head, 'head');
    if (!base || !head) return EXIT_PROBLEMS;
    const report = buildReport(diffPolicies(base, head), sides.base, sides.head);
    const format = (args.format as DiffFormat) ?? 'human';
    const toFile = typeof args.output === 'string' && args.output !== '';
    const text = renderDiff(format, report, { color: !toFile && format === 'human' && useColor(process.stdout) });
    if (toFile) await writeFile(String(args.output), text);
    else process.stdout.write(text);
    if (args['fail-on'] === 'widen' && report.summary.widening > 0) return EXIT_PROBLEMS;
    if (args['fail-on'] === 'any' && report.summary.changes > 0) return EXIT_PROBLEMS;
    return EXIT_OK;
  },
};
