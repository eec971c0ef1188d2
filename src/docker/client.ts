// The one Docker Engine API client: a transport, a negotiated API version, and
// typed request helpers. Resource modules (containers.ts, images.ts …) build on it.
import type { Duplex } from 'node:stream';
import { HostUnavailable } from '../errors.ts';
import type { Transport } from '../transports/types.ts';
import type { CallContext } from './errors.ts';
import { sendHijack } from './hijack.ts';
import { buildQuery } from './query.ts';
import type { QueryParams } from './query.ts';
import { sendBuffered, sendStreaming } from './request.ts';
import type { CallOptions, EngineResponse, HttpMethod } from './request.ts';
import type { EngineVersion } from './system.ts';

/** Oldest engine API we speak: Debian's docker.io 20.10. */
export const MIN_API_VERSION = '1.41';
/** Newest API whose behaviour this client knows; newer engines are spoken to at this level. */
export const MAX_API_VERSION = '1.47';

export interface CallSpec extends CallOptions {
  query?: QueryParams;
  /** JSON request body. */
  json?: unknown;
  headers?: Record<string, string>;
  /** /_ping and /version are answered at every API version: no /vX.Y prefix. */
  unversioned?: boolean;
}

export interface DockerClientOptions {
  /** Skip negotiation and speak this version (e.g. when it is already known). */
  apiVersion?: string;
}

export function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}

export class DockerClient {
  readonly transport: Transport;
  #apiVersion: string | undefined;
  #engineVersion: string | undefined;
  #negotiation: Promise<string> | undefined;

  constructor(transport: Transport, options: DockerClientOptions = {}) {
    this.transport = transport;
    this.#apiVersion = options.apiVersion;
  }

  get label(): string {
    return this.transport.label;
  }

  /** Negotiated API version; undefined until negotiate() (or the first call) has run. */
  get apiVersion(): string | undefined {
    return this.#apiVersion;
  }

  /** The engine's own version (e.g. 20.10.24), known after negotiation. */
  get engineVersion(): string | undefined {
    return this.#engineVersion;
  }

  /** True when the negotiated API is at least `version` (for behaviour that changed). */
  supports(version: string): boolean {
    return this.#apiVersion !== undefined && compareApiVersions(this.#apiVersion, version) >= 0;
  }

  /**
   * Asks the engine for its API version and settles on min(engine, MAX_API_VERSION).
   * Runs once; concurrent callers share it, and a failure lets the next call retry.
   */
  negotiate(options: CallOptions = {}): Promise<string> {
    this.#negotiation ??= this.#runNegotiation(options).catch((error: unknown) => {
      this.#negotiation = undefined;
      throw error;
    });
    return this.#negotiation;
  }

  async #runNegotiation(options: CallOptions): Promise<string> {
    const version = await this.json<EngineVersion>('GET', '/version', { ...options, unversioned: true });
    this.#engineVersion = version.Version;
    const engineApi = version.ApiVersion;
    if (compareApiVersions(engineApi, MIN_API_VERSION) < 0) {
      throw new HostUnavailable(this.label, `host "${this.label}": engine API ${engineApi} is older than the minimum ${MIN_API_VERSION}`);
    }
    this.#apiVersion ??= compareApiVersions(engineApi, MAX_API_VERSION) < 0 ? engineApi : MAX_API_VERSION;
    return this.#apiVersion;
  }

  /** Full request path and the short description used in messages. */
  async #target(method: HttpMethod, path: string, spec: CallSpec): Promise<{ path: string; what: string }> {
    const what = `${method} ${path}`;
    const query = buildQuery(spec.query);
    if (spec.unversioned === true) return { path: `${path}${query}`, what };
    // Not the caller's signal: the negotiation is shared, one caller's abort must not fail the others.
    const version = this.#apiVersion ?? (await this.negotiate());
    return { path: `/v${version}${path}${query}`, what };
  }

  context(method: HttpMethod, path: string): CallContext {
    return { label: this.label, what: `${method} ${path}` };
  }

  /** Whole body as bytes (multiplexed log output is binary). */
  async bytes(method: HttpMethod, path: string, spec: CallSpec = {}): Promise<Buffer> {
    const target = await this.#target(method, path, spec);
    const response = await sendBuffered(this.transport, { ...spec, ...target, method });
    return response.body;
  }

  async text(method: HttpMethod, path: string, spec: CallSpec = {}): Promise<string> {
    return (await this.bytes(method, path, spec)).toString('utf8');
  }

  async json<T>(method: HttpMethod, path: string, spec: CallSpec = {}): Promise<T> {
    const text = await this.text(method, path, spec);
    return JSON.parse(text) as T;
  }

  /** For calls whose answer is 204/201 with nothing we need. */
  async empty(method: HttpMethod, path: string, spec: CallSpec = {}): Promise<void> {
    await this.text(method, path, spec);
  }

  async stream(method: HttpMethod, path: string, spec: CallSpec = {}): Promise<EngineResponse> {
    const target = await this.#target(method, path, spec);
    return sendStreaming(this.transport, { ...spec, ...target, method });
  }

  async hijack(method: HttpMethod, path: string, spec: CallSpec = {}): Promise<Duplex> {
    const target = await this.#target(method, path, spec);
    return sendHijack(this.transport, { ...spec, ...target, method });
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
