// `flotilla image …`: list, pull (with per-layer progress), remove, prune.
import type { Command } from 'commander';
import { apiPath } from '../client/api-client.ts';
import { ago, emit, formatBytes, list, num, obj, renderTable, shortId, str } from '../client/output.ts';
import { abortOnInterrupt, PullProgressPrinter, type PullMessage } from '../client/progress.ts';
import { clientCommand, commandGroup, connect, type ClientFlags } from './common.ts';

type DockerObject = Record<string, unknown>;

export function registerImageCommands(program: Command): void {
  const image = commandGroup(program, 'image', 'images on a host');

  clientCommand(image, 'ls', 'list images').argument('<host>').action(async (host: string, flags: ClientFlags) => {
    const rows = await (await connect(flags)).request<DockerObject[]>('GET', apiPath`/hosts/${host}/images`);
    emit(flags.json, rows, () => renderImages(rows));
  });

  clientCommand(image, 'pull', 'pull an image onto a host, showing progress on stderr')
    .argument('<host>').argument('<ref>', 'image reference, e.g. registry:5000/repo:tag')
    .action(pullImage);

  clientCommand(image, 'rm', 'remove an image').argument('<host>').argument('<ref>', 'image id or reference')
    .option('-f, --force', 'remove even if containers use it')
    .action(async (host: string, ref: string, flags: ClientFlags & { force?: boolean }) => {
      const items = await (await connect(flags)).request<DockerObject[]>('DELETE', apiPath`/hosts/${host}/images/${ref}`, { query: { force: Boolean(flags.force) } });
      emit(flags.json, items, () => renderDeleted(items) || `removed ${ref}`);
    });

  clientCommand(image, 'prune', 'remove unused images (dangling only, unless --all)').argument('<host>')
    .option('-a, --all', 'remove every image no container uses, not only dangling ones')
    .action(async (host: string, flags: ClientFlags & { all?: boolean }) => {
      const r = await (await connect(flags)).request<DockerObject>('POST', apiPath`/hosts/${host}/images/prune`, { query: { all: Boolean(flags.all) } });
      const deleted = list(r.ImagesDeleted).map(obj);
      emit(flags.json, r, () => `${renderDeleted(deleted)}reclaimed ${formatBytes(num(r.SpaceReclaimed) ?? 0)}`);
    });
}

function renderImages(rows: DockerObject[]): string {
  const cells = rows.flatMap((img) => {
    const tags = list(img.RepoTags).map(String).filter((t) => t !== '<none>:<none>');
    const common = [shortId(img.Id), ago(num(img.Created)), formatBytes(num(img.Size))];
    if (!tags.length) return [['<none>', '<none>', ...common]];
    return tags.map((t) => {
      const colon = t.lastIndexOf(':');
      return [t.slice(0, colon), t.slice(colon + 1), ...common];
    });
  });
  return renderTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], cells);
}

function renderDeleted(items: DockerObject[]): string {
  return items.map((i) => (str(i.Untagged) ? `untagged: ${str(i.Untagged)}\n` : str(i.Deleted) ? `deleted: ${str(i.Deleted)}\n` : '')).join('');
}

/** Streams the engine's progress; an `{error}` line fails the command with that message. Ctrl-C stops (exit 130). */
async function pullImage(host: string, ref: string, flags: ClientFlags): Promise<void> {
  const client = await connect(flags);
  const printer = new PullProgressPrinter();
  const stop = abortOnInterrupt();
  try {
    const messages = client.stream<PullMessage>('POST', apiPath`/hosts/${host}/images/pull`, { query: { progress: true }, body: { image: ref }, signal: stop.signal });
    for await (const m of messages) {
      if (m.error) throw new Error(`pull ${ref} on ${host}: ${m.errorDetail?.message || m.error}`);
      printer.show(m);
    }
  } catch (err) {
    if (!stop.interrupted()) throw err;
    process.exitCode = 130;
    return;
  } finally {
    printer.finish();
    stop.dispose();
  }
  const image = await client.request<DockerObject>('GET', apiPath`/hosts/${host}/images/${ref}`);
  const result = { host, image: ref, id: str(image.Id), repoDigests: list(image.RepoDigests) };
  emit(flags.json, result, () => `pulled ${ref} on ${host}: ${result.id}`);
}
