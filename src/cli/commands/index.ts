// Commands that talk to a running server over the REST API, one file per group.
import type { Command } from 'commander';
import { registerSessionCommands } from './session.ts';
import { registerHostCommands } from './hosts.ts';
import { registerContainerCommands } from './containers.ts';
import { registerImageCommands } from './images.ts';
import { registerNetworkCommands } from './networks.ts';
import { registerVolumeCommands } from './volumes.ts';
import { registerUserCommands } from './users.ts';
import { registerAuditCommands } from './audit.ts';

export function registerClientCommands(program: Command): void {
  registerSessionCommands(program);
  registerHostCommands(program);
  registerContainerCommands(program);
  registerImageCommands(program);
  registerNetworkCommands(program);
  registerVolumeCommands(program);
  registerUserCommands(program);
  registerAuditCommands(program);
}
