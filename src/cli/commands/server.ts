// `flotilla server`: runs the server in the foreground until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { loadConfig, ConfigError } from '../../config.ts';
import { startServer } from '../../server.ts';
import { createLogger } from '../../log.ts';
import { stopOnSignal } from '../stop-on-signal.ts';

export function registerServerCommand(program: Command): void {
  program.command('server')
    .description('run the Flotilla server (configuration from FLOTILLA_* environment variables; see README)')
    .action(async () => {
      let config;
      try {
        config = loadConfig();
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`flotilla: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      const log = createLogger(config.logLevel);
      const server = await startServer(config, log);
      const cli = process.env.FLOTILLA_CLI || 'flotilla';
      const banner = [
        '',
        `  Flotilla is running at ${server.url}`,
        `  data: ${config.dataDir}`,
        ...(server.setupCode
          ? [
            '',
            `  First-run setup: open ${server.url} in a browser and enter the setup code ${server.setupCode},`,
            '  or create the admin account with',
            `    ${cli} setup --url ${server.url} --username admin --code ${server.setupCode}`,
            `  (or POST ${server.url}/api/v1/setup {"setupCode":"${server.setupCode}","username":…,"password":…})`,
          ]
          : [`  Sign in at ${server.url} in a browser, or with: ${cli} login --url ${server.url} --username <you>`]),
        '',
      ];
      process.stderr.write(banner.join('\n') + '\n');
      stopOnSignal(log, 'server', () => server.close());
    });
}
