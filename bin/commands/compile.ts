// `pamc compile`: the compiled policy (decision tables as versioned, deterministic JSON).

import { writeFile } from 'node:fs/promises';
import { serializeCompiled } from '../../compiler/index.ts';
import { renderDiagnostics } from '../../compiler/render.ts';
import { compilePaths, EXIT_OK, EXIT_PROBLEMS, useColor, type CommandModule } from './common.ts';

export const compileCommand: CommandModule = {
  command: 'compile <paths..>',
  describe: 'compile a policy to its decision tables (JSON)',
  builder: (y) =>
    y
      .positional('paths', { type: 'string', array: true, describe: 'policy files or folders' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the JSON here instead of standard output' })
      .example('$0 compile policies/ -o policy.json', 'compile a folder')
      .example('$0 compile examples/quickstart/policy.pam', 'print the tables'),
  handler: async (args) => {
    const out = await compilePaths(args.paths as string[]);
    const problems = out.diagnostics.length > 0;
    if (problems || !out.policy) {
      process.stderr.write(renderDiagnostics('human', out.diagnostics, out.texts, out.fileCount, { color: useColor(process.stderr) }));
    }
    if (!out.policy) return EXIT_PROBLEMS;
    const json = serializeCompiled(out.policy);
    if (typeof args.output === 'string') await writeFile(args.output, json);
    else process.stdout.write(json);
    return EXIT_OK;
  },
};
