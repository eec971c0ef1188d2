// Update detection (SPEC S15): every container of the fleet, from the synced
// inventory, compared with its registry. One remote check per (registry,
// repository, tag) per cycle for the whole fleet, however many containers use
// it; an index (multi-arch) is compared by its own digest first, then by the
// host's platform manifest, so a multi-arch image is never a false update.
import type { ContainerSummary } from '../docker/containers.ts';
import type { ImageSummary } from '../docker/images.ts';
import type { UpdateCheckRow } from '../store/updates-repo.ts';
import { parseImageRef, refKey, type ImageRef } from './registry/reference.ts';
import { MEDIA_TYPES, type RegistryClient, type RemoteManifest } from './registry/client.ts';
import { resolveUpdatePolicy } from './policy.ts';

export type CheckStatus = 'up_to_date' | 'update_available' | 'pinned' | 'error' | 'unknown';

/** One container as the check sees it. */
export interface ImageUse {
  hostId: string;
  containerId: string;
  containerName: string;
  /** The reference the container was created from. */
  image: string;
  labels: Record<string, string>;
  /** Registry digests the host's engine recorded for the container's image (`repo@sha256:…`). */
  repoDigests: string[];
  platform: { os: string; architecture: string; variant?: string };
}

export interface HostFacts { id: string; arch: string | null }

export interface PolicyFacts { overrides: Record<string, string>; defaultPolicy?: string }

export interface CheckCycle {
  rows: UpdateCheckRow[];
  /** Distinct (registry, repository, tag) checked remotely. */
  remoteChecks: number;
}

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);

/** What a container list shows instead of a reference when the container was created from, or outlived, its tag. */
export const IMAGE_ID = /^sha256:[a-f0-9]{64}$|^[a-f0-9]{12,64}$/;

/** The engine's `uname -m` as the OCI platform names it. */
export function platformOf(arch: string | null): ImageUse['platform'] {
  switch (arch) {
    case 'aarch64': case 'arm64': return { os: 'linux', architecture: 'arm64' };
    case 'armv7l': return { os: 'linux', architecture: 'arm', variant: 'v7' };
    case 'armv6l': return { os: 'linux', architecture: 'arm', variant: 'v6' };
    case 'i686': case 'i386': return { os: 'linux', architecture: '386' };
    case 'ppc64le': case 's390x': case 'riscv64': return { os: 'linux', architecture: arch };
    default: return { os: 'linux', architecture: 'amd64' };
  }
}

/** Containers of the given hosts with their image's recorded digests, from the inventory. */
export function collectUses(hosts: HostFacts[], containers: { hostId: string; data: ContainerSummary }[], images: { hostId: string; data: ImageSummary }[]): ImageUse[] {
  const digests = new Map<string, string[]>();
  for (const i of images) digests.set(`${i.hostId}/${i.data.Id}`, i.data.RepoDigests ?? []);
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const uses: ImageUse[] = [];
  for (const { hostId, data: c } of containers) {
    const host = byId.get(hostId);
    if (!host) continue;
    uses.push({
      hostId, containerId: c.Id, containerName: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), image: c.Image ?? '',
      labels: (c.Labels ?? {}) as Record<string, string>, repoDigests: digests.get(`${hostId}/${c.ImageID}`) ?? [], platform: platformOf(host.arch),
    });
  }
  return uses;
}

/** The digests recorded for the same registry and repository as `ref`. */
function localDigests(use: ImageUse, ref: ImageRef): string[] {
  const out: string[] = [];
  for (const rd of use.repoDigests) {
    const at = rd.lastIndexOf('@');
    if (at < 0) continue;
    try {
      const r = parseImageRef(rd.slice(0, at));
      if (r.registry === ref.registry && r.repository === ref.repository) out.push(rd.slice(at + 1));
    } catch {
      // an engine-recorded digest we cannot parse says nothing about this reference
    }
  }
  return out;
}

type Remote = { manifest?: RemoteManifest; platforms?: RemoteManifest; error?: string };

