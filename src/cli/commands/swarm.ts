// `flotilla swarm …`: the clusters (list, show, register, rename, forget, sync,
// maintenance, recover, history, stacks) and which engines are in a swarm
// (init, join, leave, update, join-token).
import { Argument, type Command } from 'commander';
import { z } from 'zod';
import { apiPath } from '../client/api-client.ts';
import { ago, emit, renderFields, renderTable } from '../client/output.ts';
import { withSpinner } from '../client/progress.ts';
import { clusterViewSchema, type ClusterView } from '../../swarm/cluster-view.ts';
import { clientCommand, commandGroup, connect, intInRange, type ClientFlags } from './common.ts';

const syncResultSchema = z.object({ ok: z.boolean(), status: z.string(), durationMs: z.number(), error: z.string().optional(), manager: z.string().optional() });
const historySchema = z.array(z.object({ from_status: z.string(), to_status: z.string(), reason: z.string().nullable(), at: z.string() }));
const stacksSchema = z.array(z.object({ name: z.string(), services: z.array(z.string()), tasks: z.object({ running: z.number(), desired: z.number() }), belowDesired: z.array(z.string()) }));

export function registerSwarmCommands(program: Command): void {
  const swarm = commandGroup(program, 'swarm', 'Swarm clusters: list, register, sync, init, join, leave, update');

  clientCommand(swarm, 'ls', 'list Swarm clusters').action(async (flags: ClientFlags) => {
    const rows = await (await connect(flags)).request('GET', '/swarm/clusters', { schema: z.array(clusterViewSchema) });
    emit(flags.json, rows, () => renderTable(['NAME', 'STATUS', 'MANAGERS', 'NODES', 'LEADER', 'SERVICES', 'LAST SYNC', 'REASON'], rows.map((c) => [
      c.name, c.status, c.health ? `${c.health.managers.reachable}/${c.health.managers.total}` : '-',
      c.health ? `${c.health.nodes.ready}/${c.health.nodes.total}` : '-', c.health?.managers.leader?.hostname ?? '-',
      c.health ? String(c.health.services.total) : '-', ago(c.lastSyncAt), c.status === 'connected' ? '' : c.statusReason,
    ])));
  });

  clientCommand(swarm, 'show', 'one cluster: status, health, member hosts').argument('<cluster>').action(async (name: string, flags: ClientFlags) => {
    const c = await (await connect(flags)).request('GET', apiPath`/swarm/clusters/${name}`, { schema: clusterViewSchema });
    emit(flags.json, c, () => renderCluster(c));
  });

  clientCommand(swarm, 'add', 'register the cluster that a registered host manages').argument('<host>', 'a registered manager host')
    .option('--name <name>', 'name for the cluster in Flotilla')
    .option('--interval <seconds>', 'sync interval (30–3600)', intInRange(30, 3600))
    .action(async (host: string, flags: ClientFlags & { name?: string; interval?: number }) => {
      const body = { host, name: flags.name, syncIntervalSeconds: flags.interval };
      const c = await withSpinner(`registering the swarm of ${host}`, (await connect(flags)).request('POST', '/swarm/clusters', { body, schema: clusterViewSchema }));
      emit(flags.json, c, () => `registered cluster ${c.name} (${c.id}): ${c.status}${c.statusReason ? ` — ${c.statusReason}` : ''}`);
    });

  clientCommand(swarm, 'rename', 'rename a cluster').argument('<cluster>').argument('<new-name>').action(async (name: string, to: string, flags: ClientFlags) => {
    const c = await (await connect(flags)).request('PATCH', apiPath`/swarm/clusters/${name}`, { body: { name: to }, schema: clusterViewSchema });
    emit(flags.json, c, () => `renamed ${name} to ${c.name}`);
  });

  clientCommand(swarm, 'rm', 'forget a cluster (its engines are not touched)').argument('<cluster>').action(async (name: string, flags: ClientFlags) => {
    await (await connect(flags)).request('DELETE', apiPath`/swarm/clusters/${name}`);
    emit(flags.json, { removed: name }, () => `forgot cluster ${name}`);
  });

  clientCommand(swarm, 'sync', 'sync a cluster now and wait for the result').argument('<cluster>').action(async (name: string, flags: ClientFlags) => {
    const r = await withSpinner(`syncing ${name}`, (await connect(flags)).request('POST', apiPath`/swarm/clusters/${name}/sync`, { schema: syncResultSchema }));
    emit(flags.json, r, () => r.ok ? `${name}: ${r.status} in ${Math.round(r.durationMs)} ms (through ${r.manager})` : `${name}: ${r.status}: ${r.error}`);
    if (!r.ok) process.exitCode = 1;
  });

  clientCommand(swarm, 'maintenance', 'enter or leave maintenance (syncing stops while on)').argument('<cluster>')
    .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off']))
    .action(async (name: string, state: 'on' | 'off', flags: ClientFlags) => {
      const c = await (await connect(flags)).request('PUT', apiPath`/swarm/clusters/${name}/maintenance`, { body: { enabled: state === 'on' }, schema: clusterViewSchema });
      emit(flags.json, c, () => `${name}: maintenance ${state} (status ${c.status})`);
    });

  clientCommand(swarm, 'recover', 'take a cluster out of the error state and sync it').argument('<cluster>').action(async (name: string, flags: ClientFlags) => {
    const r = await withSpinner(`recovering ${name}`, (await connect(flags)).request('POST', apiPath`/swarm/clusters/${name}/recover`, { schema: syncResultSchema }));
    emit(flags.json, r, () => `${name}: ${r.status}${r.error ? `: ${r.error}` : ''}`);
  });

  clientCommand(swarm, 'history', 'status changes of a cluster, newest first').argument('<cluster>').action(async (name: string, flags: ClientFlags) => {
    const rows = await (await connect(flags)).request('GET', apiPath`/swarm/clusters/${name}/history`, { schema: historySchema });
    emit(flags.json, rows, () => renderTable(['AT', 'FROM', 'TO', 'REASON'], rows.map((r) => [r.at, r.from_status, r.to_status, r.reason])));
  });

  clientCommand(swarm, 'stacks', 'stacks of a cluster with their task counts').argument('<cluster>').action(async (name: string, flags: ClientFlags) => {
    const rows = await (await connect(flags)).request('GET', apiPath`/swarm/clusters/${name}/stacks`, { schema: stacksSchema });
    emit(flags.json, rows, () => renderTable(['STACK', 'SERVICES', 'TASKS', 'BELOW DESIRED'], rows.map((s) => [s.name, String(s.services.length), `${s.tasks.running}/${s.tasks.desired}`, s.belowDesired.join(', ')])));
  });

  registerLifecycleCommands(swarm);
}

