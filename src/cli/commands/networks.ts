// `flotilla network …`: list, create, remove, connect and disconnect containers.
import type { Command } from 'commander';
import { z } from 'zod';
import { apiPath } from '../client/api-client.ts';
import { emit, renderTable, shortId, str } from '../client/output.ts';
import { clientCommand, commandGroup, connect, type ClientFlags } from './common.ts';

type DockerObject = Record<string, unknown>;

export function registerNetworkCommands(program: Command): void {
  const network = commandGroup(program, 'network', 'networks on a host');

  clientCommand(network, 'ls', 'list networks').argument('<host>').action(async (host: string, flags: ClientFlags) => {
    const rows = await (await connect(flags)).request<DockerObject[]>('GET', apiPath`/hosts/${host}/networks`);
    emit(flags.json, rows, () => renderTable(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], rows.map((n) => [shortId(n.Id), str(n.Name), str(n.Driver), str(n.Scope)])));
  });

  clientCommand(network, 'create', 'create a network').argument('<host>').argument('<name>')
    .option('-d, --driver <driver>', 'network driver', 'bridge')
    .option('--internal', 'no external connectivity')
    .option('--attachable', 'let standalone containers attach (overlay)')
    .action(async (host: string, name: string, flags: ClientFlags & { driver: string; internal?: boolean; attachable?: boolean }) => {
      const body = { name, driver: flags.driver, internal: Boolean(flags.internal), attachable: Boolean(flags.attachable) };
      const schema = z.object({ Id: z.string(), Warning: z.string().optional() });
      const created = await (await connect(flags)).request('POST', apiPath`/hosts/${host}/networks`, { body, schema });
      if (created.Warning) process.stderr.write(`warning: ${created.Warning}\n`);
      emit(flags.json, created, () => `created network ${name} ${created.Id}`);
    });

  clientCommand(network, 'rm', 'remove a network').argument('<host>').argument('<id>', 'network id or name')
    .action(async (host: string, id: string, flags: ClientFlags) => {
      await (await connect(flags)).request('DELETE', apiPath`/hosts/${host}/networks/${id}`);
      emit(flags.json, { host, removed: id }, () => `removed network ${id}`);
    });

  clientCommand(network, 'connect', 'connect a container to a network').argument('<host>').argument('<network>').argument('<container>')
    .option('--alias <alias...>', 'network-scoped aliases for the container')
    .action(async (host: string, net: string, container: string, flags: ClientFlags & { alias?: string[] }) => {
      await (await connect(flags)).request('POST', apiPath`/hosts/${host}/networks/${net}/connect`, { body: { container, aliases: flags.alias } });
      emit(flags.json, { host, network: net, container, connected: true }, () => `connected ${container} to ${net}`);
    });

  clientCommand(network, 'disconnect', 'disconnect a container from a network').argument('<host>').argument('<network>').argument('<container>')
    .option('-f, --force', 'disconnect even if the container is not running cleanly')
    .action(async (host: string, net: string, container: string, flags: ClientFlags & { force?: boolean }) => {
      await (await connect(flags)).request('POST', apiPath`/hosts/${host}/networks/${net}/disconnect`, { body: { container, force: Boolean(flags.force) } });
      emit(flags.json, { host, network: net, container, connected: false }, () => `disconnected ${container} from ${net}`);
    });
}
