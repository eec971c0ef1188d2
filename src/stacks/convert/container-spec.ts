// The task's container: what `docker stack deploy` puts in ContainerSpec, value
// for value (environment sorted as `K=V`, extra_hosts as "IP host", capabilities
// normalised and de-duplicated, ulimits sorted by name).
import { fileReferences } from './file-objects.ts';
import { optionalDuration } from './durations.ts';
import type { ContainerSpec, Ulimit } from './engine-types.ts';
import { convertHealthcheck } from './healthcheck.ts';
import { stackLabels } from './naming.ts';
import { optionalCommand } from './shell-words.ts';
import { byteOrder, fail, isDict, mappingOrList, optionalBool, optionalNumber, optionalString, stringMap, stringOrList, type Dict } from './values.ts';
import { convertVolumes } from './volumes.ts';

/** Sorted `K=V` (or bare `K` for a variable without value), as convertEnvironment does. */
export function environmentList(value: unknown, path: string): string[] | undefined {
  const env = mappingOrList(value, path, true);
  if (env === undefined) return undefined;
  return Object.entries(env).map(([k, v]) => (v === null ? k : `${k}=${v}`)).sort(byteOrder);
}

/** extra_hosts (list of host:ip / host=ip, or a mapping) → SwarmKit's "IP host" lines, in order. */
export function extraHosts(value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  let pairs: string[];
  if (Array.isArray(value)) {
    pairs = value.flatMap((entry, i) => {
      const text = optionalString(entry, `${path}[${i}]`) ?? '';
      const sep = text.includes('=') ? '=' : text.includes(':') ? ':' : undefined;
      return sep === undefined ? [] : [[text.slice(0, text.indexOf(sep)), text.slice(text.indexOf(sep) + 1)].join(':')];
    });
  } else if (isDict(value)) {
    pairs = Object.entries(value).filter(([, ip]) => ip !== null).map(([host, ip]) => `${host}:${String(ip)}`).sort(byteOrder);
  } else return fail(path, 'must be a list or a mapping');
  return pairs.map((pair) => {
    const host = pair.slice(0, pair.indexOf(':'));
    let ip = pair.slice(pair.indexOf(':') + 1);
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    return `${ip} ${host}`;
  });
}

function normalizeCapability(cap: string): string {
  const c = cap.trim().toUpperCase();
  return c === 'ALL' || c === 'RESET' || c.startsWith('CAP_') ? c : `CAP_${c}`;
}

/** opts.EffectiveCapAddCapDrop: ALL trumps the rest, an added capability is not dropped, RESET is dropped. */
export function effectiveCapabilities(add: string[], drop: string[]): { add: string[]; drop: string[] } {
  let adds = new Set(add.map(normalizeCapability));
  let drops = new Set(drop.map(normalizeCapability));
  if (adds.has('ALL')) adds = new Set(['ALL']);
  if (drops.has('ALL')) drops = new Set(['ALL']);
  return {
    add: [...adds].filter((c) => c !== 'RESET').sort(byteOrder),
    drop: [...drops].filter((c) => !adds.has(c) && c !== 'RESET').sort(byteOrder),
  };
}

export function convertUlimits(value: unknown, path: string): Ulimit[] {
  if (!isDict(value)) return [];
  return Object.entries(value).map(([name, u]): Ulimit => {
    const at = `${path}.${name}`;
    if (isDict(u)) return { Name: name, Soft: optionalNumber(u.soft, `${at}.soft`) ?? 0, Hard: optionalNumber(u.hard, `${at}.hard`) ?? 0 };
    const single = optionalNumber(u, at) ?? 0;
    return { Name: name, Soft: single, Hard: single };
  }).sort((a, b) => byteOrder(a.Name, b.Name));
}

function dnsConfig(service: Dict, path: string): ContainerSpec['DNSConfig'] {
  const nameservers = stringOrList(service.dns, `${path}.dns`);
  const search = stringOrList(service.dns_search, `${path}.dns_search`);
  // dns_opt is left out as the CLI leaves it out (the loader warns), so a stack the CLI deployed converts to the same spec.
  if (!nameservers && !search) return undefined;
  return { ...(nameservers ? { Nameservers: nameservers } : {}), ...(search ? { Search: search } : {}) };
}

