// Engine-wide calls: ping, version, info, disk usage.
import type { DockerClient } from './client.ts';
import type { CallOptions } from './request.ts';
import { LONG_TIMEOUT_MS } from './request.ts';

/** Fields we use from GET /version; the engine's other fields are kept as they come. */
export interface EngineVersion {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  GitCommit?: string;
  [field: string]: unknown;
}

export interface EngineInfo {
  ID: string;
  Name: string;
  ServerVersion: string;
  Containers: number;
  ContainersRunning: number;
  Images: number;
  NCPU: number;
  MemTotal: number;
  OperatingSystem: string;
  Labels?: string[] | null;
  Swarm?: {
    NodeID: string;
    NodeAddr: string;
    LocalNodeState: 'inactive' | 'pending' | 'active' | 'error' | 'locked';
    ControlAvailable: boolean;
    Cluster?: { ID: string; [field: string]: unknown } | null;
    /** Every manager this node knows of, also on workers and without a leader. */
    RemoteManagers?: { NodeID: string; Addr: string }[] | null;
    Error?: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** One build-cache record of GET /system/df. */
export interface BuildCacheRecord {
  ID: string;
  Type?: string;
  Size: number;
  InUse: boolean;
  Shared: boolean;
  [field: string]: unknown;
}

/** GET /system/df. Sizes are bytes; -1 means the engine did not compute that figure. */
export interface DiskUsage {
  LayersSize: number;
  Images: Array<{ Id: string; Size: number; SharedSize: number; Containers: number; [field: string]: unknown }> | null;
  Containers: Array<{ Id: string; State?: string; SizeRw?: number; [field: string]: unknown }> | null;
  Volumes: Array<{ Name: string; UsageData?: { Size: number; RefCount: number } | null; [field: string]: unknown }> | null;
  BuildCache?: BuildCacheRecord[] | null;
  [field: string]: unknown;
}

/** GET /_ping: `OK` when the engine is up. Unversioned, so it works before negotiation. */
export function ping(docker: DockerClient, options: CallOptions = {}): Promise<string> {
  return docker.text('GET', '/_ping', { ...options, unversioned: true });
}

export function getVersion(docker: DockerClient, options: CallOptions = {}): Promise<EngineVersion> {
  return docker.json<EngineVersion>('GET', '/version', { ...options, unversioned: true });
}

export function getInfo(docker: DockerClient, options: CallOptions = {}): Promise<EngineInfo> {
  return docker.json<EngineInfo>('GET', '/info', options);
}

/** GET /system/df walks every layer and volume: slow on a big host, so a long deadline. */
export function getDiskUsage(docker: DockerClient, options: CallOptions = {}): Promise<DiskUsage> {
  return docker.json<DiskUsage>('GET', '/system/df', { timeoutMs: LONG_TIMEOUT_MS, ...options });
}
