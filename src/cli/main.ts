// The one entry point: `flotilla <command>`. Each command group lives in commands/.
import { Command, CommanderError } from 'commander';
import { registerServerCommand } from './commands/server.ts';
import { registerClientCommands } from './commands/index.ts';
import { registerSelfUpdateCommand } from './commands/self-update.ts';
import { registerUpdateCommands } from './commands/updates.ts';
import { registerRegistryCommands } from './commands/registries.ts';
import { registerNotifyCommands } from './commands/notify.ts';
import { VERSION } from '../version.ts';

const program = new Command('flotilla')
  .description('One control plane for a fleet of Docker hosts')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerServerCommand(program);
registerClientCommands(program);
registerUpdateCommands(program);
registerRegistryCommands(program);
registerNotifyCommands(program);
registerSelfUpdateCommand(program);

// SPEC A2: a container started with FLOTILLA_MODE=agent and no command runs the agent.
const argv = process.argv.length <= 2 && process.env.FLOTILLA_MODE === 'agent' ? [...process.argv, 'agent'] : process.argv;

try {
  await program.parseAsync(argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.stderr.write(`flotilla: ${(err as Error).message}\n`);
  process.exit(1);
}
