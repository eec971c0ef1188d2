// Which engines are in a swarm (SPEC W8): init a swarm on a registered host,
// join registered hosts (direct or agent, the same way) as workers or managers,
// leave, and update the swarm's settings. Join tokens are read from a manager
// and used here; they leave the server only when an admin asks for them.
import type { Logger } from '../log.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { DockerClient } from '../docker/client.ts';
import { getInfo } from '../docker/system.ts';
import { getUnlockKey, initSwarm, inspectSwarm, joinSwarm, leaveSwarm, listNodes, removeNode, updateSwarm } from '../docker/swarm.ts';
import { BadRequest, Conflict, HostTimeout } from '../errors.ts';
import type { Swarm } from './swarm.ts';
import type { ClusterView } from './cluster-view.ts';

const NS_PER_S = 1_000_000_000;
/** How long a join may take before it is cancelled: a host that cannot reach the managers never joins. */
export const DEFAULT_JOIN_TIMEOUT_S = 30;

export interface InitInput { host: string; name?: string; advertiseAddr?: string; listenAddr?: string; dataPathAddr?: string; forceNewCluster?: boolean }
export interface JoinInput { host: string; role: 'worker' | 'manager'; advertiseAddr?: string; listenAddr?: string; timeoutSeconds?: number }
export interface SwarmSettings {
  rotateWorkerToken?: boolean;
  rotateManagerToken?: boolean;
  rotateUnlockKey?: boolean;
  taskHistoryLimit?: number;
  /** Validity of node certificates, in seconds (the engine takes nanoseconds). */
  certExpirySeconds?: number;
  autolock?: boolean;
}

export class SwarmLifecycle {
  private readonly swarm: Swarm;
  private readonly fleet: Fleet;
  private readonly log: Logger;

  constructor(deps: { swarm: Swarm; fleet: Fleet; log: Logger }) {
    this.swarm = deps.swarm;
    this.fleet = deps.fleet;
    this.log = deps.log;
  }

  /** `docker swarm init` on a registered host that is in no swarm; the new cluster is registered under `name`. */
  async init(input: InitInput): Promise<ClusterView> {
    const { host, docker } = await this.fleet.docker(input.host);
    const state = (await getInfo(docker)).Swarm?.LocalNodeState ?? 'inactive';
    if (state !== 'inactive') throw new Conflict(`host "${host.name}" is already part of a swarm (state ${state}): leave it first`);
    await initSwarm(docker, {
      ...(input.advertiseAddr ? { AdvertiseAddr: input.advertiseAddr } : {}),
      ...(input.listenAddr ? { ListenAddr: input.listenAddr } : {}),
      ...(input.dataPathAddr ? { DataPathAddr: input.dataPathAddr } : {}),
      ForceNewCluster: input.forceNewCluster ?? false,
    });
    this.log.info({ host: host.name }, 'swarm initialised');
    return this.swarm.register({ host: host.name, name: input.name });
  }

