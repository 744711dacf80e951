// `pamc fmt`: the canonical layout of .pam files (comments kept).

import { writeFile } from 'node:fs/promises';
import { formatPolicy, parsePolicy } from '../../language/index.ts';
import { hasErrors } from '../../language/diagnostic.ts';
import { renderDiagnostics } from '../../compiler/render.ts';
import { loadPolicyFiles } from '../../compiler/sources.ts';
import { EXIT_OK, EXIT_PROBLEMS, UsageError, useColor, type CommandModule } from './common.ts';

export const fmtCommand: CommandModule = {
  command: 'fmt [paths..]',
  describe: 'format .pam files canonically',
  builder: (y) =>
    y
      .positional('paths', { type: 'string', array: true, describe: 'policy files or folders (default: .)' })
      .option('check', { type: 'boolean', describe: 'list files that are not formatted; exit 1 if any' })
      .option('write', { alias: 'w', type: 'boolean', describe: 'rewrite files in place' })
      .conflicts('check', 'write')
      .example('$0 fmt --check policies/', 'in CI: fail when a file is not formatted')
      .example('$0 fmt --write policies/', 'format in place')
      .example('$0 fmt policy.pam', 'print the formatted file'),
  handler: async (args) => {
    const paths = (args.paths as string[] | undefined) ?? [];
    const input = await loadPolicyFiles(paths.length > 0 ? paths : ['.']);
    if (input.problems.length > 0) throw new UsageError(input.problems.join('; '));
    let failed = false;
    const unformatted: string[] = [];
    for (const f of input.files) {
      const diagnostics = [...f.source.diagnostics.map((d) => ({ ...d, file: f.display }))];
      let formatted: string | null = null;
      if (f.source.ok) {
        const parsed = parsePolicy(f.source.text, f.display);
        diagnostics.push(...parsed.diagnostics);
        if (!hasErrors(parsed.diagnostics)) formatted = formatPolicy(parsed.file);
      }
      if (formatted === null) {
        failed = true;
        process.stderr.write(
          renderDiagnostics('human', diagnostics, new Map([[f.display, f.source.text]]), 1, { color: useColor(process.stderr) }),
        );
        continue;
      }
      if (args.check) {
        if (formatted !== f.source.text) unformatted.push(f.display);
      } else if (args.write) {
        if (formatted !== f.source.text) await writeFile(f.display, formatted);
      } else {
        process.stdout.write(formatted);
      }
    }
    if (args.check) {
      for (const file of unformatted) process.stdout.write(`${file}\n`);
      if (unformatted.length > 0) {
        process.stderr.write(`${unformatted.length} file${unformatted.length === 1 ? ' is' : 's are'} not formatted; run \`pamc fmt --write\`\n`);
        return EXIT_PROBLEMS;
      }
    }
    return failed ? EXIT_PROBLEMS : EXIT_OK;
  },
};
