// The failures a caller can act on. REST and (later) the Docker endpoint map
// them to status codes in one place (src/api/error-mapping.ts).

export class FlotillaError extends Error {
  readonly statusCode: number = 500;
  readonly code: string = 'internal';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that fails validation; `field` names what was wrong. */
export class BadRequest extends FlotillaError {
  override readonly statusCode = 400;
  override readonly code = 'bad_request';
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
  }
}

export class Unauthorized extends FlotillaError {
  override readonly statusCode = 401;
  override readonly code = 'unauthorized';
}

export class Forbidden extends FlotillaError {
  override readonly statusCode = 403;
  override readonly code = 'forbidden';
}

export class NotFound extends FlotillaError {
  override readonly statusCode = 404;
  override readonly code = 'not_found';
}

export class Conflict extends FlotillaError {
  override readonly statusCode = 409;
  override readonly code = 'conflict';
}

export class TooManyRequests extends FlotillaError {
  override readonly statusCode = 429;
  override readonly code = 'too_many_requests';
}

/** The engine answered with an error status we do not map more precisely. */
export class DockerApiError extends FlotillaError {
  override readonly code = 'docker_error';
  override readonly statusCode: number;
  /** Status the engine itself returned. */
  readonly engineStatus: number;
  constructor(engineStatus: number, message: string) {
    super(message);
    this.engineStatus = engineStatus;
    // 4xx from the engine are the caller's problem and pass through; 5xx become 502.
    this.statusCode = engineStatus >= 400 && engineStatus < 500 ? engineStatus : 502;
  }
}

/** The host's engine could not be reached (refused, reset, DNS, TLS failure). */
export class HostUnreachable extends FlotillaError {
  override readonly statusCode = 502;
  override readonly code = 'host_unreachable';
  readonly host: string;
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.host = host;
  }
}

/** The host did not answer within the call's deadline. */
export class HostTimeout extends FlotillaError {
  override readonly statusCode = 504;
  override readonly code = 'host_timeout';
  readonly host: string;
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.host = host;
  }
}

/** The host is registered but not usable now (maintenance, error state). */
export class HostUnavailable extends FlotillaError {
  override readonly statusCode = 503;
  override readonly code = 'host_unavailable';
  readonly host: string;
  constructor(host: string, message: string) {
    super(message);
    this.host = host;
  }
}

/** No manager of a Swarm cluster could take the call: each one tried is named with why. */
export class NoManagerAvailable extends FlotillaError {
  override readonly statusCode = 503;
  override readonly code = 'no_manager_available';
  readonly cluster: string;
  readonly attempts: { host: string; error: string; noLeader: boolean }[];
  constructor(cluster: string, attempts: { host: string; error: string; noLeader: boolean }[]) {
    const tried = attempts.length
      ? attempts.map((a) => `${a.host}: ${a.error}`).join('; ')
      : 'no manager of this cluster is registered with Flotilla';
    super(`swarm cluster "${cluster}": no manager could take the call (${tried})`);
    this.cluster = cluster;
    this.attempts = attempts;
  }
}

/** Something the call needs is not there now (no Swarm cluster known, no host to place on). */
export class ServiceUnavailable extends FlotillaError {
  override readonly statusCode = 503;
  override readonly code = 'unavailable';
}
