// The public shape of a Swarm cluster: its status, health and member hosts.
import { z } from 'zod';
import type { ClusterRow } from '../store/swarm-repo.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { ClusterHealth } from './health.ts';

const healthSchema = z.object({
  managers: z.object({
    total: z.number(), reachable: z.number(), unreachable: z.array(z.string()),
    leader: z.object({ nodeId: z.string(), hostname: z.string() }).nullable(),
  }),
  quorum: z.boolean(),
  nodes: z.object({ total: z.number(), ready: z.number(), down: z.array(z.string()), drained: z.array(z.string()), paused: z.array(z.string()) }),
  services: z.object({ total: z.number(), belowDesired: z.array(z.object({ id: z.string(), name: z.string(), desired: z.number(), running: z.number() })) }),
});

export const clusterViewSchema = z.object({
  id: z.string().describe('the Swarm ID'),
  name: z.string(),
  origin: z.enum(['discovered', 'registered']),
  status: z.enum(['pending', 'connected', 'disconnected', 'error', 'maintenance', 'quorum_lost']),
  statusReason: z.string().nullable(),
  statusChangedAt: z.string(),
  consecutiveFailures: z.number(),
  syncIntervalSeconds: z.number(),
  lastSyncAt: z.string().nullable(),
  lastSyncMs: z.number().nullable(),
  lastSeenAt: z.string().nullable(),
  leaderNodeId: z.string().nullable(),
  /** The registered host that answered the last cluster call. */
  lastManager: z.string().nullable(),
  health: healthSchema.nullable(),
  /** Registered hosts that are nodes of this cluster. */
  hosts: z.array(z.object({ name: z.string(), kind: z.enum(['direct', 'agent']), role: z.enum(['manager', 'worker']).nullable(), nodeId: z.string().nullable(), status: z.string() })),
  createdAt: z.string(),
});
export type ClusterView = z.infer<typeof clusterViewSchema>;

export function toClusterView(c: ClusterRow, hosts: HostRow[]): ClusterView {
  return {
    id: c.id, name: c.name, origin: c.origin, status: c.status, statusReason: c.status_reason, statusChangedAt: c.status_changed_at,
    consecutiveFailures: c.consecutive_failures, syncIntervalSeconds: c.sync_interval_s,
    lastSyncAt: c.last_sync_at, lastSyncMs: c.last_sync_ms, lastSeenAt: c.last_seen_at, leaderNodeId: c.leader_node_id,
    lastManager: hosts.find((h) => h.id === c.last_manager_host_id)?.name ?? null,
    health: c.health ? (JSON.parse(c.health) as ClusterHealth) : null,
    hosts: hosts.map((h) => ({ name: h.name, kind: h.kind, role: h.swarm_role, nodeId: h.swarm_node_id, status: h.status })),
    createdAt: c.created_at,
  };
}
