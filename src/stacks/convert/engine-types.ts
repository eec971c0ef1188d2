// The Engine API shapes the converter fills, as docker/cli's Go types marshal them.
// src/docker/swarm.ts types ServiceSpec loosely (and without job modes); these are
// the precise parts, cast to it once in service.ts.

export interface Mount {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; Subpath?: string; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface FileTarget { Name: string; UID: string; GID: string; Mode: number }
export interface SecretReference { File: FileTarget; SecretID: string; SecretName: string }
export interface ConfigReference { File?: FileTarget; Runtime?: Record<string, never>; ConfigID: string; ConfigName: string }

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface Ulimit { Name: string; Soft: number; Hard: number }

export interface ContainerSpec {
  Image: string;
  Labels: Record<string, string>;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Privileges: { CredentialSpec: { File?: string; Registry?: string } | null; SELinuxContext: null };
  Init?: boolean | null;
  StopSignal?: string;
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: Mount[];
  StopGracePeriod?: number;
  Healthcheck?: HealthConfig;
  Hosts?: string[];
  DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
  Secrets?: SecretReference[];
  Configs?: ConfigReference[];
  Isolation?: string;
  Sysctls?: Record<string, string>;
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  Ulimits?: Ulimit[];
  OomScoreAdj?: number;
}

export interface Resources {
  Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number };
  Reservations?: { NanoCPUs?: number; MemoryBytes?: number; GenericResources?: { DiscreteResourceSpec: { Kind: string; Value: number } }[] };
}

export interface RestartPolicy { Condition?: string; Delay?: number; MaxAttempts?: number; Window?: number }

export interface Placement {
  Constraints?: string[];
  Preferences?: { Spread: { SpreadDescriptor: string } }[];
  MaxReplicas?: number;
}

export interface NetworkAttachment { Target: string; Aliases?: string[]; DriverOpts?: Record<string, string> }

export interface UpdateConfig {
  Parallelism: number;
  Delay?: number;
  FailureAction?: string;
  Monitor?: number;
  MaxFailureRatio: number;
  Order?: string;
}

export interface PortConfig { Protocol?: string; TargetPort: number; PublishedPort?: number; PublishMode?: string }

export type ServiceMode =
  | { Replicated: { Replicas?: number } }
  | { Global: Record<string, never> }
  | { ReplicatedJob: { MaxConcurrent?: number; TotalCompletions?: number } }
  | { GlobalJob: Record<string, never> };

export interface EngineServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: ContainerSpec;
    Resources: Resources;
    RestartPolicy?: RestartPolicy;
    Placement: Placement;
    Networks: NetworkAttachment[];
    LogDriver?: { Name: string; Options?: Record<string, string> };
  };
  Mode: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec: { Mode?: string; Ports?: PortConfig[] };
}
