// Marks each item of a node-local list with the host it came from, using only
// places the Docker API schema already has (labels, names), so every client still parses it.
import type { ContainerSummary } from '../docker/container-types.ts';
import type { ImageSummary } from '../docker/images.ts';
import type { NetworkSummary } from '../docker/networks.ts';
import type { Volume } from '../docker/volumes.ts';

/** The label every merged item carries. Flotilla owns it: an engine-side label of that name is overwritten. */
export const HOST_LABEL = 'flotilla.host';
/** On objects shared by several hosts (swarm networks, global volumes): every host that reported it, comma-separated, name order. */
export const HOSTS_LABEL = 'flotilla.hosts';

export type Labels = Record<string, string>;

export interface HostPrefixedName {
  host: string;
  /** The engine-local name without its leading slash; a legacy link name keeps its inner slash (`web/db`). */
  name: string;
}

// Host names are validated with this syntax at registration (fleet/host-input.ts).
const HOST_NAME_SYNTAX = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Returns new labels: the engine may send null, and the engine's object must not change under the caller. */
export function withHostLabel(labels: Labels | null | undefined, host: string): Labels {
  return { ...(labels ?? {}), [HOST_LABEL]: host };
}

/** `hosts` sorted by the caller; the first is the one the object is attributed to. */
export function withSharedHostLabels(labels: Labels | null | undefined, hosts: readonly string[]): Labels {
  return { ...(labels ?? {}), [HOST_LABEL]: hosts[0] ?? '', [HOSTS_LABEL]: hosts.join(',') };
}

/**
 * Swarm-classic naming: `/web1` on `node1` → `/node1/web1`, so `docker ps` shows `node1/web1`.
 * A legacy link name (`/web/db`) gets the same prefix (`/node1/web/db`); parsing takes the first segment as host.
 */
export function prefixName(host: string, name: string): string {
  return `/${host}${name.startsWith('/') ? name : `/${name}`}`;
}

/**
 * `/node1/web1` or `node1/web1` → `{ host: 'node1', name: 'web1' }`; undefined when the first segment cannot be a
 * host name or nothing follows it. Without `hostNames` an undecorated link name (`/web/db`) reads as host `web`:
 * pass the registered names wherever the answer routes a request.
 */
export function parseHostPrefixedName(name: string, hostNames?: Iterable<string>): HostPrefixedName | undefined {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  const slash = bare.indexOf('/');
  if (slash <= 0) return undefined;
  const host = bare.slice(0, slash);
  const rest = bare.slice(slash + 1);
  if (rest === '' || rest.startsWith('/') || !HOST_NAME_SYNTAX.test(host)) return undefined;
  if (hostNames !== undefined && !new Set(hostNames).has(host)) return undefined;
  return { host, name: rest };
}

/** The engine-local form of a prefixed name, keeping the caller's leading slash or its absence; other names unchanged. */
export function stripHostPrefix(name: string, hostNames?: Iterable<string>): string {
  const parsed = parseHostPrefixedName(name, hostNames);
  if (parsed === undefined) return name;
  return name.startsWith('/') ? `/${parsed.name}` : parsed.name;
}

// The engine's own name (one segment) first: UIs that show Names[0] show it, not a link alias.
function primaryNameFirst(names: readonly string[]): string[] {
  const segments = (name: string): number => name.split('/').filter((part) => part !== '').length;
  return [...names].sort((a, b) => segments(a) - segments(b));
}

export function decorateContainer(host: string, container: ContainerSummary): ContainerSummary {
  const names = primaryNameFirst(container.Names ?? []).map((name) => prefixName(host, name));
  return { ...container, Names: names, Labels: withHostLabel(container.Labels, host) };
}

export function decorateImage(host: string, image: ImageSummary): ImageSummary {
  return { ...image, Labels: withHostLabel(image.Labels, host) };
}

export function decorateVolume(host: string, volume: Volume): Volume {
  return { ...volume, Labels: withHostLabel(volume.Labels, host) };
}

export function decorateNetwork(host: string, network: NetworkSummary): NetworkSummary {
  return { ...network, Labels: withHostLabel(network.Labels, host) };
}

/** One object seen by several hosts (`hosts` in name order): attributed to the first, all listed. */
export function decorateShared<T extends { Labels: Labels | null }>(hosts: readonly string[], item: T): T {
  return { ...item, Labels: withSharedHostLabels(item.Labels, hosts) };
}
