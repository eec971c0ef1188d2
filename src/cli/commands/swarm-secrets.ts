// `flotilla secret …` and `flotilla config …`: the same commands for both
// kinds — list, create, inspect, remove, rotate (with progress). Content is
// read from a file or stdin (`-`), sent as base64, and never printed.
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { apiPath } from '../client/api-client.ts';
import { emit, renderFields, renderTable, shortId, ago } from '../client/output.ts';
import { clientCommand, collectKeyValue, commandGroup, connect, intInRange, keyValueRecord, type ClientFlags } from './common.ts';

interface DataView {
  id: string;
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  version: number;
  rotation: { of: string; version: number } | null;
  usedBy?: { id: string; name: string; target: { name: string; uid: string; gid: string; mode: number } | null }[];
}

interface RotationResult {
  ok: boolean;
  from: { id: string; name: string };
  to: { id: string; name: string } | null;
  services: { name: string; status: string; message?: string }[];
  oldRemoved: boolean;
  newRemoved: boolean;
  error?: string;
  oldKeptReason?: string;
  durationMs: number;
}

type RotationLine = { type: string; [k: string]: unknown };

/** The bytes of a file, or of stdin for "-". */
async function readContent(source: string): Promise<Buffer> {
  if (source !== '-') return fs.readFile(source);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function progressLine(kind: string, e: RotationLine): string | undefined {
  switch (e.type) {
    case 'created': return `created ${kind} ${String(e.name)}`;
    case 'removed': return `removed ${kind} ${String(e.name)}`;
    case 'service': {
      const counts = e.desired !== undefined ? ` ${String(e.running)}/${String(e.desired)} running with the new ${kind}${e.failedTasks ? `, ${String(e.failedTasks)} failed` : ''}` : '';
      return `service ${String(e.service)}: ${String(e.phase).replace('_', ' ')}${counts}${e.message ? ` — ${String(e.message)}` : ''}`;
    }
    default: return undefined;
  }
}

function rotationSummary(kind: string, r: RotationResult): string {
  const lines = [r.ok ? `rotated ${kind} ${r.from.name} → ${r.to?.name} in ${(r.durationMs / 1000).toFixed(1)}s` : `rotation failed: ${r.error}`];
  for (const s of r.services) lines.push(`  ${s.name}: ${s.status}${s.message && !r.ok ? ` (${s.message})` : ''}`);
  if (r.ok) lines.push(r.oldRemoved ? `removed ${r.from.name}` : `kept ${r.from.name}: ${r.oldKeptReason}`);
  else lines.push(`kept ${r.from.name}${r.to ? `; ${r.to.name} ${r.newRemoved ? 'removed again' : 'kept'}` : ''}`);
  return lines.join('\n');
}

function registerKind(program: Command, kind: 'secret' | 'config'): void {
  const group = commandGroup(program, kind, `Swarm ${kind}s of a cluster (content is never shown)`);
  const path = (cluster: string, ref?: string) => (ref === undefined ? apiPath`/swarm/clusters/${cluster}/${kind}s` : apiPath`/swarm/clusters/${cluster}/${kind}s/${ref}`);

  clientCommand(group, 'ls', `list ${kind}s`).argument('<cluster>').action(async (cluster: string, flags: ClientFlags) => {
    const rows = await (await connect(flags)).request<DataView[]>('GET', path(cluster));
    emit(flags.json, rows, () => renderTable(['ID', 'NAME', 'ROTATION', 'CREATED', 'UPDATED'],
      rows.map((o) => [shortId(o.id), o.name, o.rotation ? `${o.rotation.of} v${o.rotation.version}` : '', ago(o.createdAt), ago(o.updatedAt)])));
  });

  clientCommand(group, 'create', `create a ${kind} from a file or stdin (-)`).argument('<cluster>').argument('<name>').argument('<file>', 'path, or - for stdin')
    .option('-l, --label <key=value>', 'a label (repeatable)', collectKeyValue)
    .action(async (cluster: string, name: string, file: string, flags: ClientFlags & { label?: string[] }) => {
      const data = (await readContent(file)).toString('base64');
      const o = await (await connect(flags)).request<DataView>('POST', path(cluster), { body: { name, labels: keyValueRecord(flags.label), data, encoding: 'base64' } });
      emit(flags.json, o, () => o.id);
    });

  clientCommand(group, 'inspect', `a ${kind}'s metadata and the services using it`).argument('<cluster>').argument('<id>', 'ID, ID prefix or name')
    .action(async (cluster: string, ref: string, flags: ClientFlags) => {
      const o = await (await connect(flags)).request<DataView>('GET', path(cluster, ref));
      emit(flags.json, o, () => renderFields([
        ['ID', o.id], ['Name', o.name], ['Labels', Object.entries(o.labels).map(([k, v]) => `${k}=${v}`).join(', ') || null],
        ['Rotation', o.rotation ? `of ${o.rotation.of}, version ${o.rotation.version}` : null], ['Created', o.createdAt], ['Updated', o.updatedAt],
        ['Used by', (o.usedBy ?? []).map((u) => (u.target ? `${u.name} (${u.target.name} ${u.target.uid}:${u.target.gid} ${u.target.mode.toString(8).padStart(4, '0')})` : u.name)).join(', ') || null],
      ]));
    });

  clientCommand(group, 'rm', `remove a ${kind} (refused while a service uses it)`).argument('<cluster>').argument('<id>', 'ID, ID prefix or name')
    .action(async (cluster: string, ref: string, flags: ClientFlags) => {
      const r = await (await connect(flags)).request<{ id: string; name: string }>('DELETE', path(cluster, ref));
      emit(flags.json, r, () => `removed ${kind} ${r.name}`);
    });

  clientCommand(group, 'rotate', `replace a ${kind}'s content: the next version, every service moved to it, the old one removed`)
    .argument('<cluster>').argument('<id>', 'ID, ID prefix or name').argument('<file>', 'the new content: path, or - for stdin')
    .option('--timeout <seconds>', 'deadline for each service to converge', intInRange(5, 1800), 120)
    .action(async (cluster: string, ref: string, file: string, flags: ClientFlags & { timeout: number }) => {
      const data = (await readContent(file)).toString('base64');
      const client = await connect(flags);
      let result: RotationResult | undefined;
      const lines = client.stream<RotationLine>('POST', apiPath`/swarm/clusters/${cluster}/${kind}s/${ref}/rotate`, {
        query: { progress: 'true' }, body: { data, encoding: 'base64', timeoutSeconds: flags.timeout },
      });
      for await (const e of lines) {
        if (e.type === 'result') result = e as unknown as RotationResult;
        else if (e.type === 'error') throw new Error(String(e.error));
        else {
          const text = progressLine(kind, e);
          if (text) process.stderr.write(`${text}\n`);
        }
      }
      if (!result) throw new Error('the server ended the rotation without a result');
      const { type: _type, ...plain } = result as RotationResult & { type?: string };
      emit(flags.json, plain, () => rotationSummary(kind, result));
      if (!result.ok) process.exitCode = 1;
    });
}

export function registerSecretCommands(program: Command): void {
  registerKind(program, 'secret');
  registerKind(program, 'config');
}
