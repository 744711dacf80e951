// `pamc`: one module per command under bin/commands/. Exit codes: 0 success, 1 the command
// found problems (errors, failing tests, a denied decision where asked), 2 usage errors.

import yargs, { type Argv } from 'yargs';
import { EXIT_USAGE, type CommandModule, UsageError } from './commands/common.ts';

import { VERSION } from './version.ts';

export { VERSION };

/**
 * Each command's module, loaded on demand: a run loads only the module of the command it runs
 * (the CLI bundle is split per command), all of them only for help and suggestions.
 */
const LOADERS: Record<string, () => Promise<CommandModule[]>> = {
  approvals: () => import('./commands/approvals.ts').then((m) => [m.approvalsCommand]),
  approve: () => import('./commands/approvals.ts').then((m) => [m.approveCommand]),
  reject: () => import('./commands/approvals.ts').then((m) => [m.rejectCommand]),
  audit: () => import('./commands/audit.ts').then((m) => [m.auditCommand]),
  check: () => import('./commands/check.ts').then((m) => [m.checkCommand]),
  compile: () => import('./commands/compile.ts').then((m) => [m.compileCommand]),
  diff: () => import('./commands/diff.ts').then((m) => [m.diffCommand]),
  fmt: () => import('./commands/fmt.ts').then((m) => [m.fmtCommand]),
  eval: () => import('./commands/eval.ts').then((m) => [m.evalCommand]),
  explain: () => import('./commands/eval.ts').then((m) => [m.explainCommand]),
  schema: () => import('./commands/schema.ts').then((m) => [m.schemaCommand]),
  serve: () => import('./commands/serve.ts').then((m) => [m.serveCommand]),
  test: () => import('./commands/test.ts').then((m) => [m.testCommand]),
  token: () => import('./commands/token.ts').then((m) => [m.tokenCommand]),
};

async function commandsFor(argv: string[]): Promise<CommandModule[]> {
  // The command is the first word (`pamc --help check` lists every command, `pamc check --help` one).
  const first = argv[0];
  if (first !== undefined && Object.hasOwn(LOADERS, first)) return LOADERS[first]();
  const all = await Promise.all(Object.values(LOADERS).map((l) => l()));
  return [...new Set(all.flat())];
}

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
  skipHelpCache(parser);
  for (const c of await commandsFor(argv)) {
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

/**
 * yargs renders the whole help text after running a command, in case the program asks for it
 * later (`cacheHelpMessage`): about 20 ms of every run spent measuring string widths. pamc never
 * shows help after a command ran, and `--help` renders it on demand either way.
 */
function skipHelpCache(parser: Argv): void {
  const internal = (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}
