// What route modules receive: the services of one server instance.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { Metrics } from './metrics.ts';
import type { SetupCode } from '../auth/setup-code.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { Swarm } from '../swarm/swarm.ts';
import type { Updates } from '../updates/updates.ts';
import type { LiveBus } from './live-bus.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { AdminOnlyPolicy } from '../policy/admin-only.ts';

export interface AppContext {
  config: Config;
  log: Logger;
  store: Store;
  metrics: Metrics;
  setupCode: SetupCode;
  fleet: Fleet;
  swarm: Swarm;
  updates: Updates;
  /** What the dashboard's live stream carries. */
  live: LiveBus;
  cluster: Cluster | undefined;
  /** What only an admin may do on a host: the same rules as the fleet Docker endpoint's (src/policy). */
  adminOnly: AdminOnlyPolicy;
  /** The port the Docker-API fleet endpoint listens on; undefined when it is disabled (FLOTILLA_DOCKER_ENDPOINT=false). */
  dockerPort?: number;
}
