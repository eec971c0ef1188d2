// Swarm nodes of one cluster: list with the registered Flotilla host of each
// node, inspect, availability, promote/demote, labels, remove. Every change is a
// read-modify-write with the node's version; the manager guard refuses to demote
// or remove the last reachable manager, or to drop below quorum, unless forced.
import { z } from 'zod';
import type { DockerClient } from '../docker/client.ts';
import { inspectNode, listNodes, listTasks, removeNode, updateNode, type NodeSpec, type SwarmNode, type SwarmTask } from '../docker/swarm.ts';
import { BadRequest, Conflict, DockerApiError, NotFound } from '../errors.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { Swarm } from './swarm.ts';

export const nodeViewSchema = z.object({
  id: z.string(),
  hostname: z.string(),
  /** The registered Flotilla host that is this node, if any. */
  host: z.string().nullable(),
  role: z.enum(['manager', 'worker']),
  availability: z.enum(['active', 'pause', 'drain']),
  state: z.string().describe('ready, down, unknown, disconnected'),
  message: z.string().nullable(),
  addr: z.string().nullable(),
  leader: z.boolean(),
  /** Managers only: reachable, unreachable, unknown. */
  reachability: z.string().nullable(),
  engineVersion: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  version: z.number(),
});
export type NodeView = z.infer<typeof nodeViewSchema>;

export const drainReportSchema = z.object({
  /** Tasks that ran on the node when it was drained. */
  tasks: z.number(),
  /** Of those, tasks whose slot runs again on another node (replicated) or that simply stopped (global). */
  moved: z.number(),
  /** Tasks still running on the node (0 once done). */
  remaining: z.number(),
  done: z.boolean(),
  waitedMs: z.number(),
});
export type DrainReport = z.infer<typeof drainReportSchema>;

export interface NodePatch {
  availability?: 'active' | 'pause' | 'drain';
  labelsAdd?: Record<string, string>;
  labelsRemove?: string[];
  /** The Version.Index the change is based on; a newer node is 409. Omitted: the current one (retried once if it moves underneath). */
  version?: number;
  /** With availability=drain: wait until the node's tasks have moved (up to waitSeconds). */
  wait?: boolean;
  waitSeconds?: number;
}

const OUT_OF_SEQUENCE = /update out of sequence/i;
const DRAIN_POLL_MS = 500;

type HostLink = { name: string; nodeId: string | null };

function toNodeView(n: SwarmNode, hosts: HostLink[]): NodeView {
  return {
    id: n.ID,
    hostname: n.Description?.Hostname ?? '',
    host: hosts.find((h) => h.nodeId === n.ID)?.name ?? null,
    role: n.Spec.Role,
    availability: n.Spec.Availability,
    state: n.Status?.State ?? 'unknown',
    message: n.Status?.Message || null,
    addr: n.Status?.Addr ?? null,
    leader: n.ManagerStatus?.Leader === true,
    reachability: n.ManagerStatus?.Reachability ?? null,
    engineVersion: n.Description?.Engine?.EngineVersion ?? null,
    labels: n.Spec.Labels ?? {},
    version: n.Version.Index,
  };
}

/**
 * A node by ID, hostname, registered host name, or unique ID prefix — in that
 * order, so a hostname that looks like a prefix still means that host.
 */