  /**
   * Joins a registered host to the cluster with the token for its role, giving it
   * every manager's address. A join that does not finish within the deadline is
   * cancelled (the engine would keep trying in the background), so the host is
   * left as it was.
   */
  async join(clusterRef: string, input: JoinInput): Promise<ClusterView> {
    const cluster = await this.swarm.row(clusterRef);
    const { host, docker } = await this.fleet.docker(input.host);
    const state = (await getInfo(docker)).Swarm?.LocalNodeState ?? 'inactive';
    if (state !== 'inactive') throw new Conflict(`host "${host.name}" is already part of a swarm (state ${state}): leave it first`);
    const { tokens, addrs } = await this.swarm.withManager(cluster.id, async (mgr) => {
      const [sw, nodes] = await Promise.all([inspectSwarm(mgr), listNodes(mgr)]);
      const managerAddrs = nodes.filter((n) => n.ManagerStatus && n.ManagerStatus.Reachability === 'reachable').map((n) => n.ManagerStatus!.Addr);
      return { tokens: sw.JoinTokens, addrs: managerAddrs };
    });
    if (addrs.length === 0) throw new Conflict(`cluster "${cluster.name}" reports no reachable manager address to join`);
    const timeoutS = input.timeoutSeconds ?? DEFAULT_JOIN_TIMEOUT_S;
    try {
      await joinSwarm(docker, {
        RemoteAddrs: addrs, JoinToken: input.role === 'manager' ? tokens.Manager : tokens.Worker,
        ...(input.advertiseAddr ? { AdvertiseAddr: input.advertiseAddr } : {}),
        ...(input.listenAddr ? { ListenAddr: input.listenAddr } : {}),
      }, { timeoutMs: timeoutS * 1000 });
    } catch (err) {
      await this.cancelJoin(docker, host.name);
      const why = err instanceof HostTimeout ? `no answer within ${timeoutS} s` : (err as Error).message.replace(/^host "[^"]*":\s*/, '');
      throw new Conflict(`host "${host.name}" could not join cluster "${cluster.name}" through ${addrs.join(', ')}: ${why}; the join was cancelled and the host is unchanged`);
    }
    // The engine answers before the join settles: a joining engine that hit its own timeout keeps trying.
    const after = (await getInfo(docker)).Swarm?.LocalNodeState;
    if (after !== 'active') {
      await this.cancelJoin(docker, host.name);
      throw new Conflict(`host "${host.name}" could not join cluster "${cluster.name}" through ${addrs.join(', ')} (state ${after}); the join was cancelled and the host is unchanged`);
    }
    this.log.info({ host: host.name, cluster: cluster.name, role: input.role }, 'host joined the swarm');
    await this.resync(host.id, cluster.id);
    return this.swarm.get(cluster.id);
  }

  private async cancelJoin(docker: DockerClient, host: string): Promise<void> {
    try {
      const state = (await getInfo(docker, { timeoutMs: 5000 })).Swarm?.LocalNodeState;
      if (state && state !== 'inactive') await leaveSwarm(docker, { force: true, timeoutMs: 30_000 });
    } catch (err) {
      this.log.warn({ host, err: (err as Error).message }, 'could not cancel a failed swarm join');
    }
  }

  /**
   * `docker swarm leave` on a registered host. A manager must be forced (the
   * engine says why: it would lose quorum, or it is the last). `removeNode`
   * then removes the node that stays behind as `down` from the cluster's list.
   */
  async leave(input: { host: string; force?: boolean; removeNode?: boolean }): Promise<{ host: string; left: string | null; nodeRemoved: boolean }> {
    const { host, docker } = await this.fleet.docker(input.host);
    const info = await getInfo(docker);
    if ((info.Swarm?.LocalNodeState ?? 'inactive') === 'inactive') throw new Conflict(`host "${host.name}" is not part of a swarm`);
    const clusterId = host.swarm_cluster_id ?? info.Swarm?.Cluster?.ID ?? null;
    const nodeId = info.Swarm?.NodeID ?? null;
    await leaveSwarm(docker, { force: input.force ?? false });
    this.log.info({ host: host.name, cluster: clusterId }, 'host left the swarm');
    let nodeRemoved = false;
    if (input.removeNode && clusterId && nodeId && (await this.swarm.exists(clusterId))) {
      // A node that just left shows as down a moment later; only then may it be removed without force.
      nodeRemoved = await this.swarm.withManager(clusterId, async (mgr) => {
        await removeNode(mgr, nodeId, { force: true });
        return true;
      }).catch((err: unknown) => {
        this.log.warn({ host: host.name, err: (err as Error).message }, 'left the swarm, but its node could not be removed');
        return false;
      });
    }
    await this.resync(host.id, clusterId);
    return { host: host.name, left: clusterId, nodeRemoved };
  }

