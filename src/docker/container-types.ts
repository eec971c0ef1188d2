// The container fields Flotilla reads, as the engine names them. Every interface
// keeps an index signature so fields we do not model survive a round trip.

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface Mount {
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | string;
  Name?: string;
  Source: string;
  Destination: string;
  Mode?: string;
  RW: boolean;
  [field: string]: unknown;
}

export interface EndpointSettings {
  NetworkID?: string;
  EndpointID?: string;
  IPAddress?: string;
  Gateway?: string;
  MacAddress?: string;
  Aliases?: string[] | null;
  [field: string]: unknown;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  State: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead' | string;
  Status: string;
  Labels: Record<string, string>;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: Mount[];
  NetworkSettings?: { Networks: Record<string, EndpointSettings> };
  [field: string]: unknown;
}

export interface ContainerConfig {
  Hostname?: string;
  User?: string;
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[] | null;
  Image?: string;
  Labels?: Record<string, string>;
  WorkingDir?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  [field: string]: unknown;
}

export interface HostConfig {
  Binds?: string[];
  NetworkMode?: string;
  PortBindings?: Record<string, PortBinding[]>;
  RestartPolicy?: { Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure'; MaximumRetryCount?: number };
  AutoRemove?: boolean;
  Init?: boolean;
  Privileged?: boolean;
  Memory?: number;
  NanoCpus?: number;
  Mounts?: Array<{ Type: string; Source?: string; Target: string; ReadOnly?: boolean; [field: string]: unknown }>;
  [field: string]: unknown;
}

/** Body of POST /containers/create: the container config plus host and network config. */
export interface ContainerCreateBody extends ContainerConfig {
  Image: string;
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings> };
}

export interface ContainerState {
  Status: ContainerSummary['State'];
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string; FailingStreak: number; Log?: unknown[] };
  [field: string]: unknown;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  RestartCount: number;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  Mounts: Mount[];
  NetworkSettings: { Networks: Record<string, EndpointSettings>; Ports?: Record<string, PortBinding[] | null>; [field: string]: unknown };
  [field: string]: unknown;
}

export interface ContainerCreateResult {
  Id: string;
  Warnings: string[] | null;
}

export interface ContainerWaitResult {
  StatusCode: number;
  Error?: { Message: string } | null;
}

export interface ContainerTop {
  Titles: string[];
  Processes: string[][];
}

export interface ContainerPruneResult {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}
