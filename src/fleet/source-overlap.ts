// Engine-ID de-duplication (SPEC S8): when two registered hosts reach the same
// Docker engine (an agent and a direct endpoint, or two endpoints), the
// duplicate is flagged and no longer scanned, and a source_overlap event is
// emitted. The agent source wins over a direct one; between equals, the older.
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import { nowIso } from '../store/db.ts';

export interface OverlapNotice {
  engineId: string;
  kept: { id: string; name: string };
  duplicate: { id: string; name: string };
}

function preferred(a: HostRow, b: HostRow): HostRow {
  if (a.kind !== b.kind) return a.kind === 'agent' ? a : b;
  return a.created_at <= b.created_at ? a : b;
}

/** Call when `host` reported `engineId`. Returns the overlap it flagged, if any. */
export async function detectOverlap(store: Store, host: HostRow, engineId: string): Promise<OverlapNotice | undefined> {
  const others = (await store.hosts.withEngineId(engineId, host.id)).filter((o) => !o.duplicate_of);
  const other = others[0];
  if (!other) {
    if (host.duplicate_of) await store.hosts.update(host.id, { duplicate_of: null });
    return undefined;
  }
  const kept = preferred(host, other);
  const duplicate = kept.id === host.id ? other : host;
  await store.hosts.update(duplicate.id, { duplicate_of: kept.id });
  const notice: OverlapNotice = { engineId, kept: { id: kept.id, name: kept.name }, duplicate: { id: duplicate.id, name: duplicate.name } };
  await store.events.add({
    at: nowIso(), host_id: duplicate.id, type: 'flotilla', action: 'source_overlap', actor_id: kept.id, data: JSON.stringify(notice),
  });
  return notice;
}