  /** The swarm's settings, and token or unlock-key rotation. Returns the new unlock key when autolock is turned on or its key rotated. */
  async update(clusterRef: string, s: SwarmSettings): Promise<{ cluster: ClusterView; unlockKey?: string }> {
    if (s.taskHistoryLimit !== undefined && (!Number.isInteger(s.taskHistoryLimit) || s.taskHistoryLimit < 0)) throw new BadRequest('taskHistoryLimit: a whole number ≥ 0', 'body.taskHistoryLimit');
    const cluster = await this.swarm.row(clusterRef);
    const unlockKey = await this.swarm.withManager(cluster.id, async (mgr) => {
      const current = await inspectSwarm(mgr);
      const spec = structuredClone(current.Spec) as Record<string, Record<string, unknown> | undefined>;
      if (s.taskHistoryLimit !== undefined) spec.Orchestration = { ...spec.Orchestration, TaskHistoryRetentionLimit: s.taskHistoryLimit };
      if (s.certExpirySeconds !== undefined) spec.CAConfig = { ...spec.CAConfig, NodeCertExpiry: s.certExpirySeconds * NS_PER_S };
      if (s.autolock !== undefined) spec.EncryptionConfig = { ...spec.EncryptionConfig, AutoLockManagers: s.autolock };
      await updateSwarm(mgr, current.Version.Index, spec, {
        rotateWorkerToken: s.rotateWorkerToken, rotateManagerToken: s.rotateManagerToken, rotateManagerUnlockKey: s.rotateUnlockKey,
      });
      return s.autolock === true || s.rotateUnlockKey ? await getUnlockKey(mgr) : undefined;
    }, { electionWaitMs: 30_000 });
    await this.swarm.syncNow(cluster.id).catch(() => undefined);
    return { cluster: await this.swarm.get(cluster.id), ...(unlockKey ? { unlockKey } : {}) };
  }

  /** What an admin needs to join a host by hand: both tokens and the managers' addresses. */
  async joinTokens(clusterRef: string): Promise<{ worker: string; manager: string; managerAddrs: string[] }> {
    return this.swarm.withManager(clusterRef, async (mgr) => {
      const [sw, nodes] = await Promise.all([inspectSwarm(mgr), listNodes(mgr)]);
      return { worker: sw.JoinTokens.Worker, manager: sw.JoinTokens.Manager, managerAddrs: nodes.filter((n) => n.ManagerStatus).map((n) => n.ManagerStatus!.Addr) };
    });
  }

  /** The swarm's current settings, as the update above changes them. */
  async settings(clusterRef: string): Promise<{ taskHistoryLimit: number | null; certExpirySeconds: number | null; autolock: boolean; createdAt: string; updatedAt: string | null }> {
    return this.swarm.withManager(clusterRef, async (mgr) => {
      const sw = await inspectSwarm(mgr);
      const spec = sw.Spec as { Orchestration?: { TaskHistoryRetentionLimit?: number }; CAConfig?: { NodeCertExpiry?: number }; EncryptionConfig?: { AutoLockManagers?: boolean } };
      return {
        taskHistoryLimit: spec.Orchestration?.TaskHistoryRetentionLimit ?? null,
        certExpirySeconds: spec.CAConfig?.NodeCertExpiry ? Math.round(spec.CAConfig.NodeCertExpiry / NS_PER_S) : null,
        autolock: spec.EncryptionConfig?.AutoLockManagers === true,
        createdAt: sw.CreatedAt, updatedAt: typeof sw.UpdatedAt === 'string' ? sw.UpdatedAt : null,
      };
    });
  }

  /** The host's swarm facts and the cluster's member list change now, not at the next intervals. */
  private async resync(hostId: string, clusterId: string | null): Promise<void> {
    await this.fleet.syncNow(hostId).catch(() => undefined);
    if (clusterId && (await this.swarm.exists(clusterId))) await this.swarm.syncNow(clusterId).catch(() => undefined);
  }
}