function registerLifecycleCommands(swarm: Command): void {
  clientCommand(swarm, 'init', 'initialise a swarm on a registered host and register it').argument('<host>')
    .option('--name <name>', 'name for the new cluster in Flotilla')
    .option('--advertise-addr <addr>', 'address the other nodes reach this manager at')
    .option('--listen-addr <addr>', 'address to listen on for cluster traffic')
    .action(async (host: string, flags: ClientFlags & { name?: string; advertiseAddr?: string; listenAddr?: string }) => {
      const body = { host, name: flags.name, advertiseAddr: flags.advertiseAddr, listenAddr: flags.listenAddr };
      const c = await withSpinner(`initialising a swarm on ${host}`, (await connect(flags)).request('POST', '/swarm/init', { body, schema: clusterViewSchema }));
      emit(flags.json, c, () => `swarm initialised on ${host}: cluster ${c.name} (${c.id})`);
    });

  clientCommand(swarm, 'join', 'join a registered host (direct or agent) to a cluster').argument('<cluster>').argument('<host>')
    .addArgument(new Argument('[role]', 'worker or manager').choices(['worker', 'manager']).default('worker'))
    .option('--advertise-addr <addr>', 'address the other nodes reach this node at')
    .option('--timeout <seconds>', 'give up and cancel the join after this long (5–300)', intInRange(5, 300))
    .action(async (cluster: string, host: string, role: 'worker' | 'manager', flags: ClientFlags & { advertiseAddr?: string; timeout?: number }) => {
      const body = { host, role, advertiseAddr: flags.advertiseAddr, timeoutSeconds: flags.timeout };
      const c = await withSpinner(`joining ${host} to ${cluster} as a ${role}`, (await connect(flags)).request('POST', apiPath`/swarm/clusters/${cluster}/join`, { body, schema: clusterViewSchema }));
      emit(flags.json, c, () => `${host} joined ${c.name} as a ${role}; the cluster has ${c.health?.nodes.total ?? '?'} nodes`);
    });

  clientCommand(swarm, 'leave', 'make a registered host leave its swarm').argument('<host>')
    .option('-f, --force', 'leave even as a manager (may cost the swarm its quorum)')
    .option('--remove-node', 'also remove the node it leaves behind from the cluster')
    .action(async (host: string, flags: ClientFlags & { force?: boolean; removeNode?: boolean }) => {
      const body = { host, force: Boolean(flags.force), removeNode: Boolean(flags.removeNode) };
      const r = await withSpinner(`${host} leaving its swarm`, (await connect(flags)).request('POST', '/swarm/leave', { body }));
      emit(flags.json, r, () => `${host} left the swarm${body.removeNode ? ' and its node was removed' : ''}`);
    });

  clientCommand(swarm, 'update', 'update a swarm\'s settings or rotate its tokens').argument('<cluster>')
    .option('--rotate-worker-token', 'issue a new worker join token')
    .option('--rotate-manager-token', 'issue a new manager join token')
    .option('--rotate-unlock-key', 'issue a new unlock key (autolock)')
    .option('--task-history-limit <n>', 'tasks kept per slot (0–1000)', intInRange(0, 1000))
    .option('--cert-expiry <seconds>', 'validity of node certificates (≥ 3600)', intInRange(3600, 100 * 365 * 86400))
    .option('--autolock <on|off>', 'lock managers at restart until unlocked with the key')
    .action(async (cluster: string, flags: ClientFlags & { rotateWorkerToken?: boolean; rotateManagerToken?: boolean; rotateUnlockKey?: boolean; taskHistoryLimit?: number; certExpiry?: number; autolock?: string }) => {
      if (flags.autolock !== undefined && !['on', 'off'].includes(flags.autolock)) {
        process.stderr.write(`error: option '--autolock <on|off>' argument '${flags.autolock}' is invalid: on or off\n`);
        process.exit(2);
      }
      const body = {
        rotateWorkerToken: flags.rotateWorkerToken, rotateManagerToken: flags.rotateManagerToken, rotateUnlockKey: flags.rotateUnlockKey,
        taskHistoryLimit: flags.taskHistoryLimit, certExpirySeconds: flags.certExpiry, autolock: flags.autolock === undefined ? undefined : flags.autolock === 'on',
      };
      const r = await (await connect(flags)).request<{ cluster: ClusterView; unlockKey?: string }>('PATCH', apiPath`/swarm/clusters/${cluster}/settings`, { body });
      emit(flags.json, r, () => `updated ${cluster}${r.unlockKey ? `\nunlock key (shown once, keep it safe): ${r.unlockKey}` : ''}`);
    });

  clientCommand(swarm, 'join-token', 'print a join token and the managers\' addresses (admins; audited)').argument('<cluster>')
    .addArgument(new Argument('<role>', 'worker or manager').choices(['worker', 'manager']))
    .action(async (cluster: string, role: 'worker' | 'manager', flags: ClientFlags) => {
      const t = await (await connect(flags)).request<{ worker: string; manager: string; managerAddrs: string[] }>('GET', apiPath`/swarm/clusters/${cluster}/join-tokens`);
      emit(flags.json, { token: t[role], managerAddrs: t.managerAddrs }, () => `docker swarm join --token ${t[role]} ${t.managerAddrs[0] ?? '<manager-addr>'}`);
    });
}

