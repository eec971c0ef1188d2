// Reading the loaded Compose document: it is schema-valid but keeps Compose's
// alternative spellings (list or mapping, string or list), which these helpers fold
// the way docker/cli's loader does before conversion.
import { ComposeError } from '../types.ts';

export type Dict = Record<string, unknown>;

export function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A ComposeError whose message starts with the document path, as the contract requires. */
export function fail(path: string, message: string): never {
  throw new ComposeError(`${path}: ${message}`, path);
}

/** What Go's fmt.Sprint prints for a YAML scalar (the CLI stringifies label and option values so). */
export function scalarText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

export function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fail(path, 'must be a string');
}

export function optionalBool(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  return fail(path, 'must be a boolean');
}

/** A non-negative integer; Compose also allows numeric strings after interpolation. */
export function optionalCount(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
  return fail(path, 'must be a non-negative integer');
}

export function optionalNumber(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n)) return n;
  return fail(path, 'must be a number');
}

/** `string | string[]` (dns, dns_search, tmpfs …) → list. */
export function stringOrList(value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.map((v, i) => optionalString(v, `${path}[${i}]`) ?? '');
  return fail(path, 'must be a string or a list of strings');
}

/**
 * `KEY=VALUE` list or mapping → mapping. With `allowNil` a bare `KEY` (or a null
 * value) stays null, as the CLI's MappingWithEquals (environment); otherwise it
 * becomes "" (labels, sysctls).
 */
export function mappingOrList(value: unknown, path: string, allowNil = false): Record<string, string | null> | undefined {
  if (value === undefined || value === null) return undefined;
  const out: Record<string, string | null> = {};
  if (Array.isArray(value)) {
    for (const [i, entry] of value.entries()) {
      const text = optionalString(entry, `${path}[${i}]`) ?? '';
      const eq = text.indexOf('=');
      if (eq < 0) out[text] = allowNil ? null : '';
      else out[text.slice(0, eq)] = text.slice(eq + 1);
    }
    return out;
  }
  if (!isDict(value)) return fail(path, 'must be a mapping or a list of KEY=VALUE');
  for (const [k, v] of Object.entries(value)) out[k] = v === null || v === undefined ? (allowNil ? null : '') : scalarText(v);
  return out;
}

/** Labels, sysctls, driver options: a mapping of strings, or undefined when absent. */
export function stringMap(value: unknown, path: string): Record<string, string> | undefined {
  const m = mappingOrList(value, path, false);
  if (m === undefined) return undefined;
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v ?? '']));
}

/** Go's sort.Strings: byte-wise (UTF-16 code units agree for the ASCII keys Compose uses). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
