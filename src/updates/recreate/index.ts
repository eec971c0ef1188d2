// Container updates (SPEC S6), shared by the agent and the server: import from here.
export { updateContainer } from './update.ts';
export { recoverInterruptedUpdates, restoreOldContainer } from './restore.ts';
export { FileUpdateJournal, MemoryUpdateJournal } from './journal.ts';
export { buildRecreateSpec } from './create-spec.ts';
export type { RecreateSpec, NetworkAttachment } from './create-spec.ts';
export { BACKUP_LABEL, backupNameOf } from './refusals.ts';
export { defaultHealthTimeoutMs, DEFAULT_STABLE_MS, HEALTH_TIMEOUT_CAP_MS } from './health-gate.ts';
export { UpdateRefused } from './types.ts';
export type {
  InFlightUpdate, RefusalReason, StepListener, UpdateJournal, UpdateOptions, UpdateOutcome, UpdatePlan, UpdateResult, UpdateStep, UpdateStepEvent,
} from './types.ts';
