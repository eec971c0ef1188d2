// The Swarm API's shapes these pages use (the server's OpenAPI document is the full reference).
export interface ClusterView {
  id: string; name: string; origin: 'discovered' | 'registered';
  status: string; statusReason: string | null; statusChangedAt: string;
  lastSyncAt: string | null; lastManager: string | null;
  health: {
    managers: { total: number; reachable: number; unreachable: string[]; leader: { nodeId: string; hostname: string } | null };
    quorum: boolean;
    nodes: { total: number; ready: number; down: string[]; drained: string[]; paused: string[] };
    services: { total: number; belowDesired: { id: string; name: string; desired: number; running: number }[] };
  } | null;
  hosts: { name: string; kind: 'direct' | 'agent'; role: 'manager' | 'worker' | null; nodeId: string | null; status: string }[];
}

export interface NodeView {
  id: string; hostname: string; host: string | null; role: 'manager' | 'worker';
  availability: 'active' | 'pause' | 'drain'; state: string; message: string | null; addr: string | null;
  leader: boolean; reachability: string | null; engineVersion: string | null; labels: Record<string, string>; version: number;
}

export interface ServiceSummary {
  id: string; name: string; mode: 'replicated' | 'global' | 'replicated-job' | 'global-job'; image: string;
  running: number; desired: number; replicas: number | null; endpointMode: string; ports: string[];
  updateState: string | null; stack: string | null; version: number; createdAt: string; updatedAt: string;
}

export interface ServiceView extends ServiceSummary {
  updateMessage: string | null; previousImage: string | null; constraints: string[];
}

export interface TaskView {
  id: string; serviceId: string; slot: number | null; nodeId: string | null; node: string | null; host: string | null;
  desiredState: string; state: string; message: string; error: string | null; image: string | null;
  containerId: string | null; exitCode: number | null; createdAt: string | null; updatedAt: string | null;
}

export interface StackView { name: string; services: string[]; tasks: { running: number; desired: number }; belowDesired: string[] }

export interface DataView {
  id: string; name: string; labels: Record<string, string>; createdAt: string; updatedAt: string; version: number;
  driver: string | null; templating: string | null; rotation: { of: string; version: number } | null;
}

export interface RotationResult {
  ok: boolean; error?: string; to: { name: string } | null; services: { name: string; status: string }[]; oldRemoved: boolean;
}

export type DataKind = 'secret' | 'config';
