// The API's shapes the pages use (the server's OpenAPI document is the full reference).
export interface Counts { total: number; running: number; stopped: number; healthy: number; unhealthy: number; starting: number }

export interface Host {
  id: string; name: string; kind: 'direct' | 'agent'; endpoint: string; status: string; statusReason: string | null;
  lastSeenAt: string | null; lastSyncAt: string | null; environment: string;
  engine: { version: string | null; os: string | null; arch: string | null; cpus: number | null; memoryBytes: number | null };
  containers: { total: number; running: number };
  agent: { state: string | null; version: string | null; disconnectReason: string | null; connectedAt: string | null } | null;
  duplicateOf: string | null;
  swarm: { role: string | null; clusterId: string | null } | null;
  health?: Counts;
}

export interface Cluster {
  id: string; name: string; status: string; statusReason: string | null;
  health: { managers: { total: number; reachable: number; leader: { hostname: string } | null }; quorum: boolean; nodes: { total: number; ready: number; down: string[]; drained: string[] }; services: { total: number; belowDesired: { name: string; running: number; desired: number }[] } } | null;
}

/** A host's last GET /system/df, summarised (measured every 10 minutes, or on refresh). */
export interface DiskUsage {
  imagesBytes: number; containersBytes: number; volumesBytes: number; buildCacheBytes: number;
  totalBytes: number; reclaimableBytes: number; checkedAt: string;
}

export interface Overview {
  hosts: (Host & { health: Counts; disk: DiskUsage | null })[];
  totals: { hosts: number; down: number; cpus: number; memoryBytes: number; containers: Counts; diskBytes: number };
  clusters: Cluster[];
}

export interface FleetContainer {
  host: string; id: string; name: string; image: string; state: string; status: string;
  health: 'healthy' | 'unhealthy' | 'starting' | null; created: number; ports: string[]; labels: Record<string, string>;
}
