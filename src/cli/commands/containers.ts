// `flotilla container …`: list, inspect, create, start/stop/restart/kill, remove.
// Logs, exec and stats are in container-io.ts.
import type { Command } from 'commander';
import { z } from 'zod';
import { apiPath, type ApiClient } from '../client/api-client.ts';
import { emit, list, obj, renderFields, renderTable, shortId, str } from '../client/output.ts';
import { hostViewSchema } from '../../fleet/host-view.ts';
import { clientCommand, collectKeyValue, commandGroup, connect, intInRange, keyValueRecord, type ClientFlags } from './common.ts';
import { registerContainerIoCommands } from './container-io.ts';

type DockerObject = Record<string, unknown>;
const createdSchema = z.object({ Id: z.string(), Warnings: z.array(z.string()).nullable().optional(), started: z.boolean() });

interface CreateFlags extends ClientFlags {
  image: string;
  name?: string;
  start?: boolean;
  env?: string[];
  label?: string[];
}

export function registerContainerCommands(program: Command): void {
  const container = commandGroup(program, 'container', 'containers on the fleet\'s hosts');

  clientCommand(container, 'ls', 'list containers of one host, or of every host')
    .argument('[host]', 'host name (default: every host)')
    .option('-a, --all', 'include stopped containers')
    .action(listContainers);

  clientCommand(container, 'inspect', 'show a container').argument('<host>').argument('<id>', 'container id, id prefix or name')
    .action(async (host: string, id: string, flags: ClientFlags) => {
      const c = await (await connect(flags)).request<DockerObject>('GET', apiPath`/hosts/${host}/containers/${id}`);
      emit(flags.json, c, () => renderContainer(c));
    });

  clientCommand(container, 'create', 'create a container (-- CMD ARGS… overrides the image\'s command)')
    .argument('<host>')
    .argument('[cmd...]', 'command and arguments, after --')
    .requiredOption('--image <image>', 'image reference')
    .option('--name <name>', 'container name')
    .option('--start', 'start it once created')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .option('-l, --label <KEY=VALUE>', 'label (repeatable)', collectKeyValue)
    .action(createContainer);

  for (const action of ['start', 'stop', 'restart', 'kill'] as const) {
    const cmd = clientCommand(container, action, `${action} a container`).argument('<host>').argument('<id>');
    if (action === 'stop' || action === 'restart') cmd.option('-t, --time <seconds>', 'seconds to wait before killing (0–600)', intInRange(0, 600));
    cmd.action(async (host: string, id: string, flags: ClientFlags & { time?: number }) => {
      await (await connect(flags)).request('POST', apiPath`/hosts/${host}/containers/${id}/${action}`, { query: { t: flags.time } });
      emit(flags.json, { host, id, action }, () => `${id}: ${action === 'stop' ? 'stopped' : action === 'kill' ? 'killed' : `${action}ed`}`);
    });
  }

  clientCommand(container, 'rm', 'remove a container').argument('<host>').argument('<id>')
    .option('-f, --force', 'kill it first if it is running')
    .option('-v, --volumes', 'also remove its anonymous volumes')
    .action(async (host: string, id: string, flags: ClientFlags & { force?: boolean; volumes?: boolean }) => {
      const query = { force: Boolean(flags.force), volumes: Boolean(flags.volumes) };
      await (await connect(flags)).request('DELETE', apiPath`/hosts/${host}/containers/${id}`, { query });
      emit(flags.json, { host, removed: id }, () => `removed ${id}`);
    });

  registerContainerIoCommands(container);
}

async function listContainers(host: string | undefined, flags: ClientFlags & { all?: boolean }): Promise<void> {
  const client = await connect(flags);
  const all = Boolean(flags.all);
  if (host !== undefined) {
    const rows = await client.request<DockerObject[]>('GET', apiPath`/hosts/${host}/containers`, { query: { all } });
    emit(flags.json, rows, () => renderContainers(rows, false));
    return;
  }
  const rows = await listOnEveryHost(client, all);
  emit(flags.json, rows, () => renderContainers(rows, true));
}

/**
 * One call per host, side by side. A host that fails is reported on stderr and
 * the others are still listed: in a fleet some host is usually down.
 */
async function listOnEveryHost(client: ApiClient, all: boolean): Promise<DockerObject[]> {
  const hosts = await client.request('GET', '/hosts', { schema: z.array(hostViewSchema) });
  const answers = await Promise.allSettled(hosts.map((h) => client.request<DockerObject[]>('GET', apiPath`/hosts/${h.name}/containers`, { query: { all } })));
  const rows: DockerObject[] = [];
  answers.forEach((a, i) => {
    const name = hosts[i]!.name;
    if (a.status === 'fulfilled') rows.push(...a.value.map((c) => ({ host: name, ...c })));
    else {
      const message = (a.reason as Error).message;
      process.stderr.write(`flotilla: ${message.includes(`"${name}"`) ? '' : `host ${name}: `}${message}\n`);
    }
  });
  return rows;
}

function containerName(c: DockerObject): string | undefined {
  return str(list(c.Names)[0])?.replace(/^\//, '');
}

function renderContainers(rows: DockerObject[], withHost: boolean): string {
  const headers = ['CONTAINER ID', 'NAME', 'IMAGE', 'STATE', 'STATUS'];
  const cells = rows.map((c) => [shortId(c.Id), containerName(c), str(c.Image), str(c.State), str(c.Status)]);
  if (!withHost) return renderTable(headers, cells);
  return renderTable(['HOST', ...headers], cells.map((r, i) => [str(rows[i]!.host), ...r]));
}

function renderContainer(c: DockerObject): string {
  const config = obj(c.Config);
  const state = obj(c.State);
  const networks = Object.entries(obj(obj(c.NetworkSettings).Networks))
    .map(([name, n]) => `${name}${str(obj(n).IPAddress) ? ` ${str(obj(n).IPAddress)}` : ''}`).join(', ');
  const mounts = list(c.Mounts).map((m) => `${str(obj(m).Name) ?? str(obj(m).Source)} → ${str(obj(m).Destination)}`).join(', ');
  return renderFields([
    ['ID', str(c.Id)], ['Name', str(c.Name)?.replace(/^\//, '')], ['Image', str(config.Image)],
    ['Command', [str(c.Path), ...list(c.Args).map(String)].filter(Boolean).join(' ')],
    ['State', str(state.Status)], ['Exit code', state.Running ? null : str(state.ExitCode)],
    ['Started', str(state.StartedAt)], ['Created', str(c.Created)], ['Restarts', str(c.RestartCount)],
    ['Networks', networks], ['Mounts', mounts],
  ]);
}

async function createContainer(host: string, cmd: string[], flags: CreateFlags): Promise<void> {
  const config: DockerObject = { Image: flags.image };
  if (flags.env?.length) config.Env = flags.env;
  const labels = keyValueRecord(flags.label);
  if (labels) config.Labels = labels;
  if (cmd.length) config.Cmd = cmd;
  const body = { name: flags.name, start: Boolean(flags.start), config };
  const created = await (await connect(flags)).request('POST', apiPath`/hosts/${host}/containers`, { body, schema: createdSchema });
  for (const w of created.Warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  emit(flags.json, created, () => `${created.started ? 'created and started' : 'created'} ${created.Id}`);
}
