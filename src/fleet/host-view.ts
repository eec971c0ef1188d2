// The public shape of a host: everything but key material.
import { z } from 'zod';
import type { HostRow } from '../store/hosts-repo.ts';

export const hostViewSchema = z.object({
  id: z.string(), name: z.string(), kind: z.enum(['direct', 'agent']), endpoint: z.string(), tls: z.boolean(),
  environment: z.string(), environmentLabel: z.string().nullable(), syncIntervalSeconds: z.number(),
  status: z.enum(['pending', 'connected', 'disconnected', 'error', 'maintenance']), statusReason: z.string().nullable(),
  statusChangedAt: z.string(), consecutiveFailures: z.number(), lastSeenAt: z.string().nullable(),
  lastSyncAt: z.string().nullable(), lastSyncMs: z.number().nullable(),
  engine: z.object({
    id: z.string().nullable(), name: z.string().nullable(), version: z.string().nullable(), apiVersion: z.string().nullable(),
    os: z.string().nullable(), arch: z.string().nullable(), cpus: z.number().nullable(), memoryBytes: z.number().nullable(),
  }),
  containers: z.object({ total: z.number(), running: z.number() }),
  createdAt: z.string(),
  /** Agent hosts only. */
  agent: z.object({
    state: z.enum(['active', 'paused', 'decommissioned']).nullable(), version: z.string().nullable(), features: z.array(z.string()),
    certSerial: z.string().nullable(), certNotAfter: z.string().nullable(), connectedAt: z.string().nullable(),
    disconnectReason: z.enum(['network', 'cert', 'server']).nullable(),
  }).nullable(),
  /** Set when this host reaches the same engine as another host, which is the one scanned (SPEC S8). */
  duplicateOf: z.string().nullable(),
  /** Swarm membership as the engine last reported it; `clusterId` once Flotilla knows the cluster (see /swarm/clusters). */
  swarm: z.object({ nodeId: z.string().nullable(), state: z.string(), role: z.enum(['manager', 'worker']).nullable(), clusterId: z.string().nullable() }).nullable(),
});
export type HostView = z.infer<typeof hostViewSchema>;

export function toHostView(h: HostRow): HostView {
  return {
    id: h.id, name: h.name, kind: h.kind, endpoint: h.endpoint, tls: h.tls_sealed !== null,
    environment: h.environment, environmentLabel: h.environment_label, syncIntervalSeconds: h.sync_interval_s,
    status: h.status, statusReason: h.status_reason, statusChangedAt: h.status_changed_at,
    consecutiveFailures: h.consecutive_failures, lastSeenAt: h.last_seen_at, lastSyncAt: h.last_sync_at, lastSyncMs: h.last_sync_ms,
    engine: {
      id: h.engine_id, name: h.engine_name, version: h.engine_version, apiVersion: h.api_version,
      os: h.os, arch: h.arch, cpus: h.cpus, memoryBytes: h.memory_bytes === null ? null : Number(h.memory_bytes),
    },
    containers: { total: h.containers_total, running: h.containers_running },
    createdAt: h.created_at,
    agent: h.kind !== 'agent' ? null : {
      state: h.agent_state, version: h.agent_version, features: h.agent_features ? (JSON.parse(h.agent_features) as string[]) : [],
      certSerial: h.cert_serial, certNotAfter: h.cert_not_after, connectedAt: h.connected_at, disconnectReason: h.disconnect_reason,
    },
    duplicateOf: h.duplicate_of,
    swarm: h.swarm_state === null ? null : { nodeId: h.swarm_node_id, state: h.swarm_state, role: h.swarm_role, clusterId: h.swarm_cluster_id },
  };
}
