// Images: list, inspect, pull and push (progress streams), tag, remove, prune.
import type { DockerClient } from './client.ts';
import { inBandError } from './errors.ts';
import { NotFound } from '../errors.ts';
import type { Filters } from './query.ts';
import { bodyChunks, LONG_TIMEOUT_MS } from './request.ts';
import type { CallOptions } from './request.ts';
import { ndjson } from './stream.ts';

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
  [field: string]: unknown;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: string;
  Size: number;
  Architecture: string;
  Os: string;
  Config: { Env?: string[]; Cmd?: string[] | null; Entrypoint?: string[] | null; Labels?: Record<string, string> | null; [field: string]: unknown };
  RootFS: { Type: string; Layers?: string[] };
  [field: string]: unknown;
}

/** One line of pull/push progress. `error` set means the operation failed. */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: { Tag?: string; Digest?: string; Size?: number };
  [field: string]: unknown;
}

/** Credentials for X-Registry-Auth; never logged. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

export interface ImageReference {
  /** Everything before the tag or digest, registry host included. */
  repository: string;
  /** A tag (`1`) or a digest (`sha256:…`). */
  tag: string;
}

/** `host:5000/busybox:1` → repository `host:5000/busybox`, tag `1`; no tag means `latest`. */
export function parseImageReference(reference: string): ImageReference {
  const at = reference.indexOf('@');
  if (at !== -1) return { repository: reference.slice(0, at), tag: reference.slice(at + 1) };
  const colon = reference.lastIndexOf(':');
  // A colon before the last slash is a registry port, not a tag.
  if (colon > reference.lastIndexOf('/')) return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repository: reference, tag: 'latest' };
}

/** The engine decodes this header as URL-safe base64 with padding (Go's base64.URLEncoding). */
export function encodeRegistryAuth(auth: RegistryAuth): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

/** Image names contain `/` and `:`, which the engine's router takes as they are; anything else is escaped. */
function imagePath(name: string, suffix = ''): string {
  const escaped = name.split('/').map((part) => encodeURIComponent(part).replaceAll('%3A', ':')).join('/');
  return `/images/${escaped}${suffix}`;
}

export function listImages(docker: DockerClient, options: CallOptions & { all?: boolean; digests?: boolean; filters?: Filters } = {}): Promise<ImageSummary[]> {
  const { all, digests, filters, ...call } = options;
  return docker.json<ImageSummary[]>('GET', '/images/json', { ...call, query: { all, digests, filters } });
}

export function inspectImage(docker: DockerClient, name: string, options: CallOptions = {}): Promise<ImageInspect> {
  return docker.json<ImageInspect>('GET', imagePath(name, '/json'), options);
}

export interface PullOptions extends CallOptions {
  auth?: RegistryAuth;
  /** e.g. `linux/amd64`. */
  platform?: string;
}

/** Yields progress messages; throws (DockerApiError) when the engine reports an error in the stream. */
async function* progressStream(docker: DockerClient, path: string, query: Record<string, string | undefined>, options: PullOptions): AsyncGenerator<ProgressMessage> {
  const response = await docker.stream('POST', path, {
    timeoutMs: options.timeoutMs ?? LONG_TIMEOUT_MS,
    signal: options.signal,
    query,
    // Push requires the header even without credentials; `{}` means anonymous.
    headers: { 'x-registry-auth': encodeRegistryAuth(options.auth ?? {}) },
  });
  const call = docker.context('POST', path);
  for await (const message of ndjson<ProgressMessage>(bodyChunks(response.body, call, options.signal))) {
    if (message.error !== undefined || message.errorDetail?.message !== undefined) {
      throw inBandError(message.errorDetail?.message ?? message.error ?? 'unknown error', call);
    }
    yield message;
  }
}

/** POST /images/create. The deadline covers the start of the pull only; abort with `signal`. */
export function pullImage(docker: DockerClient, reference: string, options: PullOptions = {}): AsyncGenerator<ProgressMessage> {
  const { repository, tag } = parseImageReference(reference);
  return progressStream(docker, '/images/create', { fromImage: repository, tag, platform: options.platform }, options);
}

export function pushImage(docker: DockerClient, reference: string, options: PullOptions = {}): AsyncGenerator<ProgressMessage> {
  const { repository, tag } = parseImageReference(reference);
  return progressStream(docker, imagePath(repository, '/push'), { tag }, options);
}

/** Pulls unless the engine already has the image; returns its inspect data. */
export async function ensureImage(docker: DockerClient, reference: string, options: PullOptions = {}): Promise<ImageInspect> {
  try {
    return await inspectImage(docker, reference, { signal: options.signal });
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
  for await (const _message of pullImage(docker, reference, options)) {
    // Progress is not needed here; draining the stream is what completes the pull.
  }
  return inspectImage(docker, reference, { signal: options.signal });
}

/** Adds `target` (repo[:tag]) as a name for image `source`. */
export function tagImage(docker: DockerClient, source: string, target: string, options: CallOptions = {}): Promise<void> {
  const { repository, tag } = parseImageReference(target);
  return docker.empty('POST', imagePath(source, '/tag'), { ...options, query: { repo: repository, tag } });
}

export type ImageDeleteItem = { Untagged?: string; Deleted?: string };

export function removeImage(docker: DockerClient, name: string, options: CallOptions & { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteItem[]> {
  const { force, noprune, ...call } = options;
  return docker.json<ImageDeleteItem[]>('DELETE', imagePath(name), { timeoutMs: LONG_TIMEOUT_MS, ...call, query: { force, noprune } });
}

/** Filters e.g. `{ dangling: 'false' }` to remove every unused image, `{ label: 'x=y' }`. */
export function pruneImages(docker: DockerClient, options: CallOptions & { filters?: Filters } = {}): Promise<{ ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }> {
  const { filters, ...call } = options;
  return docker.json('POST', '/images/prune', { timeoutMs: LONG_TIMEOUT_MS, ...call, query: { filters } });
}

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms?: { architecture: string; os: string }[];
}

/** What the registry says of an image reference now (the engine asks it): its digest, as `docker stack deploy` pins images. */
export function inspectDistribution(docker: DockerClient, reference: string, options: CallOptions & { auth?: RegistryAuth } = {}): Promise<DistributionInspect> {
  const { auth, ...call } = options;
  return docker.json<DistributionInspect>('GET', `/distribution/${reference}/json`, { ...call, headers: auth ? { 'x-registry-auth': encodeRegistryAuth(auth) } : {} });
}
