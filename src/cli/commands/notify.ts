// `flotilla notify …`: where image-update notices go (SPEC S15) — webhooks
// (signed with the secret), Slack and ntfy. The secret is read from stdin and
// never shown; the server shows URLs as scheme://host/… only.
import { z } from 'zod';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { apiPath } from '../client/api-client.ts';
import { ago, emit, renderTable } from '../client/output.ts';
import { readSecret } from '../client/password.ts';
import { NOTICE_KINDS, TARGET_KINDS, type NoticeKind } from '../../store/notifications-repo.ts';
import { clientCommand, commandGroup, connect, parseServerUrl, type ClientFlags } from './common.ts';

const lastDeliverySchema = z.object({ ok: z.boolean(), at: z.string(), attempts: z.number(), event: z.string(), status: z.number().optional(), error: z.string().optional() });
const targetSchema = z.object({
  id: z.string(), name: z.string(), kind: z.enum(TARGET_KINDS), url: z.string(), hasSecret: z.boolean(),
  events: z.array(z.enum(NOTICE_KINDS)), enabled: z.boolean(), createdAt: z.string(), lastDelivery: lastDeliverySchema.optional(),
});
const deliverySchema = z.object({
  targetId: z.string(), targetName: z.string(), event: z.string(), deliveryId: z.string(), ok: z.boolean(), attempts: z.number(),
  status: z.number().optional(), error: z.string().optional(), durationMs: z.number(),
});

interface AddFlags extends Omit<ClientFlags, 'url'> {
  serverUrl?: string;
  url: string;
  kind: (typeof TARGET_KINDS)[number];
  secretStdin?: boolean;
  events?: NoticeKind[];
}

export function registerNotifyCommands(program: Command): void {
  const notify = commandGroup(program, 'notify', 'where image-update notices are sent: webhook, Slack, ntfy');

  // Here --url is the target's URL, as users write it; the Flotilla server's URL is --server-url.
  notify.command('add').description('add a notification target').argument('<name>')
    .option('--server-url <url>', 'Flotilla server URL (default: $FLOTILLA_URL, else the saved login)', parseServerUrl)
    .option('--token <token>', 'API token (default: $FLOTILLA_TOKEN, else the saved login)')
    .option('--json', 'print machine-readable JSON')
    .addOption(new Option('--kind <kind>', 'how notices are sent').choices(TARGET_KINDS).makeOptionMandatory())
    .requiredOption('--url <url>', 'where to send them (webhook endpoint, Slack incoming webhook, ntfy topic URL)')
    .option('--secret-stdin', 'read the secret from stdin: the webhook\'s signing key, or ntfy\'s access token')
    .option('--events <list>', `the notices to send, comma-separated (default all: ${NOTICE_KINDS.join(',')})`, parseEvents)
    .action(async (name: string, flags: AddFlags) => {
      const client = await connect({ url: flags.serverUrl, token: flags.token });
      const secret = flags.secretStdin ? await readSecret({ fromStdin: true, prompt: '', what: 'secret', stdinFlag: '--secret-stdin' }) : undefined;
      const t = await client.request('POST', '/notifications', { body: { name, kind: flags.kind, url: flags.url, secret, events: flags.events }, schema: targetSchema });
      emit(flags.json, t, () => `added ${t.kind} target ${t.name} (${t.url}) for ${t.events.join(', ')}${t.hasSecret ? '' : t.kind === 'webhook' ? '; unsigned: no secret' : ''}`);
    });

  clientCommand(notify, 'ls', 'list notification targets and their last delivery').action(async (flags: ClientFlags) => {
    const rows = await (await connect(flags)).request('GET', '/notifications', { schema: z.array(targetSchema) });
    emit(flags.json, rows, () => renderTable(['NAME', 'KIND', 'URL', 'SECRET', 'EVENTS', 'ENABLED', 'LAST DELIVERY'], rows.map((t) => [
      t.name, t.kind, t.url, t.hasSecret ? 'set' : 'none', t.events.join(','), t.enabled ? 'yes' : 'no',
      t.lastDelivery ? `${t.lastDelivery.ok ? 'ok' : `failed (${t.lastDelivery.error ?? t.lastDelivery.status ?? 'unknown'})`} ${ago(t.lastDelivery.at)}` : 'never',
    ])));
  });

  clientCommand(notify, 'rm', 'remove a notification target').argument('<name>', 'name or id').action(async (name: string, flags: ClientFlags) => {
    await (await connect(flags)).request('DELETE', apiPath`/notifications/${name}`);
    emit(flags.json, { removed: name }, () => `removed notification target ${name}`);
  });

  clientCommand(notify, 'test', 'send a test notice now; exit 1 when it was not delivered').argument('<name>', 'name or id').action(async (name: string, flags: ClientFlags) => {
    const d = await (await connect(flags)).request('POST', apiPath`/notifications/${name}/test`, { schema: deliverySchema });
    const tries = `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`;
    emit(flags.json, d, () => (d.ok
      ? `delivery ok to ${d.targetName}: ${tries}, status ${d.status ?? '-'}, ${d.durationMs} ms (delivery ${d.deliveryId})`
      : `delivery failed to ${d.targetName} after ${tries}: ${d.error ?? `status ${d.status ?? '-'}`}`));
    if (!d.ok) process.exitCode = 1;
  });
}

function parseEvents(value: string): NoticeKind[] {
  const events = value.split(',').map((e) => e.trim()).filter(Boolean);
  const unknown = events.filter((e) => !(NOTICE_KINDS as readonly string[]).includes(e));
  if (!events.length || unknown.length) throw new InvalidArgumentError(`${unknown.length ? `unknown event ${unknown.join(', ')}: ` : ''}choose from ${NOTICE_KINDS.join(', ')}`);
  return events as NoticeKind[];
}
