// `flotilla audit` (who did what) and `flotilla events` (Docker events from the hosts).
import type { Command } from 'commander';
import { z } from 'zod';
import { emit, obj, print, printJson, renderTable, str } from '../client/output.ts';
import { hostViewSchema } from '../../fleet/host-view.ts';
import { clientCommand, connect, intInRange, type ClientFlags } from './common.ts';

const auditEntrySchema = z.object({
  id: z.number(), at: z.string(), username: z.string().nullable(), action: z.string(),
  target: z.string().nullable(), result: z.string(), detail: z.string().nullable(),
});
const eventSchema = z.object({
  id: z.number(), at: z.string(), host_id: z.string().nullable(), type: z.string(), action: z.string(),
  actor_id: z.string().nullable(), data: z.unknown(),
});

export function registerAuditCommands(program: Command): void {
  clientCommand(program, 'audit', 'the audit log, newest first')
    .option('--limit <n>', 'how many entries (1–1000)', intInRange(1, 1000), 100)
    .option('--user <username>', 'only this user\'s actions')
    .option('--action <action>', 'only this action, e.g. host.add')
    .action(async (flags: ClientFlags & { limit: number; user?: string; action?: string }) => {
      const query = { limit: flags.limit, username: flags.user, action: flags.action };
      const rows = await (await connect(flags)).request('GET', '/audit', { query, schema: z.array(auditEntrySchema) });
      emit(flags.json, rows, () => renderTable(
        ['AT', 'USER', 'ACTION', 'TARGET', 'RESULT', 'DETAIL'],
        rows.map((r) => [r.at, r.username, r.action, r.target, r.result, r.detail]),
      ));
    });

  clientCommand(program, 'events', 'Docker events ingested from the hosts, newest first')
    .option('--host <name>', 'only this host\'s events')
    .option('--limit <n>', 'how many events (1–1000)', intInRange(1, 1000), 100)
    .action(async (flags: ClientFlags & { limit: number; host?: string }) => {
      const client = await connect(flags);
      const rows = await client.request('GET', '/events', { query: { host: flags.host, limit: flags.limit }, schema: z.array(eventSchema) });
      if (flags.json) return printJson(rows);
      const hosts = await client.request('GET', '/hosts', { schema: z.array(hostViewSchema) });
      const hostName = new Map(hosts.map((h) => [h.id, h.name]));
      print(renderTable(
        ['AT', 'HOST', 'TYPE', 'ACTION', 'ACTOR'],
        rows.map((e) => [e.at, e.host_id ? (hostName.get(e.host_id) ?? e.host_id) : null, e.type, e.action, actorName(e.actor_id, e.data)]),
      ));
    });
}

/** Docker puts the readable name of the object in Actor.Attributes.name; fall back to the short id. */
function actorName(actorId: string | null, data: unknown): string | undefined {
  const name = str(obj(obj(obj(data).Actor).Attributes).name);
  return name ?? actorId?.slice(0, 12);
}
