// `flotilla self-update-run` (hidden): what the updater container runs (SPEC S15,
// src/updates/self-update/launch.ts starts it). It updates the agent's
// container to the image it runs from and prints the steps, the journal and,
// last, the result as JSON lines on stdout (`{"flotillaSelfUpdate":…}`); exit 0
// when updated, 1 otherwise (a failed update leaves the old agent running).
// With --recover-record it puts back the update of an updater that died.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DockerClient } from '../../docker/client.ts';
import { createTransport } from '../../transports/index.ts';
import { inFlightSchema, runSelfUpdate, runSelfUpdateRecovery } from '../../updates/self-update/index.ts';
import type { InFlightUpdate } from '../../updates/recreate/index.ts';

interface RunFlags {
  container?: string;
  image?: string;
  updateId?: string;
  healthTimeoutMs?: number;
  stableMs?: number;
  recoverRecord?: InFlightUpdate;
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3_600_000) throw new InvalidArgumentError('milliseconds: a whole number from 1 to 3600000');
  return n;
}

function record(value: string): InFlightUpdate {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('not JSON');
  }
  const result = inFlightSchema.safeParse(parsed);
  if (!result.success) throw new InvalidArgumentError(`not an update record: ${result.error.message}`);
  return result.data;
}

/** The engine the updater was given: FLOTILLA_DOCKER_HOST, a unix socket as for the agent. */
function localEngine(env: NodeJS.ProcessEnv): DockerClient {
  const url = env.FLOTILLA_DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (!url.startsWith('unix:///')) {
    process.stderr.write(`flotilla: invalid configuration:\n  FLOTILLA_DOCKER_HOST: unix:///path/to/docker.sock (got ${JSON.stringify(url)})\n`);
    process.exit(2);
  }
  return new DockerClient(createTransport({ url, label: 'local engine' }));
}

async function runUpdater(flags: RunFlags, command: Command): Promise<void> {
  const writeLine = (line: string) => {
    process.stdout.write(`${line}\n`);
  };
  if (flags.recoverRecord === undefined && (flags.container === undefined || flags.image === undefined || flags.updateId === undefined)) {
    command.error('error: --container, --image and --update-id are required (or --recover-record)', { exitCode: 2 });
  }
  const docker = localEngine(process.env);
  // `docker stop` on the updater aborts the update between steps; it then rolls back (StopTimeout gives it the time).
  const abort = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => abort.abort(new Error(`${signal} received`)));
  try {
    process.exitCode = flags.recoverRecord !== undefined
      ? await runSelfUpdateRecovery(docker, flags.recoverRecord, writeLine)
      : await runSelfUpdate(docker, {
        containerId: flags.container!, image: flags.image!, updateId: flags.updateId!, healthTimeoutMs: flags.healthTimeoutMs, stableMs: flags.stableMs,
      }, writeLine, abort.signal);
  } finally {
    await docker.transport.close();
  }
}

export function registerSelfUpdateCommand(program: Command): void {
  program.command('self-update-run', { hidden: true })
    .description('inside an updater container: update the agent container to a new image and print the result as JSON (SPEC S15)')
    .option('--container <id>', 'the agent container')
    .option('--image <ref>', 'the new image (already on the engine)')
    .option('--update-id <id>', 'the update id ([A-Za-z0-9_-], at most 100)')
    .option('--health-timeout-ms <ms>', 'how long the new agent may take to turn healthy (default 120000)', milliseconds)
    .option('--stable-ms <ms>', 'without a healthcheck: how long it must keep running', milliseconds)
    .addOption(new Option('--recover-record <json>', 'put back the update of an updater that died, from its last journal record').argParser(record).conflicts(['container', 'image']))
    .action(runUpdater);
}
