// Query strings the way the engine parses them; `filters` is a JSON map of arrays.

/** Docker filters: `{ label: ['a=b'], status: ['running'] }`; a single string is one value. */
export type Filters = Record<string, string | readonly string[] | undefined>;

export type QueryValue = string | number | boolean | undefined | Filters;
export type QueryParams = Record<string, QueryValue>;

export function encodeFilters(filters: Filters): string | undefined {
  const normalised: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    normalised[key] = typeof value === 'string' ? [value] : [...value];
  }
  return Object.keys(normalised).length === 0 ? undefined : JSON.stringify(normalised);
}

/** Undefined values are left out; booleans become `true`/`false`, which the engine accepts. */
export function buildQuery(params: QueryParams | undefined): string {
  if (params === undefined) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (typeof value === 'object') {
      const encoded = encodeFilters(value);
      if (encoded !== undefined) search.set(key, encoded);
    } else {
      search.set(key, String(value));
    }
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** Path segments come from callers (names, ids, image refs): never let them add a segment. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
