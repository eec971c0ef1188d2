// Turns the per-host answers of a fleet-wide list into one answer in the engine's own shape: items
// decorated with their host, shared objects once, ordered the same whatever order the hosts answered in.
import type { ContainerSummary } from '../docker/container-types.ts';
import type { ImageSummary } from '../docker/images.ts';
import type { NetworkSummary } from '../docker/networks.ts';
import type { Volume } from '../docker/volumes.ts';
import { decorateContainer, decorateImage, decorateNetwork, decorateShared, decorateVolume, HOST_LABEL } from './decorate.ts';
import { compareText } from './filters.ts';
import { FlotillaError } from '../errors.ts';

/** One host's answer to a list call; engines may answer `null` for an empty list. */
export interface HostList<T> {
  host: string;
  items: readonly T[] | null;
}

/** The engine's answer shape for `GET /volumes`. */
export interface VolumeList {
  Volumes: Volume[] | null;
  Warnings: string[] | null;
}

export interface ContainerListOptions {
  /** Docker's `limit`: the N most recently created, fleet-wide; absent, 0 or negative means all. */
  limit?: number;
  /** Applied by each host (forward it there); accepted so a request's options pass through unchanged. */
  all?: boolean;
}

export interface HostFailure {
  host: string;
  /** The error itself (its class gives the reason), a short reason (`unreachable`, `unavailable` …) or a message. */
  error: string | Error;
}

/** Response header naming the hosts missing from an answer; see describePartial for its grammar. */
export const PARTIAL_HEADER = 'X-Flotilla-Partial';
// Node clients refuse response headers over 16 KiB in total: leave room for the rest.
const MAX_PARTIAL_HEADER_LENGTH = 4096;
const SUMMARY_RESERVE = 24;

function byHost<T extends { host: string }>(perHost: readonly T[]): T[] {
  return [...perHost].sort((a, b) => compareText(a.host, b.host));
}

function hostOf(item: { Labels: Record<string, string> | null }): string {
  return item.Labels?.[HOST_LABEL] ?? '';
}

/** Newest first, as the engine orders containers and images; host then Id break ties so the order is total. */
function newestFirst<T extends { Created: number; Id: string; Labels: Record<string, string> | null }>(a: T, b: T): number {
  return b.Created - a.Created || compareText(hostOf(a), hostOf(b)) || compareText(a.Id, b.Id);
}

/**
 * Each host already applied `limit` (its N newest), so the fleet's N newest are among them: sort, then cut.
 * Forward `limit` and `all` to every host unchanged.
 */
export function mergeContainerLists(perHost: readonly HostList<ContainerSummary>[], opts: ContainerListOptions = {}): ContainerSummary[] {
  const merged = byHost(perHost)
    .flatMap(({ host, items }) => (items ?? []).map((container) => decorateContainer(host, container)))
    .sort(newestFirst);
  const limit = opts.limit ?? 0;
  return limit > 0 ? merged.slice(0, limit) : merged;
}

/** The same image on two hosts is listed twice: each copy is a node-local object, removed per host. */
export function mergeImageLists(perHost: readonly HostList<ImageSummary>[]): ImageSummary[] {
  return byHost(perHost)
    .flatMap(({ host, items }) => (items ?? []).map((image) => decorateImage(host, image)))
    .sort(newestFirst);
}

/**
 * Objects every host sees as the same one (swarm or global networks, global-scope volumes) appear once,
 * attributed to the first host in name order and listing all; the rest are decorated per host.
 */
function mergeShared<T extends { Labels: Record<string, string> | null }>(
  perHost: readonly HostList<T>[], sharedKey: (item: T) => string | undefined, decorate: (host: string, item: T) => T,
): T[] {
  const local: T[] = [];
  const shared = new Map<string, { item: T; hosts: string[] }>();
  for (const { host, items } of byHost(perHost)) {
    for (const item of items ?? []) {
      const key = sharedKey(item);
      if (key === undefined) local.push(decorate(host, item));
      else if (shared.has(key)) shared.get(key)!.hosts.push(host);
      else shared.set(key, { item, hosts: [host] });
    }
  }
  const once = [...shared.values()].map(({ item, hosts }) => decorateShared([...new Set(hosts)], item));
  return [...local, ...once];
}

