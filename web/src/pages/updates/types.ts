// The updates API's shapes as the pages use them (GET /updates, /updates/runs,
// /updates/agents, /registries, /notifications, /updates/settings).
export type Policy = 'auto' | 'manual' | 'pinned';
export type CheckStatus = 'up_to_date' | 'update_available' | 'pinned' | 'error' | 'unknown';

export interface UpdateCheck {
  host: string; hostId: string; containerId: string; container: string; image: string;
  currentDigest: string | null; availableDigest: string | null; status: CheckStatus;
  policy: Policy; policySource: string; warning: string | null; error: string | null; checkedAt: string;
}

export interface StepEvent { step: string; at: number; message: string; progress?: { current?: number; total?: number; status?: string } }

export interface UpdateRun {
  id: string; host: string; hostId: string; container: string; oldContainerId: string; newContainerId: string | null;
  image: string; fromDigest: string | null; toDigest: string | null; status: string; trigger: string;
  startedBy: string | null; startedAt: string; finishedAt: string | null; durationMs: number | null; reason: string | null; steps: StepEvent[];
}

export type UpdateStreamEvent =
  | ({ type: 'step' } & StepEvent)
  | { type: 'done'; run: UpdateRun }
  | { type: 'error'; status?: number; message: string };

export interface CheckSummary { at: string; hosts: number; containers: number; remoteChecks: number; registryRequests: number; updatesAvailable: number; errors: number; durationMs: number }

export interface AgentVersion {
  host: { id: string; name: string }; agentVersion: string | null; serverVersion: string;
  state: 'current' | 'outdated' | 'updating' | 'failed' | 'no_self_container' | 'paused' | 'disconnected' | 'disabled';
  container: { id: string; name: string; image: string } | null; target: string | null;
  lastRun: { id: string; status: string; image: string; reason: string | null; startedAt: string } | null;
}

export interface Registry {
  id: string; host: string; username: string | null; hasPassword: boolean; insecure: boolean; skipTlsVerify: boolean; concurrency: number;
  createdAt: string; updatedAt: string; stats?: { requests: number; errors: number; rateLimited: number };
}

export const NOTICE_KINDS = ['update_available', 'updated', 'rolled_back', 'check_failed'] as const;
export interface Delivery { targetId: string; targetName: string; event: string; deliveryId: string; ok: boolean; attempts: number; status?: number; error?: string; durationMs: number }
export interface NotificationTarget {
  id: string; name: string; kind: 'webhook' | 'slack' | 'ntfy'; url: string; hasSecret: boolean;
  events: (typeof NOTICE_KINDS)[number][]; enabled: boolean; createdAt: string; lastDelivery?: Delivery;
}

export interface UpdateSettings {
  checkIntervalMs: number; window: string | null; windowDurationMs: number; hostWindows: Record<string, string>; stableMs: number; agentSelfUpdate: boolean;
}

export const shortDigest = (d: string | null | undefined) => (d ? d.replace(/^sha256:/, '').slice(0, 12) : '-');
