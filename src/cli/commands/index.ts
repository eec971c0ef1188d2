// Commands that talk to a running server over the REST API, one file per group,
// and the agent-side commands (`agent`, `enroll`), which talk to the agent endpoint.
import type { Command } from 'commander';
import { registerSessionCommands } from './session.ts';
import { registerHostCommands } from './hosts.ts';
import { registerContainerCommands } from './containers.ts';
import { registerImageCommands } from './images.ts';
import { registerNetworkCommands } from './networks.ts';
import { registerVolumeCommands } from './volumes.ts';
import { registerUserCommands } from './users.ts';
import { registerAuditCommands } from './audit.ts';
import { registerEnrollTokenCommands } from './enroll-tokens.ts';
import { registerAgentCommands } from './agent.ts';
import { registerContextCommands } from './context.ts';
import { registerSwarmCommands } from './swarm.ts';
import { registerNodeCommands } from './swarm-nodes.ts';
import { registerServiceCommands } from './swarm-services.ts';
import { registerSecretCommands } from './swarm-secrets.ts';
import { registerStackCommands } from './stacks.ts';

export function registerClientCommands(program: Command): void {
  registerSessionCommands(program);
  registerHostCommands(program);
  registerContainerCommands(program);
  registerImageCommands(program);
  registerNetworkCommands(program);
  registerVolumeCommands(program);
  registerUserCommands(program);
  registerAuditCommands(program);
  registerEnrollTokenCommands(program);
  registerAgentCommands(program);
  registerContextCommands(program);
  registerSwarmCommands(program);
  registerNodeCommands(program);
  registerServiceCommands(program);
  registerSecretCommands(program);
  registerStackCommands(program);
}
