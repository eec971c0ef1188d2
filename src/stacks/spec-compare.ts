// Whether a service update changed its spec: the engine's own spec before and
// after (both normalised by the engine, so defaults match), as JSON with keys sorted.
import type { ServiceSpec } from '../docker/swarm.ts';

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

export function sameSpec(a: ServiceSpec, b: ServiceSpec): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * Whether every value the planned spec sets is already in the current one (arrays
 * compared whole). Not exact — a field the file no longer sets is not seen — so it
 * only decides whether a strategy is worth running: when it says "covered", the
 * ordinary update still runs and the engine applies whatever differs.
 */
export function coveredBy(planned: unknown, current: unknown): boolean {
  if (Array.isArray(planned)) return JSON.stringify(canonical(planned)) === JSON.stringify(canonical(current));
  if (planned && typeof planned === 'object') {
    if (!current || typeof current !== 'object') return false;
    return Object.entries(planned as Record<string, unknown>).every(([k, v]) => v === undefined || coveredBy(v, (current as Record<string, unknown>)[k]));
  }
  return planned === current;
}
