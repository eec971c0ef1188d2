// Deployment strategies (SPEC W6). A strategy takes over the update of one
// existing service of a stack deploy: `rolling` is the engine's own update
// (src/stacks/deploy.ts, then Flotilla's rollback on failure); `blue-green` and
// `canary` run the new version as a service of its own beside the current one
// and move traffic by the network alias the stack's clients use (the Compose
// service name; see each strategy's module for why that is sound under dnsrr).
import type { ServiceSpec, SwarmService } from '../../docker/swarm.ts';
import type { Swarm } from '../../swarm/swarm.ts';
import type { SpecGate } from '../../swarm/services.ts';

export type StrategyName = 'rolling' | 'blue-green' | 'canary';

export interface HttpProbe {
  /** Port inside the service's tasks. */
  port: number;
  path: string;
  /** Requests per check (run from a short-lived probe task inside the stack network). */
  requests?: number;
  /** Highest share of failed requests that still passes (0–1; default 0). */
  maxErrorRate?: number;
}

export interface StrategyOptions {
  /** Compose service names the strategy applies to; the others are updated rolling. Default: every service that changes. */
  services?: string[];
  probe?: HttpProbe;
  /** Canary: the share of the desired replicas on the new version at each step, in percent, ending at 100. Default [10, 50, 100]. */
  steps?: number[];
  /** Canary: how long each step is watched (task failures, restarts, health, probe) before the next. Default 20 s. */
  stepSeconds?: number;
  /** Blue-green: after the switch, keep the old version running (true) or scale it to 0 (false, default). */
  keepOldRunning?: boolean;
  /** Blue-green: remove the old version this long after the switch unless a rollback came first (default: until confirmed). */
  removeOldAfterSeconds?: number;
}

export type StrategyEvent = { type: 'strategy'; strategy: StrategyName; service: string; step: string; detail?: string };

export interface StrategyContext {
  swarm: Swarm;
  /** Cluster ID. */
  cluster: string;
  stack: string;
  /** `<stack>_<service>` */
  name: string;
  /** The Compose service's key: the alias the stack's clients call it by. */
  composeName: string;
  /** The new version's spec: image pinned, secret/config IDs filled in, ForceUpdate as the current one's. */
  spec: ServiceSpec;
  current: SwarmService;
  gate: SpecGate;
  emit: (e: StrategyEvent) => void;
  /** Aborted when the user aborts the deploy: roll back and return `aborted`. */
  signal: AbortSignal;
  options: StrategyOptions;
}

export interface StrategyOutcome {
  /** The service that serves the stack's name afterwards (the same, or the new version's). */
  id: string;
  outcome: 'converged' | 'rolled_back' | 'aborted';
  /** Why, in a sentence: what passed, or what failed and what was rolled back. */
  message: string;
}

export type Strategy = (ctx: StrategyContext) => Promise<StrategyOutcome>;
