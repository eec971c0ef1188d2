// The registry client for image-update checks (SPEC S15): the current digest of
// a tag over the Registry HTTP API v2 (HEAD first, GET when needed), with Basic
// and bearer-token auth, Retry-After, per-registry concurrency and counters.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Logger } from '../../log.ts';
import { TokenCache, basicAuthorization, parseWwwAuthenticate, type AuthChallenge, type Credentials, type TokenRequest } from './auth.ts';
import { RegistryError } from './errors.ts';
import { HttpDispatchers, exchange, header, parseRetryAfter, type HttpAnswer, type RegistryAccess } from './http.ts';
import { formatImageRef, registryApiHost, type ImageRef } from './reference.ts';
import { Semaphore } from './semaphore.ts';

export type { RegistryAccess } from './http.ts';
export { RegistryError, type RegistryErrorKind } from './errors.ts';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
} as const;
const ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociManifest].join(', ');
const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
const MANIFEST_TYPES = new Set<string>([...INDEX_TYPES, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociManifest,
  'application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);
const DIGEST = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;

export interface Platform {
  digest: string;
  os: string;
  architecture: string;
  variant?: string;
}

export interface RemoteManifest {
  /** What the tag points at now: the index digest for multi-platform images. */
  digest: string;
  mediaType: string;
  /** With `platforms: true` and an index: one entry per platform manifest. */
  platforms?: Platform[];
}

export interface RegistryStats {
  /** Every HTTP request sent for this registry, token requests included. */
  requests: number;
  /** resolve() calls that failed with a RegistryError. */
  errors: number;
  /** Answers 429 or 503 (each one, retried or not). */
  rateLimited: number;
}

export interface RegistryClientOptions {
  access: (host: string) => RegistryAccess | undefined | Promise<RegistryAccess | undefined>;
  log?: Logger;
  /** Deadline of one HTTP request (default 15 s). */
  timeoutMs?: number;
  /** Retries after 429/503 (default 3). */
  maxRetries?: number;
  /** First backoff step without Retry-After (default 500 ms; doubles, with jitter). */
  retryBaseMs?: number;
  /** A Retry-After longer than this fails at once as rate_limited (default 60 s). */
  maxRetryAfterMs?: number;
}

const ManifestBody = z.object({
  schemaVersion: z.number(),
  mediaType: z.string().optional(),
  manifests: z.array(z.object({
    digest: z.string(),
    platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })).optional(),
});

/** What one resolve() knows about its registry. */
interface Target {
  ref: ImageRef;
  access: RegistryAccess;
  base: string;
  signal: AbortSignal | undefined;
}

export class RegistryClient {
  private readonly opts: RegistryClientOptions;
  private readonly dispatchers = new HttpDispatchers();
  private readonly tokens = new TokenCache();
  /** The challenge each registry answered last: later requests authenticate up front. */
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly limits = new Map<string, Semaphore>();
  private readonly counters = new Map<string, RegistryStats>();

  constructor(opts: RegistryClientOptions) {
    this.opts = opts;
  }

  /** The digest a tag (or a pinned digest) resolves to now. */
  async resolve(ref: ImageRef, opts: { signal?: AbortSignal; platforms?: boolean } = {}): Promise<RemoteManifest> {
    const access = (await this.opts.access(ref.registry)) ?? { host: ref.registry, insecure: false, skipTlsVerify: false, concurrency: 4 };
    const base = `${access.insecure ? 'http' : 'https'}://${registryApiHost(ref.registry)}`;
    const target: Target = { ref, access, base, signal: opts.signal };
    try {
      return await this.resolveManifest(target, opts.platforms === true);
    } catch (error) {
      if (error instanceof RegistryError) this.count(ref.registry).errors++;
      throw error;
    }
  }

  stats(): Record<string, RegistryStats> {
    return Object.fromEntries([...this.counters].map(([host, s]) => [host, { ...s }]));
  }

  /** Closes the keep-alive connections. */
  async close(): Promise<void> {
    await this.dispatchers.close();
  }

  private async resolveManifest(t: Target, platforms: boolean): Promise<RemoteManifest> {
    const reference = t.ref.tag ?? t.ref.digest ?? 'latest';
    const head = await this.manifestRequest(t, 'HEAD', reference);
    const headDigest = header(head, 'docker-content-digest');
    const headType = mediaTypeOf(head);
    if (headDigest !== undefined && !DIGEST.test(headDigest)) {
      throw this.badResponse(t, `answered with a Docker-Content-Digest that is not a digest`);
    }
    if (headDigest && headType && MANIFEST_TYPES.has(headType) && !(platforms && INDEX_TYPES.has(headType))) {
      return { digest: headDigest, mediaType: headType };
    }
    // By digest when we have it, so the body is the one HEAD described even if the tag moves meanwhile.
    const get = await this.manifestRequest(t, 'GET', headDigest ?? reference);
    return this.readManifest(t, get, headDigest, platforms);
  }

  private readManifest(t: Target, get: HttpAnswer, expected: string | undefined, platforms: boolean): RemoteManifest {
    const computed = `sha256:${crypto.createHash('sha256').update(get.body).digest('hex')}`;
    // A pinned digest is what we asked for only when the reference has no tag (a tag is asked by name).
    const claimed = header(get, 'docker-content-digest') ?? expected ?? (t.ref.tag === undefined ? t.ref.digest : undefined);
    if (claimed?.startsWith('sha256:') && claimed !== computed) {
      throw this.badResponse(t, `sent a manifest whose content does not match its digest ${claimed}`);
    }
    let body: z.infer<typeof ManifestBody>;
    try {
      body = ManifestBody.parse(JSON.parse(get.body.toString('utf8')));
    } catch {
      throw this.badResponse(t, `answered with something that is not an image manifest (${mediaTypeOf(get) ?? 'no content type'})`);
    }
    const mediaType = body.mediaType ?? mediaTypeOf(get);
    if (!mediaType) throw this.badResponse(t, 'sent a manifest without a media type');
    const digest = claimed && DIGEST.test(claimed) ? claimed : computed;
    if (!platforms || !INDEX_TYPES.has(mediaType)) return { digest, mediaType };
    const list = (body.manifests ?? [])
      .filter((m) => m.platform && m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest')
      .map((m): Platform => ({ digest: m.digest, os: m.platform!.os, architecture: m.platform!.architecture, ...(m.platform!.variant ? { variant: m.platform!.variant } : {}) }));
    return { digest, mediaType, platforms: list };
  }

  /** One manifest request with the auth flow (one retry after 401) and the rate-limit retries. */
  private async manifestRequest(t: Target, method: 'HEAD' | 'GET', reference: string): Promise<HttpAnswer> {
    const { ref } = t;
    const path = `/v2/${ref.repository}/manifests/${reference}`;
    const what = `${method} ${path}`;
    let authRetried = false;
    let rateRetries = 0;
    for (;;) {
      const authorization = await this.authorization(t, this.challenges.get(ref.registry));
      const answer = await this.send(t, method, new URL(path, t.base), authorization, what, t.signal);
      if (answer.status === 401) {
        const challenge = parseWwwAuthenticate(answer.headers['www-authenticate']);
        const canRetry = !authRetried && challenge !== undefined && (challenge.scheme === 'bearer' || credentialsOf(t.access) !== undefined);
        if (!canRetry) throw this.unauthorized(t, 401, challenge === undefined);
        if (authorization !== undefined && challenge.scheme === 'bearer') this.tokens.forget(this.tokenRequest(t, challenge));
        this.challenges.set(ref.registry, challenge);
        authRetried = true;
        continue;
      }
      if (answer.status === 403) throw this.unauthorized(t, 403, false);
      if (answer.status === 429 || answer.status === 503) {
        const retryAfter = parseRetryAfter(header(answer, 'retry-after'));
        const wait = retryAfter ?? this.backoff(rateRetries);
        const maxAfter = this.opts.maxRetryAfterMs ?? 60_000;
        if (rateRetries >= (this.opts.maxRetries ?? 3) || wait > maxAfter) {
          const after = retryAfter !== undefined ? `; it asks to wait ${Math.ceil(retryAfter / 1000)} s` : '';
          throw new RegistryError('rate_limited', ref.registry, `registry ${ref.registry} is limiting requests (${answer.status}) for ${formatImageRef(ref)} after ${rateRetries + 1} attempts${after}; try again later`);
        }
        rateRetries++;
        this.opts.log?.warn({ registry: ref.registry, repository: ref.repository, status: answer.status, waitMs: wait, attempt: rateRetries }, 'registry rate limit, retrying');
        await sleep(wait, undefined, { signal: t.signal });
        continue;
      }
      if (answer.status === 404) {
        throw new RegistryError('not_found', ref.registry, `registry ${ref.registry} has no manifest for ${formatImageRef(ref)} (404): check the repository and tag`);
      }
      if (answer.status !== 200) throw this.badResponse(t, `answered ${what} with HTTP ${answer.status}`);
      return answer;
    }
  }

  /** The Authorization header for a registry whose challenge we know, or none. */
  private async authorization(t: Target, challenge: AuthChallenge | undefined): Promise<string | undefined> {
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const credentials = credentialsOf(t.access);
      return credentials ? basicAuthorization(credentials) : undefined;
    }
    const token = await this.tokens.token(this.tokenRequest(t, challenge), async (url, auth) => {
      // Not the caller's signal: other resolves may be waiting on this token too.
      const answer = await this.send(t, 'GET', url, auth, `GET ${url.pathname} (token)`, undefined);
      return { status: answer.status, body: answer.body };
    });
    return `Bearer ${token}`;
  }

  private tokenRequest(t: Target, challenge: AuthChallenge & { scheme: 'bearer' }): TokenRequest {
    return { registry: t.ref.registry, repository: t.ref.repository, challenge, credentials: credentialsOf(t.access), insecure: t.access.insecure };
  }

  /** One HTTP request under the registry's concurrency limit, counted. */
  private async send(t: Target, method: 'HEAD' | 'GET', url: URL, authorization: string | undefined, what: string, signal: AbortSignal | undefined): Promise<HttpAnswer> {
    const registry = t.ref.registry;
    const release = await this.limit(registry, t.access.concurrency).acquire(signal);
    const started = Date.now();
    try {
      this.count(registry).requests++;
      const headers: Record<string, string> = { accept: url.pathname.includes('/manifests/') ? ACCEPT : 'application/json', 'user-agent': 'flotilla' };
      if (authorization) headers.authorization = authorization;
      const answer = await exchange(this.dispatchers, {
        registry, method, url, headers, what, signal,
        skipTlsVerify: t.access.skipTlsVerify, timeoutMs: this.opts.timeoutMs ?? 15_000,
      });
      if (answer.status === 429 || answer.status === 503) this.count(registry).rateLimited++;
      this.opts.log?.debug({ registry, what, status: answer.status, ms: Date.now() - started }, 'registry request');
      return answer;
    } catch (error) {
      this.opts.log?.debug({ registry, what, ms: Date.now() - started, err: error instanceof Error ? error.message : String(error) }, 'registry request failed');
      throw error;
    } finally {
      release();
    }
  }

  private limit(registry: string, concurrency: number): Semaphore {
    let sem = this.limits.get(registry);
    if (!sem) this.limits.set(registry, (sem = new Semaphore(concurrency)));
    else sem.setLimit(concurrency);
    return sem;
  }

  private count(registry: string): RegistryStats {
    let s = this.counters.get(registry);
    if (!s) this.counters.set(registry, (s = { requests: 0, errors: 0, rateLimited: 0 }));
    return s;
  }

  /** Exponential, with jitter: somewhere between half and all of the step. */
  private backoff(attempt: number): number {
    const step = (this.opts.retryBaseMs ?? 500) * 2 ** attempt;
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  private badResponse(t: Target, why: string): RegistryError {
    return new RegistryError('bad_response', t.ref.registry, `registry ${t.ref.registry} ${why} (for ${formatImageRef(t.ref)})`);
  }

  private unauthorized(t: Target, status: number, noChallenge: boolean): RegistryError {
    const { registry, repository } = t.ref;
    const message = status === 403
      ? `registry ${registry} denied pull access to repository ${repository} (403)${credentialsOf(t.access) ? ' for the configured user' : ''}`
      : noChallenge
        ? `registry ${registry} refused access to repository ${repository} (401) without saying how to authenticate`
        : credentialsOf(t.access)
          ? `registry ${registry} refused the credentials for repository ${repository} (401)`
          : `registry ${registry} requires credentials for repository ${repository} (401); add a username and password for this registry`;
    return new RegistryError('unauthorized', registry, message);
  }
}

function credentialsOf(access: RegistryAccess): Credentials | undefined {
  return access.username !== undefined && access.password !== undefined ? { username: access.username, password: access.password } : undefined;
}

function mediaTypeOf(answer: HttpAnswer): string | undefined {
  return header(answer, 'content-type')?.split(';')[0].trim().toLowerCase() || undefined;
}
