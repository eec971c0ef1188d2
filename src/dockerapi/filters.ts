// Docker's `filters` query parameter for fleet-wide lists: the filters that name a host choose
// which hosts to ask; everything else is forwarded to those hosts for their engines to apply.
import { BadRequest } from '../errors.ts';
import { HOST_LABEL, parseHostPrefixedName, stripHostPrefix } from './decorate.ts';

/** Normalised filters: every key maps to its values, each value once, in the order first seen. */
export type Filters = Record<string, string[]>;

/** Flotilla's own filter key (`host=node1`); engines reject unknown keys, so it is never forwarded. */
export const HOST_FILTER = 'host';

/** Answered as 400, like the engine's own answer to filters it cannot read. */
export class InvalidFilter extends BadRequest {
  constructor(reason: string) {
    super(`invalid filter: ${reason}`, 'filters');
  }
}

export interface HostSplit {
  /** Hosts to ask, in name order. Empty: answer with an empty list without asking anyone. */
  hosts: string[];
  /**
   * The filters for every asked host when they are the same for all of them, which is always the case unless name
   * values name different hosts (`name=node1/web1&name=node2/db`); then it holds every name and over-matches.
   */
  forward: Filters;
  /** Exactly what to send to each asked host: the authoritative form. */
  perHost: Record<string, Filters>;
}

/**
 * Reads both encodings the engine accepts: `{"label":["a=b"]}` (the API reference's and docker-py's) and
 * `{"label":{"a=b":true}}` (what the Go client sends). Absent, empty or `null` means no filters.
 */
export function parseFilters(raw: string | undefined): Filters {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new InvalidFilter(`not JSON: ${(error as Error).message}`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidFilter('expected a JSON object of filter names');
  // fromEntries defines own properties, so a `__proto__` key stays a (rejected-by-the-engine) filter name.
  return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, filterValues(key, value)]));
}

function filterValues(key: string, value: unknown): string[] {
  if (value === null) return [];
  if (Array.isArray(value)) {
    if (!value.every((item) => typeof item === 'string')) throw new InvalidFilter(`values of "${key}" must be strings`);
    return unique(value);
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (!entries.every(([, flag]) => typeof flag === 'boolean')) throw new InvalidFilter(`values of "${key}" must map to true`);
    // The engine keeps every key of the set, whatever its boolean: so do we.
    return entries.map(([item]) => item);
  }
  throw new InvalidFilter(`"${key}" must be a list of values`);
}

/** Re-encoded as a map of arrays (both engine formats accept it); undefined when empty, so the parameter is left out. */
export function encodeFilters(filters: Filters): string | undefined {
  const entries = Object.entries(filters);
  return entries.length === 0 ? undefined : JSON.stringify(Object.fromEntries(entries));
}

/**
 * Decides which hosts to ask. Across keys filters combine with AND, as on the engine:
 * - `host=h`: values OR-ed (like `id`, `name`); an unknown host matches nothing, it is not an error.
 * - `label=flotilla.host=h`: label values AND-ed, as the engine's label filter does, so two different hosts select
 *   none; `label=flotilla.host` alone ("has the label") selects every host. Neither is forwarded.
 * - `name=h/x` or `name=/h/x` with `h` a registered host: asks `h` with `name=x` (`/x`). Other name values are
 *   patterns for every host, matched against the engine-local name, not the prefixed one.
 */
export function splitHostFilters(filters: Filters, hostNames: readonly string[]): HostSplit {
  const known = [...new Set(hostNames)].sort(compareText);
  const forward: Filters = {};
  let hosts = known;
  for (const [key, values] of Object.entries(filters)) {
    if (key === HOST_FILTER) {
      hosts = hosts.filter((host) => values.includes(host));
    } else if (key === 'label') {
      const { selects, rest } = splitHostLabels(values);
      if (selects !== undefined) hosts = hosts.filter((host) => selects.every((wanted) => wanted === host));
      if (rest.length > 0 || selects === undefined) forward.label = rest;
    } else if (key !== 'name') {
      forward[key] = [...values];
    }
  }
  const names = filters.name === undefined ? undefined : namesByHost(filters.name, known);
  if (names !== undefined) hosts = hosts.filter((host) => names.get(host)!.length > 0);
  const perHost = Object.fromEntries(hosts.map((host) => [host, withNames(forward, names?.get(host))]));
  if (names !== undefined) forward.name = unique(hosts.flatMap((host) => names.get(host)!));
  return { hosts, forward, perHost };
}

// `selects` is undefined when no label value names a host; otherwise the hosts every value demands.
function splitHostLabels(values: readonly string[]): { selects: string[] | undefined; rest: string[] } {
  let selects: string[] | undefined;
  const rest: string[] = [];
  for (const value of values) {
    const equals = value.indexOf('=');
    const key = equals === -1 ? value : value.slice(0, equals);
    if (key !== HOST_LABEL) {
      rest.push(value);
      continue;
    }
    selects ??= [];
    if (equals !== -1) selects.push(value.slice(equals + 1));
  }
  return { selects, rest };
}

// The name values each host gets: the fleet-wide patterns plus those prefixed with that host. An empty
// list means no value can match there; an explicitly empty `name` filter (`"name":[]`) keeps every host.
// `x/web1` with `x` not a registered host is dropped, not forwarded: the engine matches `name` against the
// primary name (`/web1`) only, whose one slash leads, so no engine could match it.
function namesByHost(values: readonly string[], hosts: readonly string[]): Map<string, string[]> | undefined {
  if (values.length === 0) return undefined;
  const everywhere: string[] = [];
  const scoped = new Map<string, string[]>(hosts.map((host) => [host, []]));
  for (const value of values) {
    const parsed = parseHostPrefixedName(value);
    if (parsed === undefined) everywhere.push(value);
    else scoped.get(parsed.host)?.push(stripHostPrefix(value));
  }
  return new Map(hosts.map((host) => [host, unique([...everywhere, ...scoped.get(host)!])]));
}

// Fresh arrays for each host, so a caller editing one host's filters cannot change another's.
function withNames(forward: Filters, names: string[] | undefined): Filters {
  const copy = Object.fromEntries(Object.entries(forward).map(([key, values]) => [key, [...values]]));
  return names === undefined ? copy : { ...copy, name: [...names] };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

// Code-unit order, not localeCompare: the same on every machine whatever its locale.
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
