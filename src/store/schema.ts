// Table types for Kysely. Timestamps are ISO-8601 text and JSON is text, so the
// same queries run on SQLite and PostgreSQL; booleans are 0/1 integers.
import type { Generated } from 'kysely';

export type Role = 'admin' | 'operator' | 'viewer';
export type HostStatus = 'pending' | 'connected' | 'disconnected' | 'error' | 'maintenance';
export type HostKind = 'direct' | 'agent';
export type Environment = 'staging' | 'production' | 'development' | 'custom';
export type InventoryKind = 'container' | 'image' | 'network' | 'volume';
export type AgentState = 'active' | 'paused' | 'decommissioned';
export type DisconnectReason = 'network' | 'cert' | 'server';
export type SwarmRole = 'manager' | 'worker';
/** A cluster's statuses: the hosts' ones, plus quorum_lost while fewer than a majority of managers answer. */
export type ClusterStatus = HostStatus | 'quorum_lost';
export type SwarmInventoryKind = 'node' | 'service' | 'task' | 'network' | 'secret' | 'config';

export interface EnrollTokensTable {
  id: string;
  /** HMAC-SHA256 of the secret under the dedicated token key; the secret itself is never stored. */
  digest: string;
  kind: 'single' | 'fleet';
  label: string | null;
  uses_total: number;
  uses_left: number;
  expires_at: string;
  created_at: string;
  created_by: string | null;
}

export interface RevokedCertsTable {
  serial: string;
  host_id: string | null;
  host_name: string | null;
  revoked_at: string;
  reason: string | null;
}

/** Client certificates issued to users for the Docker endpoint (SPEC S13); revocation is in revoked_certs. */
export interface UserCertsTable {
  serial: string;
  user_id: string;
  name: string;
  not_after: string;
  created_at: string;
}

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface HostsTable {
  id: string;
  name: string;
  kind: HostKind;
  endpoint: string;
  /** AES-GCM sealed JSON {ca, cert, key}; null for plain unix/tcp. */
  tls_sealed: string | null;
  environment: Environment;
  environment_label: string | null;
  sync_interval_s: number;
  status: HostStatus;
  status_reason: string | null;
  status_changed_at: string;
  consecutive_failures: number;
  last_seen_at: string | null;
  last_sync_at: string | null;
  last_sync_ms: number | null;
  engine_id: string | null;
  engine_version: string | null;
  api_version: string | null;
  os: string | null;
  arch: string | null;
  cpus: number | null;
  memory_bytes: number | null;
  engine_name: string | null;
  containers_total: number;
  containers_running: number;
  created_at: string;
  /** Agent hosts only: active | paused | decommissioned. */
  agent_state: AgentState | null;
  agent_version: string | null;
  /** JSON array of feature names the agent advertised. */
  agent_features: string | null;
  cert_serial: string | null;
  cert_not_after: string | null;
  /** Why the agent's stream ended: network | cert | server. */
  disconnect_reason: DisconnectReason | null;
  connected_at: string | null;
  /** S8: set when another host reaches the same engine; this one is then not scanned. */
  duplicate_of: string | null;
  /** Highest offline-journal sequence number stored for this agent. */
  journal_seq: number;
  /** The engine's Swarm node ID while it is part of a swarm (info.Swarm.NodeID). */
  swarm_node_id: string | null;
  /** inactive | pending | active | error | locked, as the engine reports it. */
  swarm_state: string | null;
  /** manager when the engine answers Swarm control calls (info.Swarm.ControlAvailable). */
  swarm_role: SwarmRole | null;
  /** The cluster (Swarm ID) this host is linked to as a node; null when it is in none we know. */
  swarm_cluster_id: string | null;
  /** JSON summary of the engine's last GET /system/df (src/fleet/disk-usage.ts); null until first measured. */
  disk_usage: string | null;
}

export interface HostStatusHistoryTable {
  id: Generated<number>;
  host_id: string;
  from_status: HostStatus;
  to_status: HostStatus;
  reason: string | null;
  at: string;
}

export interface InventoryTable {
  host_id: string;
  kind: InventoryKind;
  object_id: string;
  name: string | null;
  data: string;
  updated_at: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  user_id: string | null;
  username: string | null;
  action: string;
  target: string | null;
  result: 'ok' | 'error' | 'denied';
  detail: string | null;
  request_id: string | null;
  source_ip: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  at: string;
  host_id: string | null;
  type: string;
  action: string;
  actor_id: string | null;
  data: string;
}

/** A Swarm cluster, keyed by its Swarm ID (SPEC W1). */
export interface SwarmClustersTable {
  id: string;
  name: string;
  /** discovered (a synced host reported it) or registered (a user named a manager). */
  origin: 'discovered' | 'registered';
  sync_interval_s: number;
  status: ClusterStatus;
  status_reason: string | null;
  status_changed_at: string;
  consecutive_failures: number;
  last_seen_at: string | null;
  last_sync_at: string | null;
  last_sync_ms: number | null;
  leader_node_id: string | null;
  /** Host that answered the last cluster call. */
  last_manager_host_id: string | null;
  /** JSON: the health summary of the last sync (managers reachable of total, nodes down, services below desired). */
  health: string | null;
  created_at: string;
}

