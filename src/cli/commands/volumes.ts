// `flotilla volume …`: list, create, remove, prune.
import type { Command } from 'commander';
import { apiPath } from '../client/api-client.ts';
import { emit, formatBytes, list, num, renderTable, str } from '../client/output.ts';
import { clientCommand, collectKeyValue, commandGroup, connect, keyValueRecord, type ClientFlags } from './common.ts';

type DockerObject = Record<string, unknown>;

export function registerVolumeCommands(program: Command): void {
  const volume = commandGroup(program, 'volume', 'volumes on a host');

  clientCommand(volume, 'ls', 'list volumes').argument('<host>').action(async (host: string, flags: ClientFlags) => {
    const rows = await (await connect(flags)).request<DockerObject[]>('GET', apiPath`/hosts/${host}/volumes`);
    emit(flags.json, rows, () => renderTable(['NAME', 'DRIVER', 'SCOPE', 'MOUNTPOINT'], rows.map((v) => [str(v.Name), str(v.Driver), str(v.Scope), str(v.Mountpoint)])));
  });

  clientCommand(volume, 'create', 'create a volume (a generated name when none is given)').argument('<host>').argument('[name]')
    .option('-d, --driver <driver>', 'volume driver', 'local')
    .option('-l, --label <KEY=VALUE>', 'label (repeatable)', collectKeyValue)
    .action(async (host: string, name: string | undefined, flags: ClientFlags & { driver: string; label?: string[] }) => {
      const body = { name, driver: flags.driver, labels: keyValueRecord(flags.label) };
      const v = await (await connect(flags)).request<DockerObject>('POST', apiPath`/hosts/${host}/volumes`, { body });
      emit(flags.json, v, () => `created volume ${str(v.Name)}`);
    });

  clientCommand(volume, 'rm', 'remove a volume').argument('<host>').argument('<name>')
    .option('-f, --force', 'remove even if in use')
    .action(async (host: string, name: string, flags: ClientFlags & { force?: boolean }) => {
      await (await connect(flags)).request('DELETE', apiPath`/hosts/${host}/volumes/${name}`, { query: { force: Boolean(flags.force) } });
      emit(flags.json, { host, removed: name }, () => `removed volume ${name}`);
    });

  clientCommand(volume, 'prune', 'remove unused volumes (anonymous only, unless --all)').argument('<host>')
    .option('-a, --all', 'also remove unused named volumes')
    .action(async (host: string, flags: ClientFlags & { all?: boolean }) => {
      const r = await (await connect(flags)).request<DockerObject>('POST', apiPath`/hosts/${host}/volumes/prune`, { query: { all: Boolean(flags.all) } });
      const deleted = list(r.VolumesDeleted).map(String);
      emit(flags.json, r, () => `${deleted.map((d) => `deleted: ${d}\n`).join('')}reclaimed ${formatBytes(num(r.SpaceReclaimed) ?? 0)}`);
    });
}
