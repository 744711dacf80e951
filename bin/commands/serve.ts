// `pamc serve`: compile the policy and run the gateway. The policy is recompiled on SIGHUP and
// when its files change; a policy that does not compile is logged with its diagnostics and the
// running one stays. SIGTERM and SIGINT stop it gracefully.

import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { renderDiagnostics } from '../../compiler/render.ts';
import { Gateway } from '../../runtime/gateway/gateway.ts';
import { streamLogger, type LogLevel } from '../../runtime/gateway/log.ts';
import { compilePaths, EXIT_OK, EXIT_PROBLEMS, listOf, UsageError, useColor, type CommandModule } from './common.ts';

function parseListen(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || !/^.*:\d+$/.test(v.slice(eq + 1))) throw new UsageError(`\`--listen ${v}\` is not target=host:port`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export const serveCommand: CommandModule = {
  command: 'serve <paths..>',
  describe: 'run the gateway for a policy',
  builder: (y) =>
    y
      .positional('paths', { type: 'string', array: true, describe: 'policy files or folders' })
      .option('listen', { type: 'string', describe: 'target=host:port, overriding the policy (repeatable)' })
      .option('admin', { type: 'string', default: '127.0.0.1:6480', describe: 'host:port of the admin listener (health, metrics), or `none`' })
      .option('log-level', { choices: ['debug', 'info', 'warn', 'error'] as const, default: 'info' as const, describe: 'log level (JSON lines on stdout)' })
      .option('watch', { type: 'boolean', default: true, describe: 'reload when the policy files change' })
      .example('$0 serve examples/quickstart/policy.pam', 'the embedded demo')
      .example('$0 serve policies/ --listen shop=0.0.0.0:6432 --admin 127.0.0.1:6480', 'production-style'),
  handler: async (args) => {
    const paths = args.paths as string[];
    const first = await compilePaths(paths);
    if (!first.policy) {
      process.stderr.write(renderDiagnostics('human', first.diagnostics, first.texts, first.fileCount, { color: useColor(process.stderr) }));
      return EXIT_PROBLEMS;
    }
    const log = streamLogger(process.stdout, args['log-level'] as LogLevel);
    const admin = args.admin === 'none' ? null : String(args.admin);
    let gateway: Gateway;
    try {
      gateway = await Gateway.start(first.policy, { root: first.root, log, listen: parseListen(listOf(args.listen)), admin });
    } catch (e) {
      process.stderr.write(`pamc: ${(e as Error).message}\n`);
      return EXIT_PROBLEMS;
    }
    printBanner(gateway, paths, admin, first.policy.identity.jwks);

    let reloading: Promise<void> = Promise.resolve();
    const reload = (why: string) => {
      reloading = reloading.then(async () => {
        const out = await compilePaths(paths).catch((e: Error) => ({ policy: null, diagnostics: [], texts: new Map(), fileCount: 0, error: e.message }));
        if (!out.policy) {
          gateway.metrics.reloads.inc({ result: 'failed' });
          log.error('policy-reload-failed', {
            trigger: why,
            diagnostics: out.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ code: d.code, file: d.file, message: d.message })),
            note: 'the running policy stays in force',
          });
          process.stderr.write(renderDiagnostics('human', out.diagnostics, out.texts, out.fileCount, {}));
          return;
        }
        try {
          await gateway.reload(out.policy);
        } catch (e) {
          gateway.metrics.reloads.inc({ result: 'failed' });
          log.error('policy-reload-failed', { trigger: why, error: (e as Error).message, note: 'the running policy stays in force' });
        }
      });
    };
    process.on('SIGHUP', () => reload('SIGHUP'));
    const watchers: FSWatcher[] = [];
    if (args.watch) {
      let timer: NodeJS.Timeout | null = null;
      const onChange = () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => reload('file-change'), 200);
      };
      const dirs = new Set(first.files.map((f) => dirname(`${first.root}/${f.path}`)));
      for (const d of dirs) {
        try {
          watchers.push(watch(d, { persistent: false }, (_event, name) => name?.toString().endsWith('.pam') && onChange()));
        } catch {
          log.warn('watch-failed', { dir: d });
        }
      }
    }

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info('shutdown', { signal });
        for (const w of watchers) w.close();
        void gateway.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return EXIT_OK;
  },
};

function printBanner(g: Gateway, paths: string[], admin: string | null, jwks: { file: string } | { url: string }): void {
  const lines = [`pamc: serving policy "${g.policyView.loaded.compiled.policy}"`];
  const dev = 'file' in jwks && jwks.file.endsWith('dev-jwks.json');
  for (const t of g.listening()) {
    const host = t.host === '0.0.0.0' || t.host === '::' ? '127.0.0.1' : t.host;
    lines.push(`  target ${t.name} on ${t.host}:${t.port}${t.embedded ? ' (embedded PGlite: for trying pamc, not production)' : ''}`);
    const conn = `host=${host} port=${t.port} dbname=${t.name} user=agent${t.tls ? ' sslmode=require' : ''}`;
    if (dev) {
      lines.push(`  connect as an analyst (the development token is for local use only):`);
      lines.push(`    PGPASSWORD=$(npx pamc token --dev --groups analysts --policy ${paths[0]}) psql "${conn}"`);
    } else {
      lines.push(`  connect with the agent's OIDC token as the password: psql "${conn}"`);
    }
  }
  if (admin) lines.push(`  admin: http://${admin}/metrics, /healthz, /readyz`);
  lines.push('  logs: JSON lines on stdout; stop with Ctrl-C');
  process.stderr.write(lines.join('\n') + '\n');
}
