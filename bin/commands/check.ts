// `pamc check`: diagnostics for a policy, in the format CI wants.

import { VERSION } from '../version.ts';
import { compilePaths, EXIT_OK, EXIT_PROBLEMS, printDiagnostics, type CommandModule } from './common.ts';
import type { DiagnosticFormat } from '../../compiler/render.ts';

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
      .example('$0 check policies/', 'check every .pam file under policies/')
      .example('$0 check --format sarif policies/ > pamc.sarif', 'for GitHub code scanning')
      .example('$0 check --strict --format github policies/', 'annotations in a workflow; warnings fail'),
  handler: async (args) => {
    const out = await compilePaths((args.paths as string[] | undefined) ?? []);
    printDiagnostics(out, out.fileCount, args.format as DiagnosticFormat, VERSION);
    const errors = out.diagnostics.some((d) => d.severity === 'error');
    const warnings = out.diagnostics.some((d) => d.severity === 'warning');
    return errors || (args.strict === true && warnings) ? EXIT_PROBLEMS : EXIT_OK;
  },
};
