// Networks: the ones the stack's services use (a service naming none uses
// `default`, which becomes the `<stack>_default` overlay as with the CLI);
// external ones are looked up by name and never created. A service's attachments
// carry its name as an alias on user-defined networks, so tasks find each other
// by service name.
import type { NetworkCreateBody } from '../../docker/networks.ts';
import type { PlannedNetwork } from '../types.ts';
import type { NetworkAttachment } from './engine-types.ts';
import { externalName, scopedName, stackLabels } from './naming.ts';
import { byteOrder, fail, isDict, optionalBool, optionalString, stringMap, type Dict } from './values.ts';

const DEFAULT_NETWORK = 'default';

/** The network keys a service attaches to, with their per-service settings (list form has none). */
export function serviceNetworkEntries(service: Dict, path: string): [string, Dict][] {
  const nets = service.networks;
  if (nets === undefined || nets === null) return [[DEFAULT_NETWORK, {}]];
  if (Array.isArray(nets)) {
    if (nets.length === 0) return [[DEFAULT_NETWORK, {}]];
    return nets.map((n, i) => [optionalString(n, `${path}.networks[${i}]`) ?? '', {}]);
  }
  if (!isDict(nets)) return fail(`${path}.networks`, 'must be a list or a mapping');
  const entries = Object.entries(nets).map(([k, v]): [string, Dict] => [k, isDict(v) ? v : {}]);
  return entries.length === 0 ? [[DEFAULT_NETWORK, {}]] : entries;
}

function declaration(networks: Dict, key: string): Dict | undefined {
  if (!(key in networks)) return key === DEFAULT_NETWORK ? {} : undefined;
  return isDict(networks[key]) ? (networks[key] as Dict) : {};
}

/** The engine name a network key resolves to: external name, `name:`, or `<stack>_<key>`. */
function networkName(decl: Dict, stack: string, key: string): string {
  return externalName(decl, key, `networks.${key}`) ?? scopedName(decl, stack, key, `networks.${key}`);
}

function createBody(decl: Dict, name: string, stack: string, at: string): NetworkCreateBody {
  const body: NetworkCreateBody = { Name: name, Driver: optionalString(decl.driver, `${at}.driver`) || 'overlay', Labels: stackLabels(stack, stringMap(decl.labels, `${at}.labels`)) };
  const options = stringMap(decl.driver_opts, `${at}.driver_opts`);
  if (options) body.Options = options;
  if (optionalBool(decl.internal, `${at}.internal`)) body.Internal = true;
  if (optionalBool(decl.attachable, `${at}.attachable`)) body.Attachable = true;
  const ipam = isDict(decl.ipam) ? decl.ipam : undefined;
  const driver = optionalString(ipam?.driver, `${at}.ipam.driver`);
  const pools = Array.isArray(ipam?.config) ? (ipam.config as unknown[]) : [];
  if (driver || pools.length > 0) {
    // Like the CLI, only each pool's subnet is passed on.
    body.IPAM = {
      ...(driver ? { Driver: driver } : {}),
      Config: pools.map((p, i) => ({ Subnet: optionalString(isDict(p) ? p.subnet : undefined, `${at}.ipam.config[${i}].subnet`) ?? '' })),
    };
  }
  return body;
}

/** Every network some service uses, sorted by name (the CLI's order is a Go map's). */
export function convertNetworks(project: Dict, services: [string, Dict][], stack: string): PlannedNetwork[] {
  const networks = isDict(project.networks) ? project.networks : {};
  const used = new Set<string>();
  for (const [name, svc] of services) for (const [key] of serviceNetworkEntries(svc, `services.${name}`)) used.add(key);
  const planned = new Map<string, PlannedNetwork>();
  for (const key of used) {
    const decl = declaration(networks, key);
    if (decl === undefined) continue; // reported on the service that names it
    const at = `networks.${key}`;
    const ext = externalName(decl, key, at);
    const name = ext ?? scopedName(decl, stack, key, at);
    planned.set(name, ext !== undefined ? { name, external: true, spec: { Name: name } } : { name, external: false, spec: createBody(decl, name, stack, at) });
  }
  return [...planned.values()].sort((a, b) => byteOrder(a.name, b.name));
}

/** Names Docker gives to built-in networks: they take no aliases. */
function isUserDefined(target: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(target) && !target.startsWith('container:');
}

export function serviceAttachments(project: Dict, service: Dict, composeName: string, stack: string): NetworkAttachment[] {
  const networks = isDict(project.networks) ? project.networks : {};
  const path = `services.${composeName}`;
  const out = serviceNetworkEntries(service, path).map(([key, settings]): NetworkAttachment => {
    const decl = declaration(networks, key);
    if (decl === undefined) return fail(`${path}.networks`, `undefined network "${key}"`);
    const target = networkName(decl, stack, key);
    const at = `${path}.networks.${key}`;
    const aliases = Array.isArray(settings.aliases) ? settings.aliases.map((a, i) => optionalString(a, `${at}.aliases[${i}]`) ?? '') : [];
    if (isUserDefined(target)) aliases.push(composeName);
    const attachment: NetworkAttachment = { Target: target };
    if (aliases.length > 0) attachment.Aliases = aliases;
    const driverOpts = stringMap(settings.driver_opts, `${at}.driver_opts`);
    if (driverOpts) attachment.DriverOpts = driverOpts;
    return attachment;
  });
  return out.sort((a, b) => byteOrder(a.Target, b.Target));
}
