// Compose durations ("1m30s", "500ms", "1.5h") → nanoseconds, as Go's
// time.ParseDuration reads them (the CLI's loader uses it for every duration field).
import { fail } from './values.ts';

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const MAX_NS = 2n ** 63n - 1n;

/** Parses like time.ParseDuration; `path` names the field in errors. */
export function parseDuration(text: string, path: string): number {
  const invalid = (): never => fail(path, `invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') invalid();
  let total = 0n;
  // Each element: digits with an optional fraction, then a unit (required; "ms" tried before "m").
  const element = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s !== '') {
    const m = element.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) return invalid();
    const unit = UNIT_NS[m[3]!]!;
    const frac = m[2] ?? '';
    // Go adds the fraction as float64(f) * (unit / scale), truncated: the same arithmetic agrees to the nanosecond.
    const fracNs = frac === '' ? 0 : Math.trunc(Number(frac) * (unit / 10 ** frac.length));
    total += BigInt(m[1] || '0') * BigInt(unit) + BigInt(fracNs);
    if (total > MAX_NS) return invalid();
    s = s.slice(m[0].length);
  }
  return Number(negative ? -total : total);
}

/** A duration field: absent → undefined; a string parsed; anything else refused as the CLI does. */
export function optionalDuration(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return fail(path, 'must be a duration string such as "10s"');
  return parseDuration(value, path);
}