export interface SwarmStatusHistoryTable {
  id: Generated<number>;
  cluster_id: string;
  from_status: ClusterStatus;
  to_status: ClusterStatus;
  reason: string | null;
  at: string;
}

/** A cluster's synced objects as a manager last reported them (raw Docker JSON; secrets without values, as the engine gives them). */
export interface SwarmInventoryTable {
  cluster_id: string;
  kind: SwarmInventoryKind;
  object_id: string;
  name: string | null;
  data: string;
  updated_at: string;
}

/** Every stack deploy (SPEC W5): what was deployed, by whom, how it went. Secrets' contents are never stored. */
export interface StackDeploymentsTable {
  id: string;
  cluster_id: string;
  stack: string;
  /** running | succeeded | failed | interrupted (the server stopped during it) */
  status: string;
  strategy: string;
  /** The Compose file as given. */
  compose: string;
  /** JSON: the interpolation values. */
  env: string;
  /** JSON: contents of the env_file and config files named (secret files are never kept). */
  files: string;
  /** JSON: prune, resolveImage. */
  options: string;
  /** The deployment this one deployed again (a rollback), if any. */
  redeploy_of: string | null;
  started_by: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  /** JSON: per service, what was done and how it converged. */
  outcome: string | null;
  error: string | null;
  warnings: string | null;
}

/** A registry Flotilla checks and pulls from: credentials sealed with the SecretBox, never returned. */
export interface RegistriesTable {
  id: string;
  /** host[:port] as it appears in image references; `docker.io` for Docker Hub. */
  host: string;
  username: string | null;
  password_sealed: string | null;
  /** 1: plain HTTP (explicit opt-in). */
  insecure: number;
  /** 1: HTTPS without verifying the certificate (explicit opt-in). */
  skip_tls_verify: number;
  /** Requests in flight to this registry at most. */
  concurrency: number;
  created_at: string;
  updated_at: string;
}

/** Where update notifications go. The URL and the signing secret are sealed (they often hold tokens). */
export interface NotificationTargetsTable {
  id: string;
  name: string;
  /** webhook | slack | ntfy */
  kind: string;
  url_sealed: string;
  secret_sealed: string | null;
  /** JSON array: update_available | updated | rolled_back | check_failed */
  events: string;
  enabled: number;
  created_at: string;
}

/** The last update check of one container. */
export interface UpdateChecksTable {
  host_id: string;
  container_id: string;
  container_name: string;
  image_ref: string;
  current_digest: string | null;
  available_digest: string | null;
  /** up_to_date | update_available | pinned | error | unknown */
  status: string;
  /** auto | manual | pinned, as resolved */
  policy: string;
  /** label | override | default | fallback */
  policy_source: string;
  warning: string | null;
  error: string | null;
  checked_at: string;
}

/** One container update (SPEC S6), its steps and outcome. */
export interface UpdateRunsTable {
  id: string;
  host_id: string;
  container_name: string;
  old_container_id: string;
  new_container_id: string | null;
  image_ref: string;
  from_digest: string | null;
  to_digest: string | null;
  /** running | updated | rolled_back | failed | interrupted */
  status: string;
  /** auto | manual | self */
  trigger: string;
  started_by: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  reason: string | null;
  /** JSON array of { step, at, message } */
  steps: string;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  hosts: HostsTable;
  host_status_history: HostStatusHistoryTable;
  inventory: InventoryTable;
  audit_log: AuditLogTable;
  events: EventsTable;
  settings: SettingsTable;
  enroll_tokens: EnrollTokensTable;
  revoked_certs: RevokedCertsTable;
  user_certs: UserCertsTable;
  swarm_clusters: SwarmClustersTable;
  swarm_status_history: SwarmStatusHistoryTable;
  swarm_inventory: SwarmInventoryTable;
  stack_deployments: StackDeploymentsTable;
  registries: RegistriesTable;
  notification_targets: NotificationTargetsTable;
  update_checks: UpdateChecksTable;
  update_runs: UpdateRunsTable;
  replicas: ReplicasTable;
  agent_streams: AgentStreamsTable;
}

/** Server processes on one database (issue 13): each writes its heartbeat; a stale one is dead. */
export interface ReplicasTable {
  id: string;
  /** host:port its peers reach its replica endpoint at (mutual TLS); null: it takes no forwarded calls. */
  peer_address: string | null;
  started_at: string;
  heartbeat_at: string;
}

/** Which replica holds each agent's stream (the directory commands are routed by). */
export interface AgentStreamsTable {
  host_id: string;
  replica_id: string;
  since: string;
}
