// `pamc test [paths..]`: run the `.pamtest` files below the paths against their policies with
// the real classifier and decision function, report, and measure decision coverage.
// Exit codes: 0 every case passed (and coverage reached --min-coverage), 1 a case failed or
// could not run, a test file or policy has errors, or coverage is too low; 2 usage errors.

import { writeFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { meetsMinimum } from '../policy-tests/coverage.ts';
import { discoverTestFiles, TEST_FILE_SUFFIX } from '../policy-tests/discover.ts';
import { renderGithub } from '../policy-tests/report-github.ts';
import { renderHuman } from '../policy-tests/report-human.ts';
import { renderJson } from '../policy-tests/report-json.ts';
import { renderJunit } from '../policy-tests/report-junit.ts';
import type { ReportOptions } from '../policy-tests/report-common.ts';
import { runFailed, runTestFiles, type RunResult } from '../policy-tests/run.ts';
import { VERSION } from '../version.ts';
import { EXIT_OK, EXIT_PROBLEMS, listOf, UsageError, useColor, type CommandModule } from './common.ts';

const FORMATS = ['human', 'json', 'junit', 'github'] as const;
type Format = (typeof FORMATS)[number];

const RENDERERS: Record<Format, (r: RunResult, o: ReportOptions) => string> = {
  human: renderHuman,
  json: renderJson,
  junit: renderJunit,
  github: renderGithub,
};

function minCoverageOf(value: unknown): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (typeof value === 'boolean' || !Number.isFinite(n) || n < 0 || n > 100) {
    throw new UsageError(`\`--min-coverage ${String(value)}\` is not a percentage from 0 to 100`);
  }
  return n;
}

export const testCommand: CommandModule = {
  command: 'test [paths..]',
  describe: 'run the policy tests (*.pamtest) and measure decision coverage',
  builder: (y: Argv) =>
    y
      .positional('paths', { type: 'string', array: true, default: [], describe: `${TEST_FILE_SUFFIX} files or folders searched recursively (default: .)` })
      .option('format', { choices: FORMATS, default: 'human' as Format, describe: 'report format' })
      .option('coverage', { type: 'boolean', default: false, describe: 'report the rules no case exercised, and the percentage' })
      .option('min-coverage', { type: 'number', describe: 'fail when a policy\'s decision coverage is below this percentage (implies --coverage)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the report to this file instead of standard output' })
      .option('verbose', { type: 'boolean', default: false, describe: 'human format: list passing cases too' })
      .example('$0 test examples/', 'run every test below examples/')
      .example('$0 test --coverage --min-coverage 100', 'fail unless every rule is exercised')
      .example('$0 test --format junit -o pamc-tests.xml', 'a JUnit report for CI'),
  handler: async (args) => {
    const format = args.format ?? 'human';
    // yargs reports a bad choice but may still run the handler (exitProcess is off): refuse here too
    if (!(FORMATS as readonly unknown[]).includes(format)) throw new UsageError(`\`--format ${String(format)}\` is not one of ${FORMATS.join(', ')}`);
    const minCoverage = minCoverageOf(args['min-coverage']);
    const paths = listOf(args.paths);
    const found = await discoverTestFiles(paths);
    if (found.problems.length > 0) throw new UsageError(found.problems.join('; '));
    if (found.files.length === 0) {
      throw new UsageError(`no ${TEST_FILE_SUFFIX} files in ${paths.length === 0 ? 'the current folder' : paths.map((p) => `\`${p}\``).join(', ')}`);
    }
    const result = await runTestFiles(found.files);
    const toFile = typeof args.output === 'string' && args.output !== '';
    const options: ReportOptions = {
      coverage: args.coverage === true || minCoverage !== null,
      minCoverage,
      verbose: args.verbose === true,
      color: !toFile && format === 'human' && useColor(process.stdout),
      version: VERSION,
    };
    const report = RENDERERS[format as Format](result, options);
    if (toFile) await writeFile(String(args.output), report);
    else process.stdout.write(report);
    const lowCoverage = minCoverage !== null && result.coverage.some((c) => !meetsMinimum(c, minCoverage));
    return runFailed(result) || lowCoverage ? EXIT_PROBLEMS : EXIT_OK;
  },
};
