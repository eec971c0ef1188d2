// Every cluster call goes to a manager: the leader first, then the others. A
// manager that does not answer within its deadline, is no longer a manager, or
// has no leader (an election after the leader died) is passed over; while an
// election may be under way the round is tried again until `electionWaitMs`.
// The REST routes, the cluster sync and the fleet Docker endpoint all use this.
import type { DockerClient } from '../docker/client.ts';
import { DockerApiError, FlotillaError, HostTimeout, HostUnavailable, HostUnreachable, NoManagerAvailable } from '../errors.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { ClusterRow } from '../store/swarm-repo.ts';

/** Raft has no leader: every write and most reads fail until an election ends (or quorum returns). */
const NO_LEADER = /does not have a leader|no leader|not the leader|leadership|raft: |rpc error: code = (Unavailable|DeadlineExceeded)|context deadline exceeded/i;
/** The engine answers but is not (or no longer) a manager of a swarm. */
const NOT_MANAGER = /not a swarm manager|not part of a swarm|swarm is not initiali[sz]ed|node is not a manager/i;

export type ManagerFailureKind = 'unreachable' | 'no_leader' | 'not_manager';

/** Whether an error means "try another manager", and why; undefined for the caller's own errors (404, 409, 400 …). */
export function managerFailure(err: unknown): ManagerFailureKind | undefined {
  if (err instanceof HostUnreachable || err instanceof HostTimeout || err instanceof HostUnavailable) return 'unreachable';
  if (err instanceof DockerApiError) {
    if (NOT_MANAGER.test(err.message)) return 'not_manager';
    if (err.engineStatus >= 500 && NO_LEADER.test(err.message)) return 'no_leader';
    if (err.engineStatus === 503) return 'not_manager';
  }
  return undefined;
}

export interface Manager {
  hostId: string;
  host: string;
  nodeId: string | null;
}

export interface RouterDeps {
  /** Hosts linked to the cluster (any role), freshly read. */
  clusterHosts(clusterId: string): Promise<HostRow[]>;
  /** The Docker client of a registered host. */
  docker(hostId: string): Promise<DockerClient>;
  /** Called with the host that took a call, so the next call starts there. */
  answered?(cluster: ClusterRow, manager: Manager): void;
}

export interface CallPolicy {
  /** Keep trying rounds while managers say they have no leader (default 60 s; a Swarm election takes ~10 s, longer on a busy machine). 0: one round. */
  electionWaitMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_ELECTION_WAIT_MS = 60_000;
const ROUND_PAUSE_MS = 500;
/** A round is started only if it can end in time: a manager without a leader may take a call's whole default deadline to say so. */
const ROUND_BUDGET_MS = 10_000;
/** A manager that just failed is tried last for this long, so calls do not each wait on a dead one. */
const FAILED_PENALTY_MS = 15_000;

export class ManagerRouter {
  private readonly deps: RouterDeps;
  private readonly failedAt = new Map<string, number>();

  constructor(deps: RouterDeps) {
    this.deps = deps;
  }

  /** The cluster's managers in the order they are tried: leader, the one that answered last, then by name; recently failed ones last. */
  async managers(cluster: ClusterRow): Promise<Manager[]> {
    const hosts = (await this.deps.clusterHosts(cluster.id))
      .filter((h) => h.swarm_role === 'manager' && !h.duplicate_of && h.status !== 'maintenance');
    const now = Date.now();
    const rank = (h: HostRow) => {
      const failed = (this.failedAt.get(h.id) ?? 0) > now - FAILED_PENALTY_MS ? 100 : 0;
      const leader = h.swarm_node_id !== null && h.swarm_node_id === cluster.leader_node_id ? 0 : 1;
      const last = h.id === cluster.last_manager_host_id ? 0 : 1;
      const down = h.status === 'connected' ? 0 : 10;
      return failed + down + leader * 2 + last;
    };
    return hosts.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
      .map((h) => ({ hostId: h.id, host: h.name, nodeId: h.swarm_node_id }));
  }

  /**
   * Runs `fn` on the first manager that takes it. The caller's own errors (404,
   * 409 …) are thrown as they are; when no manager takes it, NoManagerAvailable
   * names every manager tried and why.
   */
  async call<T>(cluster: ClusterRow, fn: (docker: DockerClient, manager: Manager) => Promise<T>, policy: CallPolicy = {}): Promise<{ value: T; manager: Manager }> {
    const waitMs = cluster.status === 'quorum_lost' ? 0 : (policy.electionWaitMs ?? DEFAULT_ELECTION_WAIT_MS);
    const until = Date.now() + waitMs;
    for (;;) {
      const attempts: { host: string; error: string; noLeader: boolean }[] = [];
      for (const manager of await this.managers(cluster)) {
        policy.signal?.throwIfAborted();
        try {
          const value = await fn(await this.deps.docker(manager.hostId), manager);
          this.failedAt.delete(manager.hostId);
          this.deps.answered?.(cluster, manager);
          return { value, manager };
        } catch (err) {
          const kind = managerFailure(err);
          if (!kind) throw err;
          if (kind !== 'no_leader') this.failedAt.set(manager.hostId, Date.now());
          attempts.push({ host: manager.host, error: shortMessage(err), noLeader: kind === 'no_leader' });
        }
      }
      // Only an election is worth waiting for: when every manager is simply gone, say so now.
      if (!attempts.some((a) => a.noLeader) || Date.now() + ROUND_PAUSE_MS + ROUND_BUDGET_MS > until) throw new NoManagerAvailable(cluster.name, attempts);
      await new Promise((r) => setTimeout(r, ROUND_PAUSE_MS));
    }
  }
}

function shortMessage(err: unknown): string {
  const msg = err instanceof FlotillaError || err instanceof Error ? err.message : String(err);
  // "host "m1": GET /nodes: …" — the host is named by the caller already.
  return msg.replace(/^host "[^"]*":\s*/, '').slice(0, 300);
}
