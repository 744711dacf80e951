// `pamc check`: diagnostics for a policy, in the format CI wants: the compiler's, the analysis of
// the decision tables (spec/diff.md §4), and with `--schema` the names the policy uses checked
// against a `pg_dump --schema-only` of the database (spec/diff.md §5).

import { analysisCheck } from '../../compiler/analysis/index.ts';
import { compileFiles, type CompileOutput, type PolicyCheck } from '../../compiler/index.ts';
import type { DiagnosticFormat } from '../../compiler/render.ts';
import { loadPolicyFiles } from '../../compiler/sources.ts';
import { VERSION } from '../version.ts';
import { EXIT_OK, EXIT_PROBLEMS, listOf, printDiagnostics, UsageError, type CommandModule } from './common.ts';

export const checkCommand: CommandModule = {
  command: 'check [paths..]',
  describe: 'check a policy (files or folders) and report problems',
  builder: (y) =>
    y
      .positional('paths', { type: 'string', array: true, describe: 'policy files or folders (default: .)' })
      .option('format', {
        choices: ['human', 'json', 'sarif', 'github'] as const,
        default: 'human' as const,
        describe: 'output format: human, json, SARIF 2.1.0 for code scanning, GitHub annotations',
      })
      .option('strict', { type: 'boolean', default: false, describe: 'fail on warnings as well as errors' })
      .option('analysis', {
        type: 'boolean',
        default: true,
        describe: 'report rules that never decide anything, conflicts, masks that never apply (--no-analysis: compiler only)',
      })
      .option('schema', {
        type: 'string',
        describe: 'a `pg_dump --schema-only` file: report tables, columns and functions the policy names that it lacks; `target=file` for one target (repeatable)',
      })
      .example('$0 check policies/', 'check every .pam file under policies/')
      .example('$0 check --format sarif policies/ > pamc.sarif', 'for GitHub code scanning')
      .example('$0 check --strict --format github policies/', 'annotations in a workflow; warnings fail')
      .example('$0 check --schema schema.sql policies/', 'names checked against the database (`pamc schema pull` writes the file)'),
  handler: async (args) => {
    const paths = (args.paths as string[] | undefined) ?? [];
    const input = await loadPolicyFiles(paths.length > 0 ? paths : ['.']);
    if (input.problems.length > 0) throw new UsageError(input.problems.join('; '));
    const checks: PolicyCheck[] = [];
    if (args.analysis !== false) checks.push(analysisCheck);
    const schemas = listOf(args.schema);
    const schemaModule = schemas.length > 0 ? await import('../../compiler/schema/index.ts') : null;
    let out: CompileOutput;
    try {
      if (schemaModule) checks.push(await schemaModule.schemaCheck(schemas));
      out = compileFiles(input.files, undefined, checks);
    } catch (e) {
      if (schemaModule && e instanceof schemaModule.SchemaError) throw new UsageError(e.message);
      throw e;
    }
    printDiagnostics(out, input.files.length, args.format as DiagnosticFormat, VERSION);
    const errors = out.diagnostics.some((d) => d.severity === 'error');
    const warnings = out.diagnostics.some((d) => d.severity === 'warning');
    return errors || (args.strict === true && warnings) ? EXIT_PROBLEMS : EXIT_OK;
  },
};