/** Checks every use: one resolve per reference key, a second (for the platform list) only when an index does not match. */
export async function checkUses(uses: ImageUse[], client: RegistryClient, policy: PolicyFacts, opts: { signal?: AbortSignal; now?: string } = {}): Promise<CheckCycle> {
  const parsed = uses.map((u) => ({ use: u, ref: safeParse(u.image) }));
  const remotes = new Map<string, Promise<Remote>>();
  const resolveOnce = (ref: ImageRef): Promise<Remote> => {
    const key = refKey(ref);
    let p = remotes.get(key);
    if (!p) {
      p = client.resolve(ref, { signal: opts.signal }).then((manifest) => ({ manifest }), (err: Error) => ({ error: err.message }));
      remotes.set(key, p);
    }
    return p;
  };
  const withPlatforms = new Map<string, Promise<RemoteManifest | undefined>>();
  const platformsOnce = (ref: ImageRef): Promise<RemoteManifest | undefined> => {
    const key = refKey(ref);
    let p = withPlatforms.get(key);
    if (!p) {
      p = client.resolve(ref, { signal: opts.signal, platforms: true }).catch(() => undefined);
      withPlatforms.set(key, p);
    }
    return p;
  };
  const now = opts.now ?? new Date().toISOString();
  const rows = await Promise.all(parsed.map(async ({ use, ref }) => {
    const resolved = resolveUpdatePolicy({ labels: use.labels, containerName: use.containerName, overrides: policy.overrides, hostId: use.hostId, defaultPolicy: policy.defaultPolicy, image: use.image });
    const row: UpdateCheckRow = {
      host_id: use.hostId, container_id: use.containerId, container_name: use.containerName, image_ref: use.image,
      current_digest: null, available_digest: null, status: 'unknown', policy: resolved.policy, policy_source: resolved.source,
      warning: resolved.warning ?? null, error: null, checked_at: now,
    };
    if (!ref.ok) return { ...row, status: 'unknown', error: ref.error };
    const local = localDigests(use, ref.ref);
    // `repo:tag@sha256:…` (a Swarm task's image as stack deploy pins it): the digest named is what runs.
    if (ref.ref.digest && !local.includes(ref.ref.digest)) local.unshift(ref.ref.digest);
    row.current_digest = local[0] ?? null;
    if (ref.ref.digest && !ref.ref.tag) return { ...row, status: 'pinned', current_digest: ref.ref.digest };
    if (local.length === 0) {
      return { ...row, status: 'unknown', error: `image ${use.image} has no registry digest on this host (built or loaded locally, or pulled by ID): nothing to compare with` };
    }
    const remote = await resolveOnce(ref.ref);
    if (remote.error || !remote.manifest) return { ...row, status: 'error', error: remote.error ?? 'no answer' };
    row.available_digest = remote.manifest.digest;
    if (local.includes(remote.manifest.digest)) return { ...row, status: 'up_to_date' };
    if (INDEX_TYPES.has(remote.manifest.mediaType)) {
      // The engine may have recorded the platform manifest rather than the index (pulled by platform digest, older engines).
      const mine = (await platformsOnce(ref.ref))?.platforms?.find((p) => p.os === use.platform.os && p.architecture === use.platform.architecture && (!use.platform.variant || !p.variant || p.variant === use.platform.variant));
      if (mine && local.includes(mine.digest)) return { ...row, status: 'up_to_date' };
    }
    return { ...row, status: policyStatus(resolved.policy, 'update_available') };
  }));
  return { rows, remoteChecks: remotes.size };
}

/**
 * A stored check row as the policy now in force sees it: an override or default changed since the check
 * re-resolves the policy and the pinned/update_available status at once, without a new registry check
 * (the remote digest was fetched for pinned containers too). Label and digest policies do not depend on
 * the server's settings and are kept as they are.
 */
export function withCurrentPolicy(row: UpdateCheckRow, policy: { overrides: Record<string, string>; defaultPolicy?: string }): UpdateCheckRow {
  if (row.policy_source === 'label' || row.policy_source === 'digest') return row;
  const resolved = resolveUpdatePolicy({ labels: {}, containerName: row.container_name, overrides: policy.overrides, hostId: row.host_id, defaultPolicy: policy.defaultPolicy, image: row.image_ref });
  const moved = row.status === 'pinned' || row.status === 'update_available' ? policyStatus(resolved.policy, 'update_available') : row.status;
  return { ...row, policy: resolved.policy, policy_source: resolved.source, warning: resolved.warning ?? null, status: moved };
}

/** A pinned container is reported pinned even when its tag moved. */
function policyStatus(policy: string, status: CheckStatus): CheckStatus {
  return policy === 'pinned' && status === 'update_available' ? 'pinned' : status;
}

function safeParse(image: string): { ok: true; ref: ImageRef } | { ok: false; error: string } {
  if (IMAGE_ID.test(image)) {
    return { ok: false, error: `the container was created from image ID ${image.slice(0, 19)}, not a reference: nothing to check` };
  }
  try {
    return { ok: true, ref: parseImageRef(image) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
