// The Docker Engine API client: import from here.
export { DockerClient, MAX_API_VERSION, MIN_API_VERSION, compareApiVersions } from './client.ts';
export type { CallSpec, DockerClientOptions } from './client.ts';
export { DEFAULT_TIMEOUT_MS, LONG_TIMEOUT_MS } from './request.ts';
export type { CallOptions } from './request.ts';
export { encodeFilters } from './query.ts';
export type { Filters } from './query.ts';
export * from './containers.ts';
export * from './container-logs.ts';
export * from './container-stats.ts';
export * from './container-attach.ts';
export * from './exec.ts';
export * from './images.ts';
export * from './networks.ts';
export * from './volumes.ts';
export * from './system.ts';
export * from './events.ts';
export * from './swarm.ts';
export * from './stream.ts';