export function resolveNode(nodes: SwarmNode[], ref: string, hosts: HostLink[], cluster: string): SwarmNode {
  const byId = nodes.find((n) => n.ID === ref);
  if (byId) return byId;
  const byHostname = nodes.filter((n) => n.Description?.Hostname === ref);
  if (byHostname.length === 1) return byHostname[0]!;
  if (byHostname.length > 1) throw new BadRequest(`"${ref}" is the hostname of ${byHostname.length} nodes (${byHostname.map((n) => n.ID).join(', ')}): name one by ID`, 'node');
  const host = hosts.find((h) => h.name === ref && h.nodeId);
  const byHost = host && nodes.find((n) => n.ID === host.nodeId);
  if (byHost) return byHost;
  const byPrefix = nodes.filter((n) => n.ID.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new BadRequest(`node ID prefix "${ref}" is ambiguous (${byPrefix.map((n) => n.ID).join(', ')})`, 'node');
  throw new NotFound(`node "${ref}" not found in swarm cluster "${cluster}"`);
}

/**
 * Why demoting or removing `target` would leave the swarm without a reachable
 * manager or below quorum, or undefined when it is safe. Counts reachability
 * as the managers themselves report it (ManagerStatus.Reachability).
 */
export function managerLossReason(nodes: SwarmNode[], target: SwarmNode, action: 'demote' | 'remove'): string | undefined {
  if (target.Spec.Role !== 'manager' && !target.ManagerStatus) return undefined;
  const managers = nodes.filter((n) => n.ManagerStatus || n.Spec.Role === 'manager');
  const reachable = managers.filter((n) => n.ManagerStatus?.Reachability === 'reachable');
  const targetReachable = target.ManagerStatus?.Reachability === 'reachable';
  const name = target.Description?.Hostname ?? target.ID;
  const verb = action === 'demote' ? 'demoting' : 'removing';
  if (targetReachable && reachable.length <= 1) {
    return `node "${name}" is the last reachable manager of the swarm (${reachable.length} of ${managers.length} managers reachable): ${verb} it leaves no manager to run the swarm`;
  }
  const after = managers.length - 1;
  const reachableAfter = reachable.length - (targetReachable ? 1 : 0);
  const quorum = Math.floor(after / 2) + 1;
  if (after > 0 && reachableAfter < quorum) {
    return `${verb} node "${name}" leaves ${reachableAfter} reachable of ${after} managers, below the quorum of ${quorum}: the swarm could no longer elect a leader or accept changes`;
  }
  return undefined;
}

function applyPatch(spec: NodeSpec, patch: NodePatch): NodeSpec {
  const labels = { ...(spec.Labels ?? {}), ...(patch.labelsAdd ?? {}) };
  for (const k of patch.labelsRemove ?? []) delete labels[k];
  return { ...spec, Labels: labels, ...(patch.availability ? { Availability: patch.availability } : {}) };
}

function isOutOfSequence(err: unknown): boolean {
  return err instanceof DockerApiError && OUT_OF_SEQUENCE.test(err.message);
}

export class SwarmNodes {
  private readonly swarm: Swarm;
  private readonly fleet: Fleet;

  constructor(deps: { swarm: Swarm; fleet: Fleet }) {
    this.swarm = deps.swarm;
    this.fleet = deps.fleet;
  }

  /**
   * Registered hosts by the node ID their engine reported. Node IDs are unique
   * across swarms, so a host is matched even before the cluster's next sync
   * links it (a worker added a moment ago); a duplicate registration is not.
   */
  private async hosts(cluster: string): Promise<{ id: string; hosts: HostLink[] }> {
    const [view, all] = await Promise.all([this.swarm.get(cluster), this.fleet.listHosts()]);
    const linked = view.hosts.map((h) => ({ name: h.name, nodeId: h.nodeId }));
    const others = all.filter((h) => h.swarm?.nodeId && !h.duplicateOf && !linked.some((l) => l.name === h.name || l.nodeId === h.swarm!.nodeId))
      .map((h) => ({ name: h.name, nodeId: h.swarm!.nodeId }));
    return { id: view.id, hosts: [...linked, ...others] };
  }

  async list(cluster: string): Promise<NodeView[]> {
    const { hosts } = await this.hosts(cluster);
    const nodes = await this.swarm.withManager(cluster, (docker) => listNodes(docker));
    return nodes.map((n) => toNodeView(n, hosts)).sort((a, b) => a.hostname.localeCompare(b.hostname));
  }

  /** The node's view and the engine's full inspect answer. */
  async inspect(cluster: string, ref: string): Promise<{ view: NodeView; node: SwarmNode }> {
    const { hosts } = await this.hosts(cluster);
    const node = await this.swarm.withManager(cluster, async (docker) => resolveNode(await listNodes(docker), ref, hosts, cluster));
    return { view: toNodeView(node, hosts), node };
  }

  /**
   * Availability and labels. With a pinned version a newer node is 409; without
   * one, "update out of sequence" (someone wrote in between) re-reads and applies
   * the same change once more — the patch is relative, so nothing is lost.
   */
  async update(cluster: string, ref: string, patch: NodePatch): Promise<NodeView & { drain?: DrainReport }> {
    const { hosts } = await this.hosts(cluster);
    const before = await this.swarm.withManager(cluster, async (docker) => {
      const node = resolveNode(await listNodes(docker), ref, hosts, cluster);
      await this.writeSpec(docker, node, (spec) => applyPatch(spec, patch), patch.version);
      return node;
    });
    let drain: DrainReport | undefined;
    if (patch.availability === 'drain' && before.Spec.Availability !== 'drain' && patch.wait) {
      drain = await this.waitDrained(cluster, before.ID, (patch.waitSeconds ?? 60) * 1000);
    }
    const after = await this.swarm.withManager(cluster, (docker) => inspectNode(docker, before.ID));
    return { ...toNodeView(after, hosts), ...(drain ? { drain } : {}) };
  }

  async promote(cluster: string, ref: string): Promise<NodeView> {
    return this.setRole(cluster, ref, 'manager', false);
  }

  async demote(cluster: string, ref: string, force = false): Promise<NodeView> {
    return this.setRole(cluster, ref, 'worker', force);
  }

  /** Only a down node, unless forced (the engine decides and its message is passed on); the manager guard applies first. */
  async remove(cluster: string, ref: string, force = false): Promise<{ id: string; hostname: string }> {
    const { hosts } = await this.hosts(cluster);
    const node = await this.swarm.withManager(cluster, async (docker) => {
      const nodes = await listNodes(docker);
      const target = resolveNode(nodes, ref, hosts, cluster);
      const reason = managerLossReason(nodes, target, 'remove');
      if (reason && !force) throw new Conflict(`${reason} (force to remove it anyway)`);
      await removeNode(docker, target.ID, { force });
      return target;
    });
    await this.swarm.syncNow(cluster).catch(() => undefined);
    return { id: node.ID, hostname: node.Description?.Hostname ?? '' };
  }

  private async setRole(cluster: string, ref: string, role: 'manager' | 'worker', force: boolean): Promise<NodeView> {
    const { hosts } = await this.hosts(cluster);
    const node = await this.swarm.withManager(cluster, async (docker) => {
      const nodes = await listNodes(docker);
      const target = resolveNode(nodes, ref, hosts, cluster);
      if (role === 'worker') {
        const reason = managerLossReason(nodes, target, 'demote');
        if (reason && !force) throw new Conflict(`${reason} (force to demote it anyway)`);
      }
      if (target.Spec.Role !== role) await this.writeSpec(docker, target, (spec) => ({ ...spec, Role: role }));
      return target;
    });
    // The host's own sync records its new role, so the manager router knows whom to ask.
    const host = hosts.find((h) => h.nodeId === node.ID);
    if (host) await this.fleet.syncNow(host.name).catch(() => undefined);
    await this.swarm.syncNow(cluster).catch(() => undefined);
    const after = await this.swarm.withManager(cluster, (docker) => inspectNode(docker, node.ID));
    return toNodeView(after, hosts);
  }

  /** One write at the node's version; re-read and retried once when it moved underneath (unless the caller pinned a version). */
  private async writeSpec(docker: DockerClient, node: SwarmNode, change: (spec: NodeSpec) => NodeSpec, pinned?: number): Promise<void> {
    const name = node.Description?.Hostname ?? node.ID;
    if (pinned !== undefined && pinned !== node.Version.Index) {
      throw new Conflict(`node "${name}" changed: version ${pinned} was given, it is now at ${node.Version.Index}; read it again`);
    }
    try {
      await updateNode(docker, node.ID, node.Version.Index, change(node.Spec));
    } catch (err) {
      if (!isOutOfSequence(err)) throw err;
      if (pinned !== undefined) throw new Conflict(`node "${name}" changed while it was updated (version ${pinned} is stale); read it again`);
      const fresh = await inspectNode(docker, node.ID);
      try {
        await updateNode(docker, node.ID, fresh.Version.Index, change(fresh.Spec));
      } catch (again) {
        if (isOutOfSequence(again)) throw new Conflict(`node "${name}" keeps changing underneath (update out of sequence twice); try again`);
        throw again;
      }
    }
  }

  /**
   * After a drain: waits until no task still runs on the node and every
   * replicated slot that ran there runs on another node (global tasks just stop).
   */
  async waitDrained(cluster: string, nodeId: string, timeoutMs: number): Promise<DrainReport> {
    const started = Date.now();
    const initial = await this.swarm.withManager(cluster, (docker) => listTasks(docker, { filters: { node: [nodeId] } }));
    const onNode = initial.filter((t) => t.Status.State === 'running' || t.DesiredState === 'running');
    let report: DrainReport = { tasks: onNode.length, moved: 0, remaining: onNode.length, done: onNode.length === 0, waitedMs: 0 };
    while (!report.done && Date.now() - started < timeoutMs) {
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
      const tasks = await this.swarm.withManager(cluster, (docker) => listTasks(docker, { filters: { service: [...new Set(onNode.map((t) => t.ServiceID))] } }));
      report = drainProgress(onNode, tasks, nodeId, Date.now() - started);
    }
    return { ...report, waitedMs: Date.now() - started };
  }
}

/** How far a drain has come: `before` are the tasks that were on the node, `now` the services' current tasks. */
export function drainProgress(before: SwarmTask[], now: SwarmTask[], nodeId: string, waitedMs: number): DrainReport {
  const stillHere = now.filter((t) => t.NodeID === nodeId && (t.Status.State === 'running' || t.DesiredState === 'running'));
  let moved = 0;
  for (const t of before) {
    const gone = !stillHere.some((s) => s.ID === t.ID);
    if (!gone) continue;
    // Replicated tasks have a slot that must run elsewhere; global ones (no slot) are done when they stop.
    if (t.Slot === undefined || t.Slot === 0) moved++;
    else if (now.some((s) => s.ServiceID === t.ServiceID && s.Slot === t.Slot && s.NodeID !== nodeId && s.Status.State === 'running')) moved++;
  }
  return { tasks: before.length, moved, remaining: stillHere.length, done: stillHere.length === 0 && moved === before.length, waitedMs };
}
