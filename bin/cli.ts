// `pamc`: one module per command under bin/commands/. Exit codes: 0 success, 1 the command
// found problems (errors, failing tests, a denied decision where asked), 2 usage errors.

import yargs, { type Argv } from 'yargs';
import { approvalsCommand, approveCommand, rejectCommand } from './commands/approvals.ts';
import { auditCommand } from './commands/audit.ts';
import { checkCommand } from './commands/check.ts';
import { compileCommand } from './commands/compile.ts';
import { diffCommand } from './commands/diff.ts';
import { schemaCommand } from './commands/schema.ts';
import { fmtCommand } from './commands/fmt.ts';
import { tokenCommand } from './commands/token.ts';
import { evalCommand, explainCommand } from './commands/eval.ts';
import { testCommand } from './commands/test.ts';
import { serveCommand } from './commands/serve.ts';
import { EXIT_USAGE, type CommandModule, UsageError } from './commands/common.ts';

import { VERSION } from './version.ts';

export { VERSION };

const commands: CommandModule[] = [approvalsCommand, approveCommand, rejectCommand, auditCommand, checkCommand, compileCommand, diffCommand, fmtCommand, evalCommand, explainCommand, schemaCommand, serveCommand, testCommand, tokenCommand];

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  let parser: Argv = yargs(argv)
    .scriptName('pamc')
    .usage('$0 <command> [options]\n\nPrivileged access management as code for AI agents.')
    .version(VERSION)
    .strict()
    .recommendCommands()
    .demandCommand(1, 'give a command; `pamc --help` lists them')
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    // A usage mistake stops the command: the handler never runs with arguments yargs refused.
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  for (const c of commands) {
    parser = parser.command(
      c.command,
      c.describe,
      (y) => c.builder(y),
      async (args) => {
        exitCode = await c.handler(args as Record<string, unknown>);
      },
    );
  }
  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`pamc: ${e.message}\nrun \`pamc --help\` for usage\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`pamc: internal error: ${(e as Error).message}\n`);
    if (process.env.PAMC_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 70;
  }
  return exitCode;
}
