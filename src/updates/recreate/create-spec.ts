// Builds the create request of the new container from the old one's inspect:
// the same configuration, except what the container only had because its old
// image said so — that is left out, so the new image's defaults apply
// (Watchtower's and Sentinel's rule). Pure: no engine calls.
import { isDeepStrictEqual } from 'node:util';
import type { ContainerConfig, ContainerCreateBody, ContainerInspect, EndpointSettings, HostConfig } from '../../docker/container-types.ts';
import type { ImageInspect } from '../../docker/images.ts';

/** The image fields a container inherits when it does not set them. */
export type ImageDefaults = ImageInspect['Config'];

export interface NetworkAttachment {
  name: string;
  endpoint: EndpointSettings;
}

export interface RecreateSpec {
  name: string;
  body: ContainerCreateBody;
  /** Connected after create, before start: Engine 1.41 takes one network at create. */
  extraNetworks: NetworkAttachment[];
}

export interface RecreateInputs {
  old: ContainerInspect;
  /** The old image's config; undefined when it is gone, then the container keeps every value. */
  oldImage: ImageDefaults | undefined;
  image: string;
  /** Mount destinations that come from HostConfig.VolumesFrom containers. */
  volumesFromDestinations?: ReadonlySet<string>;
}

/** Fields copied as they are: the image cannot set them. */
const COPIED: readonly (keyof ContainerConfig)[] = [
  'Domainname', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce',
  'StopTimeout', 'NetworkDisabled', 'MacAddress',
];
/** Fields the image may set: kept only where the container's value differs. */
const UNLESS_FROM_IMAGE: readonly (keyof ContainerConfig)[] = ['User', 'WorkingDir', 'StopSignal', 'Healthcheck', 'Shell'];
/** Maps compared key by key. */
const MAPS_UNLESS_FROM_IMAGE = ['Labels', 'ExposedPorts', 'Volumes'] as const;

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function containerName(inspect: ContainerInspect): string {
  return inspect.Name.replace(/^\//, '');
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0) || value === '';
}

function sameValue(a: unknown, b: unknown): boolean {
  return (isEmpty(a) && isEmpty(b)) || isDeepStrictEqual(a, b);
}

/** Variables set exactly as the old image sets them are the image's, not the container's. */
export function carriedEnv(env: readonly string[] | undefined, imageEnv: readonly string[] | undefined): string[] | undefined {
  if (env === undefined) return undefined;
  const fromImage = new Set(imageEnv ?? []);
  return env.filter((entry) => !fromImage.has(entry));
}

function carriedMap(value: unknown, imageValue: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const image = (imageValue ?? {}) as Record<string, unknown>;
  const kept = Object.entries(value as Record<string, unknown>).filter(([key, v]) => !(key in image) || !isDeepStrictEqual(image[key], v));
  return Object.fromEntries(kept);
}

/**
 * The engine applies the image's Cmd only when the container sets no Entrypoint, so a kept
 * Entrypoint keeps its Cmd too. An Entrypoint equal to the image's but with the image's Cmd
 * cleared was set on purpose (`--entrypoint x` with no arguments): keep it.
 */
function commandFields(config: ContainerConfig, image: ImageDefaults | undefined): Partial<ContainerConfig> {
  if (image === undefined) return { Entrypoint: config.Entrypoint, Cmd: config.Cmd };
  const clearedImageCmd = isEmpty(config.Cmd) && !isEmpty(image.Cmd);
  const entrypointFromImage = sameValue(config.Entrypoint, image.Entrypoint) && !clearedImageCmd;
  if (!entrypointFromImage) return { Entrypoint: config.Entrypoint, Cmd: config.Cmd };
  return sameValue(config.Cmd, image.Cmd) ? {} : { Cmd: config.Cmd };
}

/** The engine fills in the hostname (the short id, or the host's / other container's): not the user's. */
function carriedHostname(old: ContainerInspect): string | undefined {
  const hostname = old.Config.Hostname;
  const mode = old.HostConfig.NetworkMode ?? '';
  const utsHost = old.HostConfig.UTSMode === 'host';
  if (isEmpty(hostname) || hostname === shortId(old.Id) || mode === 'host' || mode.startsWith('container:') || utsHost) return undefined;
  return hostname;
}

export function carriedConfig(old: ContainerInspect, image: ImageDefaults | undefined, reference: string): ContainerConfig & { Image: string } {
  const config = old.Config;
  const out: Record<string, unknown> = { Image: reference, Hostname: carriedHostname(old) };
  for (const key of COPIED) out[key] = config[key];
  for (const key of UNLESS_FROM_IMAGE) {
    out[key] = image !== undefined && sameValue(config[key], image[key]) ? undefined : config[key];
  }
  for (const key of MAPS_UNLESS_FROM_IMAGE) out[key] = image === undefined ? config[key] : carriedMap(config[key], image[key]);
  out.Env = image === undefined ? config.Env : carriedEnv(config.Env, image.Env ?? undefined);
  Object.assign(out, commandFields(config, image));
  for (const [key, value] of Object.entries(out)) if (value === undefined) delete out[key];
  return out as ContainerConfig & { Image: string };
}

