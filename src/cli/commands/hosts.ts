// `flotilla host …`: register, list, inspect, remove, sync, maintenance, recovery, history;
// for agent hosts also pause, resume, revoke and ping.
import fsp from 'node:fs/promises';
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import { apiPath } from '../client/api-client.ts';
import { ago, emit, formatBytes, renderFields, renderTable } from '../client/output.ts';
import { withSpinner } from '../client/progress.ts';
import { environmentSchema, hostNameSchema, syncIntervalSchema } from '../../fleet/host-input.ts';
import { hostViewSchema, type HostView } from '../../fleet/host-view.ts';
import { pingResultSchema } from '../../api/routes/agents.ts';
import { clientCommand, commandGroup, connect, intInRange, type ClientFlags } from './common.ts';

const syncResultSchema = z.object({
  ok: z.boolean(), status: z.string(), durationMs: z.number(), error: z.string().optional(),
  counts: z.record(z.string(), z.number()).optional(),
});
type SyncResult = z.infer<typeof syncResultSchema>;
const historySchema = z.array(z.object({ from_status: z.string(), to_status: z.string(), reason: z.string().nullable(), at: z.string() }));

interface AddFlags extends ClientFlags {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  environment?: string;
  environmentLabel?: string;
  interval?: number;
}

export function registerHostCommands(program: Command): void {
  const host = commandGroup(program, 'host', 'manage the hosts (Docker engines) of the fleet');

  clientCommand(host, 'add', 'register a host by its Docker API endpoint')
    .addArgument(new Argument('<name>', 'host name').argParser(parseHostName))
    .argument('<endpoint>', 'Docker API endpoint: unix:///path, tcp://host:port, https://host:port')
    .option('--tls-ca <file>', 'CA certificate (PEM) to verify the engine')
    .option('--tls-cert <file>', 'client certificate (PEM)')
    .option('--tls-key <file>', 'client key (PEM)')
    .addOption(new Option('--environment <env>', 'environment').choices(environmentSchema.options))
    .option('--environment-label <label>', 'label shown for the environment (required with --environment custom)')
    .option('--interval <seconds>', 'sync interval in seconds (30–3600)', parseInterval)
    .action(addHost);

  clientCommand(host, 'ls', 'list hosts').action(async (flags: ClientFlags) => {
    const hosts = await (await connect(flags)).request('GET', '/hosts', { schema: z.array(hostViewSchema) });
    emit(flags.json, hosts, () => renderHosts(hosts));
  });

  clientCommand(host, 'show', 'show one host').argument('<name>').action(async (name: string, flags: ClientFlags) => {
    const h = await (await connect(flags)).request('GET', apiPath`/hosts/${name}`, { schema: hostViewSchema });
    emit(flags.json, h, () => renderHost(h));
  });

  clientCommand(host, 'rm', 'forget a host (its engine is not touched)').argument('<name>').action(async (name: string, flags: ClientFlags) => {
    await (await connect(flags)).request('DELETE', apiPath`/hosts/${name}`);
    emit(flags.json, { removed: name }, () => `removed host ${name}`);
  });

  registerHostStateCommands(host);
  registerAgentHostCommands(host);
}

/** Actions on agent hosts; the server refuses them for direct hosts. */
function registerAgentHostCommands(host: Command): void {
  for (const [action, description] of [['pause', 'pause an agent host'], ['resume', 'resume a paused agent host']] as const) {
    clientCommand(host, action, description).argument('<name>').action(async (name: string, flags: ClientFlags) => {
      const h = await (await connect(flags)).request('POST', apiPath`/hosts/${name}/${action}`, { schema: hostViewSchema });
      emit(flags.json, h, () => `${h.name}: agent ${h.agent?.state ?? '-'} (status ${h.status})`);
    });
  }

  clientCommand(host, 'revoke', 'revoke an agent: its certificate is refused from now on and the host is deleted')
    .argument('<name>').action(async (name: string, flags: ClientFlags) => {
      await (await connect(flags)).request('POST', apiPath`/hosts/${name}/revoke`);
      emit(flags.json, { revoked: name }, () => `revoked agent host ${name}: its certificate is refused and the host is removed; enroll again with a new token`);
    });

  clientCommand(host, 'ping', 'round trip to an agent over its channel').argument('<name>').action(async (name: string, flags: ClientFlags) => {
    const r = await (await connect(flags)).request('POST', apiPath`/hosts/${name}/ping`, { schema: pingResultSchema });
    emit(flags.json, r, () => `${name}: pong in ${r.rttMs} ms (agent clock ${new Date(r.agentTimeMs).toISOString()})`);
  });
}