function credentialSpec(value: unknown, path: string): { File?: string; Registry?: string } | null {
  if (!isDict(value)) return null;
  if (value.config !== undefined) return fail(`${path}.config`, 'a credential spec from a config is not supported');
  const file = optionalString(value.file, `${path}.file`);
  const registry = optionalString(value.registry, `${path}.registry`);
  if (file && registry) return fail(path, 'invalid credential spec: cannot specify both "File" and "Registry"');
  return file ? { File: file } : registry ? { Registry: registry } : null;
}

/** The optional scalar fields, copied when set. */
function scalars(spec: ContainerSpec, service: Dict, path: string): void {
  const strings = [['Hostname', 'hostname'], ['Dir', 'working_dir'], ['User', 'user'], ['StopSignal', 'stop_signal'], ['Isolation', 'isolation']] as const;
  for (const [key, compose] of strings) {
    const v = optionalString(service[compose], `${path}.${compose}`);
    if (v) spec[key] = v;
  }
  const bools = [['TTY', 'tty'], ['OpenStdin', 'stdin_open'], ['ReadOnly', 'read_only']] as const;
  for (const [key, compose] of bools) if (optionalBool(service[compose], `${path}.${compose}`)) spec[key] = true;
  const init = optionalBool(service.init, `${path}.init`);
  if (init !== undefined) spec.Init = init;
  const grace = optionalDuration(service.stop_grace_period, `${path}.stop_grace_period`);
  if (grace !== undefined) spec.StopGracePeriod = grace;
  const oom = optionalNumber(service.oom_score_adj, `${path}.oom_score_adj`);
  if (oom) spec.OomScoreAdj = oom;
}

export function convertContainerSpec(project: Dict, service: Dict, name: string, stack: string): ContainerSpec {
  const path = `services.${name}`;
  const image = optionalString(service.image, `${path}.image`);
  if (!image) return fail(`${path}.image`, `invalid image reference for service ${name}: no image specified`);
  const spec: ContainerSpec = {
    Image: image,
    Labels: stackLabels(stack, stringMap(service.labels, `${path}.labels`)),
    Privileges: { CredentialSpec: credentialSpec(service.credential_spec, `${path}.credential_spec`), SELinuxContext: null },
  };
  const entrypoint = optionalCommand(service.entrypoint, `${path}.entrypoint`);
  const command = optionalCommand(service.command, `${path}.command`);
  if (entrypoint) spec.Command = entrypoint;
  if (command) spec.Args = command;
  const env = environmentList(service.environment, `${path}.environment`);
  if (env) spec.Env = env;
  scalars(spec, service, path);
  const mounts = convertVolumes(service.volumes, `${path}.volumes`, stack, isDict(project.volumes) ? project.volumes : {});
  if (mounts.length > 0) spec.Mounts = mounts;
  const health = convertHealthcheck(service.healthcheck, `${path}.healthcheck`);
  if (health) spec.Healthcheck = health;
  const hosts = extraHosts(service.extra_hosts, `${path}.extra_hosts`);
  if (hosts && hosts.length > 0) spec.Hosts = hosts;
  const dns = dnsConfig(service, path);
  if (dns) spec.DNSConfig = dns;
  const secrets = fileReferences(project, 'secret', service.secrets, `${path}.secrets`, stack);
  if (secrets.length > 0) spec.Secrets = secrets.map((r) => ({ File: r.file, SecretID: '', SecretName: r.name }));
  const configs = fileReferences(project, 'config', service.configs, `${path}.configs`, stack);
  if (configs.length > 0) spec.Configs = configs.map((r) => ({ File: r.file, ConfigID: '', ConfigName: r.name }));
  const sysctls = stringMap(service.sysctls, `${path}.sysctls`);
  if (sysctls && Object.keys(sysctls).length > 0) spec.Sysctls = sysctls;
  const caps = effectiveCapabilities(stringOrList(service.cap_add, `${path}.cap_add`) ?? [], stringOrList(service.cap_drop, `${path}.cap_drop`) ?? []);
  if (caps.add.length > 0) spec.CapabilityAdd = caps.add;
  if (caps.drop.length > 0) spec.CapabilityDrop = caps.drop;
  const ulimits = convertUlimits(service.ulimits, `${path}.ulimits`);
  if (ulimits.length > 0) spec.Ulimits = ulimits;
  return spec;
}