/** Inspect shows links as `/target:/this/alias`; create wants `target:alias`. */
export function createLinks(links: readonly string[] | null | undefined): string[] | undefined {
  if (links === null || links === undefined) return undefined;
  return links.map((link) => {
    const [target = '', alias = ''] = link.split(':');
    return `${target.replace(/^\//, '')}:${alias.split('/').pop() ?? alias}`;
  });
}

function mountTargets(host: HostConfig, volumesFrom: ReadonlySet<string>): Set<string> {
  const targets = new Set(volumesFrom);
  for (const bind of host.Binds ?? []) targets.add(bind.split(':')[1] ?? bind);
  for (const mount of host.Mounts ?? []) targets.add(mount.Target);
  return targets;
}

/**
 * Anonymous volumes (from the image's VOLUME or `-v /path`) would be new and empty in the
 * new container: mount the same volumes by name instead (`name:/path` binds, as Compose does).
 */
function anonymousVolumeBinds(old: ContainerInspect, volumesFrom: ReadonlySet<string>): string[] {
  const declared = mountTargets(old.HostConfig, volumesFrom);
  const anonymous = old.Mounts.filter((m) => m.Type === 'volume' && m.Name !== undefined && !declared.has(m.Destination));
  return anonymous.sort((a, b) => (a.Destination < b.Destination ? -1 : 1)).map(
    (m) => `${m.Name as string}:${m.Destination}${m.RW ? '' : ':ro'}`,
  );
}

export function carriedHostConfig(old: ContainerInspect, volumesFrom: ReadonlySet<string> = new Set()): HostConfig {
  const host: HostConfig = structuredClone(old.HostConfig);
  const links = createLinks(host.Links as string[] | null | undefined);
  if (links !== undefined) host.Links = links;
  const anonymous = anonymousVolumeBinds(old, volumesFrom);
  if (anonymous.length > 0) host.Binds = [...(host.Binds ?? []), ...anonymous];
  return host;
}

const NO_ENDPOINTS = new Set(['host', 'none']);

/** The network the container was created on: HostConfig.NetworkMode by name or id; `default` is `bridge`. */
export function primaryNetwork(old: ContainerInspect): string | undefined {
  const mode = old.HostConfig.NetworkMode ?? 'default';
  if (NO_ENDPOINTS.has(mode) || mode.startsWith('container:')) return undefined;
  const networks = old.NetworkSettings.Networks ?? {};
  const names = Object.keys(networks);
  const wanted = mode === 'default' ? 'bridge' : mode;
  return (
    names.find((n) => n === wanted) ??
    names.find((n) => networks[n]?.NetworkID !== undefined && wanted.length >= 12 && (networks[n]?.NetworkID as string).startsWith(wanted)) ??
    names[0]
  );
}

/** What create/connect accept of an endpoint; the container's short-id alias is the engine's own. */
export function endpointRequest(old: ContainerInspect, settings: EndpointSettings): EndpointSettings {
  const own = shortId(old.Id);
  const aliases = (settings.Aliases ?? []).filter((a) => a !== own && a !== old.Id);
  const out: EndpointSettings = {};
  if (settings.IPAMConfig !== null && settings.IPAMConfig !== undefined) out.IPAMConfig = settings.IPAMConfig;
  if (Array.isArray(settings.Links) && settings.Links.length > 0) out.Links = settings.Links;
  if (aliases.length > 0) out.Aliases = aliases;
  if (settings.DriverOpts !== null && settings.DriverOpts !== undefined) out.DriverOpts = settings.DriverOpts;
  return out;
}

export function buildRecreateSpec(inputs: RecreateInputs): RecreateSpec {
  const { old } = inputs;
  const primary = primaryNetwork(old);
  const networks = old.NetworkSettings.Networks ?? {};
  const extraNetworks = Object.entries(networks)
    .filter(([name]) => name !== primary)
    .map(([name, settings]) => ({ name, endpoint: endpointRequest(old, settings) }));
  const body: ContainerCreateBody = {
    ...carriedConfig(old, inputs.oldImage, inputs.image),
    HostConfig: carriedHostConfig(old, inputs.volumesFromDestinations),
  };
  const primarySettings = primary === undefined ? undefined : networks[primary];
  if (primary !== undefined && primarySettings !== undefined) {
    body.NetworkingConfig = { EndpointsConfig: { [primary]: endpointRequest(old, primarySettings) } };
  }
  return { name: containerName(old), body, extraNetworks: primary === undefined ? [] : extraNetworks };
}