/** Commands that change or report a host's status: sync, maintenance, recover, history. */
function registerHostStateCommands(host: Command): void {
  clientCommand(host, 'sync', 'sync a host now and wait for the result').argument('<name>').action(async (name: string, flags: ClientFlags) => {
    const client = await connect(flags);
    const result = await withSpinner(`syncing ${name}`, client.request('POST', apiPath`/hosts/${name}/sync`, { schema: syncResultSchema }));
    reportSync(name, result, flags);
  });

  clientCommand(host, 'maintenance', 'enter or leave maintenance (syncing stops while on)')
    .argument('<name>')
    .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off']))
    .action(async (name: string, state: 'on' | 'off', flags: ClientFlags) => {
      const body = { enabled: state === 'on' };
      const h = await (await connect(flags)).request('PUT', apiPath`/hosts/${name}/maintenance`, { body, schema: hostViewSchema });
      emit(flags.json, h, () => `${name}: maintenance ${state} (status ${h.status})`);
    });

  clientCommand(host, 'recover', 'take a host out of the error state and sync it').argument('<name>').action(async (name: string, flags: ClientFlags) => {
    const client = await connect(flags);
    const result = await withSpinner(`recovering ${name}`, client.request('POST', apiPath`/hosts/${name}/recover`, { schema: syncResultSchema }));
    reportSync(name, result, flags);
  });

  clientCommand(host, 'history', 'status changes of a host, newest first')
    .argument('<name>')
    .option('--limit <n>', 'how many (1–1000)', intInRange(1, 1000), 100)
    .action(async (name: string, flags: ClientFlags & { limit: number }) => {
      const rows = await (await connect(flags)).request('GET', apiPath`/hosts/${name}/history`, { query: { limit: flags.limit }, schema: historySchema });
      emit(flags.json, rows, () => renderTable(['AT', 'FROM', 'TO', 'REASON'], rows.map((r) => [r.at, r.from_status, r.to_status, r.reason])));
    });
}

function parseHostName(value: string): string {
  const parsed = hostNameSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]!.message);
  return value;
}

function parseInterval(value: string): number {
  const n = intInRange(1, Number.MAX_SAFE_INTEGER)(value);
  const parsed = syncIntervalSchema.safeParse(n);
  if (!parsed.success) throw new InvalidArgumentError(`the sync interval must be ${parsed.error.issues[0]!.message}`);
  return n;
}

async function readPem(option: string, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${option} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

async function addHost(name: string, endpoint: string, flags: AddFlags): Promise<void> {
  const [ca, cert, key] = await Promise.all([readPem('--tls-ca', flags.tlsCa), readPem('--tls-cert', flags.tlsCert), readPem('--tls-key', flags.tlsKey)]);
  const body = {
    name, endpoint,
    tls: ca || cert || key ? { ca, cert, key } : undefined,
    environment: flags.environment,
    environmentLabel: flags.environmentLabel,
    syncIntervalSeconds: flags.interval,
  };
  const h = await (await connect(flags)).request('POST', '/hosts', { body, schema: hostViewSchema });
  emit(flags.json, h, () => `added host ${h.name} (${h.endpoint}), status ${h.status}; it syncs every ${h.syncIntervalSeconds}s`);
}

function renderHosts(hosts: HostView[]): string {
  return renderTable(
    ['NAME', 'KIND', 'STATUS', 'ENDPOINT', 'ENGINE', 'VERSION', 'CONTAINERS', 'LAST SYNC'],
    hosts.map((h) => [
      h.name, h.kind, h.agent?.state === 'paused' ? `${h.status} (paused)` : h.status, h.endpoint, h.engine.name, h.engine.version,
      `${h.containers.running}/${h.containers.total}`, ago(h.lastSyncAt),
    ]),
  );
}

function renderHost(h: HostView): string {
  const env = h.environmentLabel ? `${h.environment} (${h.environmentLabel})` : h.environment;
  return renderFields([
    ['Name', h.name], ['ID', h.id], ['Kind', h.kind], ['Endpoint', h.endpoint], ['TLS', h.tls ? 'yes' : 'no'],
    ['Environment', env], ['Status', h.status], ['Reason', h.statusReason], ['Since', `${h.statusChangedAt} (${ago(h.statusChangedAt)})`],
    ['Failures', h.consecutiveFailures], ['Sync every', `${h.syncIntervalSeconds}s`],
    ['Last sync', h.lastSyncAt ? `${ago(h.lastSyncAt)}${h.lastSyncMs !== null ? ` (${h.lastSyncMs} ms)` : ''}` : 'never'],
    ['Last seen', ago(h.lastSeenAt)],
    ['Engine', h.engine.name], ['Engine ID', h.engine.id], ['Version', h.engine.version], ['API', h.engine.apiVersion],
    ['OS/arch', h.engine.os ? `${h.engine.os}/${h.engine.arch ?? '?'}` : null], ['CPUs', h.engine.cpus], ['Memory', h.engine.memoryBytes === null ? null : formatBytes(h.engine.memoryBytes)],
    ['Containers', `${h.containers.running} running / ${h.containers.total}`], ['Added', h.createdAt],
    ...(h.agent ? agentFields(h.agent) : []),
  ]);
}

function agentFields(a: NonNullable<HostView['agent']>): Array<[string, string | null]> {
  return [
    ['Agent state', a.state], ['Agent version', a.version], ['Features', a.features.join(', ') || null],
    ['Connected at', a.connectedAt], ['Disconnect', a.disconnectReason],
    ['Certificate', a.certSerial], ['Cert expires', a.certNotAfter],
  ];
}

/** A failed sync is a result, not a transport error: it is printed, and the exit code is 1. */
function reportSync(name: string, r: SyncResult, flags: ClientFlags): void {
  const counts = Object.entries(r.counts ?? {}).map(([k, v]) => `${v} ${k}`).join(', ');
  emit(flags.json, r, () => r.ok
    ? `${name}: synced in ${Math.round(r.durationMs)} ms, status ${r.status}${counts ? ` (${counts})` : ''}`
    : `${name}: sync failed after ${Math.round(r.durationMs)} ms, status ${r.status}: ${r.error ?? 'unknown error'}`);
  if (!r.ok) process.exitCode = 1;
}
