// What "the same configuration" means when the old container is put back: the
// inspect fields the update carries over, normalised, compared field by field,
// and hashed per field for the journal (so no environment value is written to disk).
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ContainerInspect } from '../../docker/container-types.ts';

export interface ConfigSnapshot {
  name: string;
  image: string;
  config: unknown;
  hostConfig: unknown;
  networks: Record<string, unknown>;
  mounts: unknown[];
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/**
 * Sorted keys, and "not set" in one spelling: an engine restart reloads null lists as []
 * (seen for HostConfig.Dns, DnsOptions, DnsSearch on 20.10), which is no change.
 */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => [k, sortedKeys(v)] as const)
    .filter(([, v]) => !isEmpty(v))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

/** Per network what the user configured (addresses the engine assigned are left out). */
function endpointConfig(settings: Record<string, unknown>): unknown {
  const { IPAMConfig, Links, Aliases, DriverOpts } = settings;
  const aliases = Array.isArray(Aliases) ? [...(Aliases as string[])].sort() : Aliases;
  return { IPAMConfig: IPAMConfig ?? null, Links: Links ?? null, Aliases: aliases ?? null, DriverOpts: DriverOpts ?? null };
}

export function configSnapshot(inspect: ContainerInspect): ConfigSnapshot {
  const networks: Record<string, unknown> = {};
  for (const [name, settings] of Object.entries(inspect.NetworkSettings.Networks ?? {})) networks[name] = endpointConfig(settings);
  const mounts = [...inspect.Mounts]
    .map(({ Type, Name, Source, Destination, RW, Mode, Propagation }) => ({ Type, Name, Source, Destination, RW, Mode, Propagation }))
    .sort((a, b) => (a.Destination < b.Destination ? -1 : 1));
  return {
    name: inspect.Name.replace(/^\//, ''),
    image: inspect.Image,
    config: sortedKeys(inspect.Config),
    hostConfig: sortedKeys(inspect.HostConfig),
    networks: sortedKeys(networks) as Record<string, unknown>,
    mounts: sortedKeys(mounts) as unknown[],
  };
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) ?? 'undefined').digest('hex').slice(0, 16);
}

/**
 * One short hash per field, two levels deep (`hostConfig.Memory`, `networks.front`): what the
 * journal keeps, so recovery can name the fields that differ without writing any value to disk.
 */
export function configFingerprints(inspect: ContainerInspect): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(configSnapshot(inspect))) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      out[key] = digest(value);
      continue;
    }
    for (const [field, inner] of Object.entries(value as Record<string, unknown>)) out[`${key}.${field}`] = digest(inner);
  }
  return out;
}

/** Fields whose hashes differ, or that one side lacks. */
export function differingFingerprints(before: Record<string, string>, after: Record<string, string>): string[] {
  const fields = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...fields].filter((f) => before[f] !== after[f]).sort();
}

/** Names of the fields that differ, two levels deep (`hostConfig.Memory`, `networks.front`). */
export function differingFields(before: ConfigSnapshot, after: ConfigSnapshot): string[] {
  const out: string[] = [];
  for (const key of Object.keys(before) as (keyof ConfigSnapshot)[]) {
    const a = before[key];
    const b = after[key];
    if (isDeepStrictEqual(a, b)) continue;
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a)) {
      out.push(key);
      continue;
    }
    const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const field of fields) {
      if (!isDeepStrictEqual((a as Record<string, unknown>)[field], (b as Record<string, unknown>)[field])) out.push(`${key}.${field}`);
    }
  }
  return out;
}
