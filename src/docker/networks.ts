// Networks: list, inspect, create, remove, connect, disconnect, prune.
import type { DockerClient } from './client.ts';
import type { EndpointSettings } from './container-types.ts';
import { segment } from './query.ts';
import type { Filters } from './query.ts';
import { LONG_TIMEOUT_MS } from './request.ts';
import type { CallOptions } from './request.ts';

export interface IpamConfig {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
}

export interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
  Scope: 'local' | 'swarm' | 'global' | string;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Config: IpamConfig[] | null; Options?: Record<string, string> | null };
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Created: string;
  /** Filled by inspect (and list on some versions): endpoint id → attached container. */
  Containers?: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  [field: string]: unknown;
}

export interface NetworkCreateBody {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: IpamConfig[]; Options?: Record<string, string> };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
  /** Pre-1.44 engines create duplicates by name unless asked not to. */
  CheckDuplicate?: boolean;
  [field: string]: unknown;
}

export function listNetworks(docker: DockerClient, options: CallOptions & { filters?: Filters } = {}): Promise<NetworkSummary[]> {
  const { filters, ...call } = options;
  return docker.json<NetworkSummary[]>('GET', '/networks', { ...call, query: { filters } });
}

export function inspectNetwork(docker: DockerClient, id: string, options: CallOptions & { verbose?: boolean; scope?: string } = {}): Promise<NetworkSummary> {
  const { verbose, scope, ...call } = options;
  return docker.json<NetworkSummary>('GET', `/networks/${segment(id)}`, { ...call, query: { verbose, scope } });
}

export function createNetwork(docker: DockerClient, body: NetworkCreateBody, options: CallOptions = {}): Promise<{ Id: string; Warning?: string }> {
  return docker.json('POST', '/networks/create', { ...options, json: { CheckDuplicate: true, ...body } });
}

export function removeNetwork(docker: DockerClient, id: string, options: CallOptions = {}): Promise<void> {
  return docker.empty('DELETE', `/networks/${segment(id)}`, options);
}

export function connectNetwork(
  docker: DockerClient,
  networkId: string,
  containerId: string,
  options: CallOptions & { endpointConfig?: EndpointSettings & { IPAMConfig?: { IPv4Address?: string } } } = {},
): Promise<void> {
  const { endpointConfig, ...call } = options;
  return docker.empty('POST', `/networks/${segment(networkId)}/connect`, {
    ...call,
    json: { Container: containerId, EndpointConfig: endpointConfig },
  });
}

export function disconnectNetwork(docker: DockerClient, networkId: string, containerId: string, options: CallOptions & { force?: boolean } = {}): Promise<void> {
  const { force, ...call } = options;
  return docker.empty('POST', `/networks/${segment(networkId)}/disconnect`, { ...call, json: { Container: containerId, Force: force ?? false } });
}

export function pruneNetworks(docker: DockerClient, options: CallOptions & { filters?: Filters } = {}): Promise<{ NetworksDeleted: string[] | null }> {
  const { filters, ...call } = options;
  return docker.json('POST', '/networks/prune', { timeoutMs: LONG_TIMEOUT_MS, ...call, query: { filters } });
}
