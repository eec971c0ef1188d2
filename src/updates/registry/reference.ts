// Image references as Docker normalises them (distribution/reference): the
// registry an update check must ask, the repository there, and tag or digest.
// Supersedes the lighter `parseImageReference` of docker/images.ts, which only
// splits a name for the Engine API and does not know registries.
import { BadRequest } from '../../errors.ts';

export interface ImageRef {
  /** host[:port] as written in references; `docker.io` for Docker Hub. */
  registry: string;
  /** Path inside the registry; `library/x` for official Hub images. */
  repository: string;
  /** `latest` when the reference has neither tag nor digest. */
  tag: string | undefined;
  /** `sha256:…` when the reference pins one. */
  digest: string | undefined;
}

export const DOCKER_HUB = 'docker.io';

// The grammar of distribution/reference/regexp.go.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:\\[[a-fA-F0-9:]+\\]|${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*)(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const IMAGE_ID = /^(?:sha256:)?[a-f0-9]{64}$/;
const MAX_NAME_LENGTH = 255;

/** Parses and normalises `ref` the way `docker pull` does; BadRequest naming the reference when it is invalid. */
export function parseImageRef(ref: string): ImageRef {
  const bad = (why: string): BadRequest => new BadRequest(`invalid image reference "${ref}": ${why}`, 'image');
  if (ref === '' || ref.trim() !== ref) throw bad('empty or surrounded by spaces');
  if (IMAGE_ID.test(ref)) throw bad('this is an image ID, not a name a registry can be asked about');

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest}" is not a digest`);
    if (digest.startsWith('sha256:') && !SHA256_DIGEST.test(digest)) throw bad('a sha256 digest is 64 lower-case hex digits');
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A colon before the last slash belongs to a registry port, not to a tag.
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }

  const { registry, path } = splitRegistry(rest);
  if (registry !== DOCKER_HUB && !DOMAIN.test(registry)) throw bad(`"${registry}" is not a registry host[:port]`);
  if (path === '') throw bad('the repository name is missing');
  if (path.length > MAX_NAME_LENGTH) throw bad(`the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  for (const component of path.split('/')) {
    if (component !== component.toLowerCase()) throw bad('repository names must be lower-case');
    if (!PATH_COMPONENT.test(component)) throw bad(`"${component}" is not a valid repository path component`);
  }
  const repository = registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, tag, digest };
}

/** docker/distribution's splitDockerDomain: the first component is a registry only if it looks like a host. */
function splitRegistry(name: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { registry: DOCKER_HUB, path: name };
  const first = name.slice(0, slash);
  const looksLikeHost = first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
  if (!looksLikeHost) return { registry: DOCKER_HUB, path: name };
  const registry = first === 'index.docker.io' || first === 'registry-1.docker.io' ? DOCKER_HUB : first;
  return { registry, path: name.slice(slash + 1) };
}

/**
 * The key of one remote check: `registry/repository:tag`. Containers that share it
 * share the answer. A digest-only reference has no tag to follow; it keys by digest.
 */
export function refKey(r: ImageRef): string {
  return r.tag !== undefined ? `${r.registry}/${r.repository}:${r.tag}` : `${r.registry}/${r.repository}@${r.digest}`;
}

/** The fully qualified reference, tag and digest both when present. */
export function formatImageRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** Where the registry's HTTP API answers: Docker Hub's references say docker.io, its API is registry-1.docker.io. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** `host[:port]` (DNS name, IPv4 or bracketed IPv6, optional port 1-65535), as registries are named in references. */
export function isRegistryHost(host: string): boolean {
  if (!DOMAIN.test(host)) return false;
  const port = /:(\d+)$/.exec(host)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}