/** Engines return networks in no set order and the CLI sorts by name: by name, then host, then Id. */
export function mergeNetworkLists(perHost: readonly HostList<NetworkSummary>[]): NetworkSummary[] {
  // 'local' (or absent) is the only node-local scope; 'swarm' and legacy 'global' networks share one Id.
  const sharedKey = (network: NetworkSummary): string | undefined =>
    network.Scope === undefined || network.Scope === 'local' ? undefined : `${network.Scope}:${network.Id}`;
  return mergeShared(perHost, sharedKey, decorateNetwork).sort((a, b) =>
    compareText(a.Name, b.Name) || compareText(hostOf(a), hostOf(b)) || compareText(a.Id, b.Id));
}

/**
 * Volumes by name, then host, then driver. A global-scope volume (a cluster-wide driver) is one object seen by
 * every host: listed once per driver and name. Host warnings are kept, prefixed `<host>: `, then `extraWarnings`
 * (e.g. describePartial's), so a client that shows Warnings also learns of missing hosts.
 */
export function mergeVolumeLists(perHost: readonly { host: string; items: VolumeList }[], extraWarnings: readonly string[] = []): { Volumes: Volume[]; Warnings: string[] } {
  const lists = perHost.map(({ host, items }) => ({ host, items: items.Volumes }));
  const sharedKey = (volume: Volume): string | undefined => (volume.Scope === 'global' ? `${volume.Driver}:${volume.Name}` : undefined);
  const volumes = mergeShared(lists, sharedKey, decorateVolume).sort((a, b) =>
    compareText(a.Name, b.Name) || compareText(hostOf(a), hostOf(b)) || compareText(a.Driver, b.Driver));
  const warnings = byHost(perHost).flatMap(({ host, items }) => (items.Warnings ?? []).map((warning) => `${host}: ${warning}`));
  return { Volumes: volumes, Warnings: [...warnings, ...extraWarnings] };
}

// A reason already shaped like a token goes into the header as is; a free-text message becomes `error`.
const REASON_TOKEN = /^[a-zA-Z][a-zA-Z0-9_.-]{0,31}$/;

// HostUnreachable → `unreachable`, HostTimeout → `timeout`, HostUnavailable → `unavailable`, NotFound → `not_found`.
function failureReason(error: string | Error): { reason: string; detail: string } {
  if (error instanceof FlotillaError) return { reason: error.code.replace(/^host_/, ''), detail: error.message };
  if (error instanceof Error) return { reason: 'error', detail: error.message };
  return { reason: REASON_TOKEN.test(error) ? error : 'error', detail: error };
}

/**
 * Names every host missing from an answer, so none is dropped silently. Header grammar, entries in host name order:
 *   `<host>=<reason>` joined by `; `, e.g. `node2=unreachable; node3=timeout`
 * where a late host's reason is `timeout`; a failed host's comes from its error's class (see failureReason), or is
 * its `error` string when that is a token (letters, digits, `_.-`, up to 32), else `error`. Beyond 4 KiB the rest
 * is summarised as a final `+<n> more` entry. Host names are percent-encoded should one ever fall outside the
 * registration syntax. A host both failed and late is reported as failed. `warnings` carry one full sentence
 * per host, message included; `header` is undefined when no host is missing.
 */
export function describePartial(failed: readonly HostFailure[], late: readonly string[]): { header: string | undefined; warnings: string[] } {
  const missing = new Map<string, { reason: string; detail: string }>();
  for (const { host, error } of failed) {
    if (!missing.has(host)) missing.set(host, failureReason(error));
  }
  for (const host of late) {
    if (!missing.has(host)) missing.set(host, { reason: 'timeout', detail: 'no answer before the deadline' });
  }
  const hosts = [...missing.keys()].sort(compareText);
  const warnings = hosts.map((host) => `host ${host} is missing from this answer: ${missing.get(host)!.detail}`);
  return { header: partialHeader(hosts.map((host) => `${encodeURIComponent(host)}=${missing.get(host)!.reason}`)), warnings };
}

function partialHeader(entries: readonly string[]): string | undefined {
  if (entries.length === 0) return undefined;
  const kept: string[] = [];
  let length = 0;
  for (const entry of entries) {
    // Room is always kept for the `; +<n> more` summary, so cutting never overshoots the limit.
    if (length + entry.length + SUMMARY_RESERVE > MAX_PARTIAL_HEADER_LENGTH) break;
    kept.push(entry);
    length += entry.length + 2;
  }
  const rest = entries.length - kept.length;
  return (rest > 0 ? [...kept, `+${rest} more`] : kept).join('; ');
}
