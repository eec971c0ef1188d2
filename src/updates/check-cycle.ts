// One check cycle of the fleet: read the synced inventory, check each distinct
// image reference once, store the results per host, and say what is new
// (updates that appeared, checks that started failing) for the notifier.
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { UpdateCheckRow } from '../store/updates-repo.ts';
import type { ContainerSummary } from '../docker/containers.ts';
import type { ImageSummary } from '../docker/images.ts';
import type { RegistryClient } from './registry/client.ts';
import type { UpdateNotice } from './notify/index.ts';
import { checkUses, collectUses, IMAGE_ID, type ImageUse, type PolicyFacts } from './detect.ts';

export interface CheckSummary {
  at: string;
  hosts: number;
  containers: number;
  /** Distinct (registry, repository, tag) checked remotely. */
  remoteChecks: number;
  /** HTTP requests made to registries during the cycle (tokens included). */
  registryRequests: number;
  updatesAvailable: number;
  errors: number;
  durationMs: number;
}

export interface CycleResult {
  summary: CheckSummary;
  rows: UpdateCheckRow[];
  notices: UpdateNotice[];
}

/** Hosts the check covers: not a duplicate of another (S8), and, when asked, only those named. */
export function hostsToCheck(all: HostRow[], only?: Set<string>): HostRow[] {
  return all.filter((h) => !h.duplicate_of && (!only || only.has(h.id) || only.has(h.name)));
}

/** Reads a container's Config.Image when the list shows only an image ID. */
export type ConfigImage = (hostId: string, containerId: string) => Promise<string | undefined>;

/**
 * Once the tag a container was created from moves on its engine (a pull of the newer version), the
 * container list shows the old image's ID instead of the reference: the reference is in its inspect.
 */
async function withReferences(uses: ImageUse[], configImage: ConfigImage): Promise<void> {
  const pending = uses.filter((u) => IMAGE_ID.test(u.image));
  for (let i = 0; i < pending.length; i += 8) {
    await Promise.all(pending.slice(i, i + 8).map(async (u) => {
      const ref = await configImage(u.hostId, u.containerId).catch(() => undefined);
      if (ref) u.image = ref;
    }));
  }
}

export async function runCheckCycle(deps: { store: Store; registry: RegistryClient; configImage: ConfigImage }, hosts: HostRow[], policy: PolicyFacts, signal?: AbortSignal): Promise<CycleResult> {
  const started = Date.now();
  const at = new Date().toISOString();
  const ids = new Set(hosts.map((h) => h.id));
  const containers = (await deps.store.inventory.listAll<ContainerSummary>('container')).filter((c) => ids.has(c.hostId));
  const images = (await deps.store.inventory.listAll<ImageSummary>('image')).filter((i) => ids.has(i.hostId));
  const uses = collectUses(hosts.map((h) => ({ id: h.id, arch: h.arch })), containers, images);
  await withReferences(uses, deps.configImage);
  const before = requestsMade(deps.registry);
  const cycle = await checkUses(uses, deps.registry, policy, { signal, now: at });
  const previous = new Map((await deps.store.updates.checks()).map((r) => [`${r.host_id}/${r.container_id}`, r]));
  for (const h of hosts) await deps.store.updates.replaceChecks(h.id, cycle.rows.filter((r) => r.host_id === h.id));
  const names = new Map(hosts.map((h) => [h.id, h.name]));
  const notices = newsOf(cycle.rows, previous, names, at);
  return {
    rows: cycle.rows, notices,
    summary: {
      at, hosts: hosts.length, containers: uses.length, remoteChecks: cycle.remoteChecks, registryRequests: requestsMade(deps.registry) - before,
      updatesAvailable: cycle.rows.filter((r) => r.status === 'update_available').length,
      errors: cycle.rows.filter((r) => r.status === 'error').length, durationMs: Date.now() - started,
    },
  };
}

function requestsMade(client: RegistryClient): number {
  return Object.values(client.stats()).reduce((n, s) => n + s.requests, 0);
}

/** An update is news once per available digest; a failing check once until it recovers. */
function newsOf(rows: UpdateCheckRow[], previous: Map<string, UpdateCheckRow>, names: Map<string, string>, at: string): UpdateNotice[] {
  const out: UpdateNotice[] = [];
  for (const r of rows) {
    const was = previous.get(`${r.host_id}/${r.container_id}`);
    const base = { at, host: { id: r.host_id, name: names.get(r.host_id) ?? r.host_id }, container: { id: r.container_id, name: r.container_name }, image: r.image_ref };
    if (r.status === 'update_available' && !(was?.status === 'update_available' && was.available_digest === r.available_digest)) {
      out.push({ ...base, kind: 'update_available', fromDigest: r.current_digest ?? undefined, toDigest: r.available_digest ?? undefined });
    }
    if (r.status === 'error' && was?.status !== 'error') out.push({ ...base, kind: 'check_failed', error: r.error ?? 'unknown error' });
  }
  return out;
}
