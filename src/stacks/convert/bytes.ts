// Memory and size strings ("512M", "1.5g", "64kb") → bytes, as docker/go-units
// RAMInBytes reads them: binary multiples, case-insensitive, optional "b"/"ib".
import { fail } from './values.ts';

const MULTIPLIER: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

export function ramInBytes(text: string, path: string): number {
  // number, one optional space, then "", "b", or a prefix with "", "b" or "ib"
  const m = /^(\d+(?:\.\d*)?|\.\d+) ?(?:([kmgtp])(b|ib)?|b)?$/i.exec(text);
  if (!m) return fail(path, `invalid size: '${text}'`);
  const size = Number(m[1]) * (m[2] ? MULTIPLIER[m[2].toLowerCase()]! : 1);
  return Math.trunc(size);
}

/** A size field: an integer is bytes already; a string is parsed. */
export function optionalBytes(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') return ramInBytes(value, path);
  return fail(path, 'must be a size such as "512M"');
}