function renderCluster(c: ClusterView): string {
  const h = c.health;
  const fields: Array<[string, string | null]> = [
    ['Name', c.name], ['Swarm ID', c.id], ['Status', c.status], ['Reason', c.statusReason], ['Origin', c.origin],
    ['Managers', h ? `${h.managers.reachable} of ${h.managers.total} reachable${h.managers.unreachable.length ? ` (unreachable: ${h.managers.unreachable.join(', ')})` : ''}` : '-'],
    ['Leader', h?.managers.leader?.hostname ?? '-'], ['Quorum', h ? (h.quorum ? 'yes' : 'LOST') : '-'],
    ['Nodes', h ? `${h.nodes.ready} of ${h.nodes.total} ready${h.nodes.down.length ? `; down: ${h.nodes.down.join(', ')}` : ''}${h.nodes.drained.length ? `; drained: ${h.nodes.drained.join(', ')}` : ''}` : '-'],
    ['Services', h ? `${h.services.total}${h.services.belowDesired.length ? `; below desired: ${h.services.belowDesired.map((s) => `${s.name} ${s.running}/${s.desired}`).join(', ')}` : ''}` : '-'],
    ['Last sync', `${ago(c.lastSyncAt)}${c.lastManager ? ` through ${c.lastManager}` : ''}`], ['Sync interval', `${c.syncIntervalSeconds} s`],
  ];
  const hosts = renderTable(['HOST', 'KIND', 'ROLE', 'STATUS'], c.hosts.map((x) => [x.name, x.kind, x.role ?? '-', x.status]));
  return `${renderFields(fields)}\n\n${hosts}`;
}
