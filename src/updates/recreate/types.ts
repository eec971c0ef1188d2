// The contract of the container update (SPEC S6): what to update, the steps it
// reports, its result, and the journal that lets an interrupted update be undone.
import { FlotillaError } from '../../errors.ts';
import type { RegistryAuth } from '../../docker/images.ts';

export interface UpdatePlan {
  /** Id or name of the container to update. */
  containerId: string;
  /** Reference to pull and run; default the container's Config.Image. */
  image?: string;
  pullAuth?: RegistryAuth;
  /** Use the image the engine already has under `image`. */
  skipPull?: boolean;
  /** With a healthcheck: how long to wait for `healthy`. Default from the healthcheck, capped. */
  healthTimeoutMs?: number;
  /** Without a healthcheck: how long it must stay running without a restart (default 10 s). */
  stableMs?: number;
  /** Grace period of the stop; default the container's StopTimeout, else the engine's 10 s. */
  stopTimeoutSeconds?: number;
}

export type UpdateStep = 'inspect' | 'pull' | 'stop' | 'rename' | 'create' | 'start' | 'health' | 'cleanup' | 'rollback' | 'restored';

export interface UpdateStepEvent {
  step: UpdateStep;
  /** Epoch milliseconds. */
  at: number;
  message: string;
  progress?: { current?: number; total?: number; status?: string };
}

export type UpdateOutcome = 'updated' | 'rolled_back' | 'failed' | 'unchanged';

export interface UpdateResult {
  outcome: UpdateOutcome;
  containerName: string;
  oldContainerId: string;
  newContainerId?: string;
  oldImageId: string;
  newImageId?: string;
  fromDigest?: string;
  toDigest?: string;
  /** Why it was not `updated`: the step that failed and the engine's message. */
  reason?: string;
  steps: UpdateStepEvent[];
  durationMs: number;
}

/** Called for every step and pull progress; the update waits for a returned promise. */
export type StepListener = (event: UpdateStepEvent) => void | Promise<void>;

export interface UpdateOptions {
  onStep?: StepListener;
  journal?: UpdateJournal;
  /** Before the stop: the update ends `failed`, nothing touched. After: it rolls back. */
  signal?: AbortSignal;
  /** Journal id; default a random UUID. `[A-Za-z0-9_-]`, at most 100 characters. */
  updateId?: string;
}

/** What recovery needs to put the old container back after the process or the engine died. */
export interface InFlightUpdate {
  id: string;
  containerName: string;
  oldContainerId: string;
  backupName: string;
  newContainerId?: string;
  wasRunning: boolean;
  /** The step that was started last. */
  phase: UpdateStep;
  startedAt: number;
  /** The engine's label (DockerClient.label); recovery only touches its own engine's records. */
  host?: string;
  oldImageId?: string;
  newImageId?: string;
  /** Per configuration field of the old container a short sha256, checked after it is restored. */
  configFingerprints?: Record<string, string>;
}

export interface UpdateJournal {
  save(rec: InFlightUpdate): Promise<void>;
  clear(id: string): Promise<void>;
  list(): Promise<InFlightUpdate[]>;
}

export type RefusalReason =
  | 'swarm_task'
  | 'pinned'
  | 'image_id'
  | 'backup'
  | 'backup_exists'
  | 'auto_remove'
  | 'network_mode'
  | 'shared_namespace'
  | 'state';

/** The update was not attempted: nothing was touched. `reason` says which rule refused it. */
export class UpdateRefused extends FlotillaError {
  override readonly statusCode: number = 409;
  override readonly code: string = 'update_refused';
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
