// Agents update themselves (SPEC S15) through a short-lived updater container: import from here.
export { launchSelfUpdate, updaterNameFor, dockerSocketBind, RECOVERY_LABEL } from './launch.ts';
export type { LaunchSelfUpdateOptions, LaunchedUpdater } from './launch.ts';
export { awaitSelfUpdateResult, DEFAULT_RESULT_TIMEOUT_MS } from './result.ts';
export type { AwaitSelfUpdateOptions } from './result.ts';
export { runSelfUpdate, runSelfUpdateRecovery, DEFAULT_SELF_HEALTH_TIMEOUT_MS } from './run.ts';
export type { SelfUpdateRun, LineWriter } from './run.ts';
export { parseUpdaterOutput, inFlightSchema, RESULT_KEY, ERROR_KEY, JOURNAL_KEY, STEP_KEY } from './protocol.ts';
export type { UpdaterOutput, UpdaterError } from './protocol.ts';
export { isSelfContainer, isUpdaterContainer, needsSelfUpdate, SELF_LABEL, UPDATER_LABEL, UPDATE_ID_LABEL, UPDATE_TARGET_LABEL } from './self.ts';
export { SelfUpdateLost, SelfUpdateRefused, SelfUpdateTimeout } from './errors.ts';
export { AgentVersionFollower, selfUpdateTarget } from './follow.ts';
export type { AgentVersionStatus, AgentVersionState } from './follow.ts';
