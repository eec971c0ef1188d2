// What can go wrong asking a registry, one kind per thing a user can do about it.
// Messages name the registry and repository, never a credential or a token.
import { FlotillaError } from '../../errors.ts';

export type RegistryErrorKind = 'unreachable' | 'unauthorized' | 'not_found' | 'rate_limited' | 'bad_response' | 'timeout';

// Upstream failures are 5xx to our own clients (a 401 would read as "you are logged out").
const STATUS: Record<RegistryErrorKind, number> = {
  unreachable: 502, unauthorized: 502, not_found: 404, rate_limited: 503, bad_response: 502, timeout: 504,
};

export class RegistryError extends FlotillaError {
  override readonly statusCode: number;
  override readonly code: string;
  readonly kind: RegistryErrorKind;
  /** host[:port] as in the image reference (`docker.io` for Docker Hub). */
  readonly registry: string;
  constructor(kind: RegistryErrorKind, registry: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.registry = registry;
    this.statusCode = STATUS[kind];
    this.code = `registry_${kind}`;
  }
}
