// `flotilla agent` runs the agent in the foreground from FLOTILLA_* variables
// (SPEC A2); `flotilla enroll` only enrolls, interactively, and exits.
import os from 'node:os';
import { Option, type Command } from 'commander';
import { ConfigError } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { loadAgentConfig, type AgentConfig } from '../../agent/config.ts';
import { startAgent } from '../../agent/main.ts';
import { enroll } from '../../agent/enroll.ts';
import { loadIdentity } from '../../agent/identity.ts';
import { emit } from '../client/output.ts';
import { readSecret } from '../client/password.ts';
import { stopOnSignal } from '../stop-on-signal.ts';

/** Where `flotilla enroll` and the printed `flotilla agent` lines keep the identity on a host. */
export const HOST_AGENT_DIR = '/var/lib/flotilla-agent';

interface EnrollFlags {
  server: string;
  token?: string;
  tokenStdin?: boolean;
  name?: string;
  dir?: string;
  json?: boolean;
}

export function registerAgentCommands(program: Command): void {
  program.command('agent')
    .description('run the agent in the foreground: enroll with FLOTILLA_ENROLL_TOKEN if needed, then connect to FLOTILLA_SERVER_ADDR (see README)')
    .action(runAgent);

  program.command('enroll')
    .description('enroll this host with a Flotilla server and exit; `flotilla agent` then runs with the saved identity')
    .requiredOption('--server <addr>', 'host:port of the server\'s agent endpoint (e.g. 10.0.0.10:9443)')
    .addOption(new Option('--token <token>', 'the enrollment token (default: $FLOTILLA_ENROLL_TOKEN, else asked for on a terminal)').conflicts('tokenStdin'))
    .option('--token-stdin', 'read the enrollment token from stdin')
    .option('--name <name>', 'this host\'s name in Flotilla (default: the machine\'s host name)')
    .option('--dir <dir>', `where to keep the identity (default: $FLOTILLA_CLUSTER_DIR, else ${HOST_AGENT_DIR})`)
    .option('--json', 'print machine-readable JSON')
    .action(enrollInteractively);
}

/** A bad variable stops start-up naming it, with exit code 2 like a wrong flag. */
function agentConfigOrExit(env: NodeJS.ProcessEnv, rename: Record<string, string> = {}): AgentConfig {
  try {
    return loadAgentConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    let message = Object.keys(rename).length ? err.message.replace('invalid agent configuration', 'invalid options') : err.message;
    for (const [variable, flag] of Object.entries(rename)) message = message.replaceAll(variable, flag);
    process.stderr.write(`flotilla: ${message}\n`);
    process.exit(2);
  }
}

async function runAgent(): Promise<void> {
  const config = agentConfigOrExit(process.env);
  const log = createLogger(config.logLevel);
  const runner = await startAgent(config, log);
  stopOnSignal(log, 'agent', () => runner.stop());
}

async function enrollInteractively(flags: EnrollFlags): Promise<void> {
  // The agent's own validation, so `enroll` and `agent` accept exactly the same values; its messages name our flags.
  const config = agentConfigOrExit({
    FLOTILLA_SERVER_ADDR: flags.server, FLOTILLA_HOST_NAME: flags.name ?? os.hostname(),
    FLOTILLA_CLUSTER_DIR: flags.dir ?? (process.env.FLOTILLA_CLUSTER_DIR || HOST_AGENT_DIR),
  }, { FLOTILLA_SERVER_ADDR: '--server', FLOTILLA_HOST_NAME: '--name', FLOTILLA_CLUSTER_DIR: '--dir' });
  const existing = await loadIdentity(config.clusterDir);
  if (existing) throw new Error(`${config.clusterDir} already holds the identity of host ${existing.hostId}: remove the directory to enroll again, or run \`flotilla agent\``);
  const token = flags.token ?? await readSecret({
    fromStdin: Boolean(flags.tokenStdin), envVar: 'FLOTILLA_ENROLL_TOKEN', prompt: 'Enrollment token: ', what: 'enrollment token', stdinFlag: '--token-stdin',
  });
  const identity = await enroll({ serverAddr: config.serverAddr, token, hostName: config.hostName, clusterDir: config.clusterDir, log: createLogger('silent') });
  const result = { hostId: identity.hostId, name: config.hostName, server: config.serverAddr, dir: config.clusterDir };
  emit(flags.json, result, () => [
    `enrolled as host ${config.hostName} (id ${identity.hostId}) with ${config.serverAddr}`,
    `identity saved in ${config.clusterDir} (ca.pem, agent.pem, agent-key.pem, host-id)`,
    `start the agent with: FLOTILLA_SERVER_ADDR=${config.serverAddr} FLOTILLA_HOST_NAME=${config.hostName} FLOTILLA_CLUSTER_DIR=${config.clusterDir} flotilla agent`,
  ].join('\n'));
}
