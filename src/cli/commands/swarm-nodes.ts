// `flotilla node …`: the nodes of a Swarm cluster — list, inspect, update
// (availability, labels), promote, demote, remove.
import { InvalidArgumentError, type Command } from 'commander';
import { apiPath } from '../client/api-client.ts';
import { emit, renderFields, renderTable, shortId } from '../client/output.ts';
import { clientCommand, collectKeyValue, commandGroup, connect, intInRange, keyValueRecord, type ClientFlags } from './common.ts';

interface NodeView {
  id: string;
  hostname: string;
  host: string | null;
  role: string;
  availability: string;
  state: string;
  message: string | null;
  addr: string | null;
  leader: boolean;
  reachability: string | null;
  engineVersion: string | null;
  labels: Record<string, string>;
  version: number;
  drain?: { tasks: number; moved: number; remaining: number; done: boolean; waitedMs: number };
}

function managerStatus(n: NodeView): string {
  if (n.role !== 'manager') return '';
  return n.leader ? 'Leader' : n.reachability === 'reachable' ? 'Reachable' : (n.reachability ?? 'unknown');
}

function nodeFields(n: NodeView): string {
  return renderFields([
    ['ID', n.id], ['Hostname', n.hostname], ['Host', n.host], ['Role', n.role], ['Availability', n.availability],
    ['State', n.message ? `${n.state} (${n.message})` : n.state], ['Manager', managerStatus(n) || null], ['Address', n.addr],
    ['Engine', n.engineVersion], ['Labels', Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(', ') || null], ['Version', n.version],
  ]);
}

function availability(value: string): 'active' | 'pause' | 'drain' {
  if (value !== 'active' && value !== 'pause' && value !== 'drain') throw new InvalidArgumentError('must be active, pause or drain');
  return value;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerNodeCommands(program: Command): void {
  const node = commandGroup(program, 'node', 'nodes of a Swarm cluster');
  const path = (cluster: string, ref?: string) => (ref === undefined ? apiPath`/swarm/clusters/${cluster}/nodes` : apiPath`/swarm/clusters/${cluster}/nodes/${ref}`);

  clientCommand(node, 'ls', 'list the nodes with their registered host').argument('<cluster>').action(async (cluster: string, flags: ClientFlags) => {
    const rows = await (await connect(flags)).request<NodeView[]>('GET', path(cluster));
    emit(flags.json, rows, () => renderTable(['ID', 'HOSTNAME', 'HOST', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE'],
      rows.map((n) => [shortId(n.id), n.hostname, n.host, n.state, n.availability, managerStatus(n), n.engineVersion])));
  });

  clientCommand(node, 'inspect', 'one node (ID, ID prefix, hostname or registered host name)').argument('<cluster>').argument('<node>')
    .action(async (cluster: string, ref: string, flags: ClientFlags) => {
      const n = await (await connect(flags)).request<NodeView>('GET', path(cluster, ref));
      emit(flags.json, n, () => nodeFields(n));
    });

  clientCommand(node, 'update', 'change availability and labels').argument('<cluster>').argument('<node>')
    .option('--availability <state>', 'active, pause or drain', availability)
    .option('--label-add <key=value>', 'add or change a label (repeatable)', collectKeyValue)
    .option('--label-rm <key>', 'remove a label (repeatable)', collect)
    .option('--wait', 'with --availability drain: wait until the node\'s tasks run elsewhere')
    .option('--timeout <seconds>', 'how long --wait waits', intInRange(1, 600), 60)
    .action(async (cluster: string, ref: string, flags: ClientFlags & { availability?: string; labelAdd?: string[]; labelRm?: string[]; wait?: boolean; timeout: number }, cmd: Command) => {
      if (!flags.availability && !flags.labelAdd && !flags.labelRm) cmd.error('error: nothing to change: give --availability, --label-add or --label-rm', { exitCode: 2, code: 'flotilla.usage' });
      const body = { availability: flags.availability, labelsAdd: keyValueRecord(flags.labelAdd), labelsRemove: flags.labelRm, wait: flags.wait, waitSeconds: flags.wait ? flags.timeout : undefined };
      const n = await (await connect(flags)).request<NodeView>('PATCH', path(cluster, ref), { body });
      emit(flags.json, n, () => {
        const drain = n.drain ? `\n${n.drain.done ? 'drained' : 'still draining'}: ${n.drain.moved} of ${n.drain.tasks} tasks moved, ${n.drain.remaining} left on the node (${(n.drain.waitedMs / 1000).toFixed(1)}s)` : '';
        return `updated node ${n.hostname}: ${n.availability}${Object.keys(n.labels).length ? `, labels ${Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}${drain}`;
      });
      if (n.drain && !n.drain.done) process.exitCode = 1;
    });

  clientCommand(node, 'promote', 'make a node a manager').argument('<cluster>').argument('<node>').action(async (cluster: string, ref: string, flags: ClientFlags) => {
    const n = await (await connect(flags)).request<NodeView>('POST', apiPath`/swarm/clusters/${cluster}/nodes/${ref}/promote`, { body: {} });
    emit(flags.json, n, () => `node ${n.hostname} is now a ${n.role}`);
  });

  clientCommand(node, 'demote', 'make a manager a worker (refused for the last reachable manager or below quorum unless --force)').argument('<cluster>').argument('<node>')
    .option('-f, --force', 'demote even when it leaves no reachable manager or loses quorum')
    .action(async (cluster: string, ref: string, flags: ClientFlags & { force?: boolean }) => {
      const n = await (await connect(flags)).request<NodeView>('POST', apiPath`/swarm/clusters/${cluster}/nodes/${ref}/demote`, { body: { force: Boolean(flags.force) } });
      emit(flags.json, n, () => `node ${n.hostname} is now a ${n.role}`);
    });

  clientCommand(node, 'rm', 'remove a node from the swarm (a down one unless --force)').argument('<cluster>').argument('<node>')
    .option('-f, --force', 'remove a node that is not down, or the last reachable manager')
    .action(async (cluster: string, ref: string, flags: ClientFlags & { force?: boolean }) => {
      const r = await (await connect(flags)).request<{ id: string; hostname: string }>('DELETE', path(cluster, ref), { query: { force: flags.force ? 'true' : undefined } });
      emit(flags.json, r, () => `removed node ${r.hostname} (${shortId(r.id)})`);
    });
}
