// Disk usage per host (SPEC S10): the engine's GET /system/df, summarised and
// stored on the host row. The call walks every layer and volume, so it runs on a
// slow cadence of its own (once soon after a host's first sync, then every
// interval), never on every sync; a failed call keeps the previous figure.
import pLimit from 'p-limit';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { DockerClient } from '../docker/client.ts';
import { getDiskUsage, type DiskUsage } from '../docker/system.ts';
import { HostUnavailable, NotFound } from '../errors.ts';
import { nowIso } from '../store/db.ts';

export const hostDiskUsageSchema = z.object({
  /** Every image layer once (LayersSize: shared layers are not counted twice). */
  imagesBytes: z.number(),
  /** The containers' writable layers (sum of SizeRw). */
  containersBytes: z.number(),
  volumesBytes: z.number(),
  buildCacheBytes: z.number(),
  totalBytes: z.number(),
  /** What a prune could free: unused images, stopped containers, unreferenced volumes, idle build cache. */
  reclaimableBytes: z.number(),
  checkedAt: z.string(),
});
export type HostDiskUsage = z.infer<typeof hostDiskUsageSchema>;

export const DISK_USAGE_INTERVAL_MS = 10 * 60_000;
/** Hosts measured at once by the cadence: a server start with many hosts must not df them all together. */
const CONCURRENCY = 2;

/** A size the engine reports, or 0 when it did not compute it (-1) or left it out. */
const size = (n: number | undefined | null): number => (typeof n === 'number' && n > 0 ? n : 0);

/** The totals `docker system df` prints, reclaimable figures computed the same way. */
export function summariseDiskUsage(df: DiskUsage, checkedAt: string): HostDiskUsage {
  const imagesBytes = size(df.LayersSize);
  let imagesInUse = 0;
  for (const i of df.Images ?? []) {
    if (i.Containers > 0 && i.SharedSize >= 0) imagesInUse += size(i.Size) - size(i.SharedSize);
  }
  let containersBytes = 0;
  let containersReclaimable = 0;
  for (const c of df.Containers ?? []) {
    containersBytes += size(c.SizeRw);
    if (c.State !== 'running') containersReclaimable += size(c.SizeRw);
  }
  let volumesBytes = 0;
  let volumesReclaimable = 0;
  for (const v of df.Volumes ?? []) {
    volumesBytes += size(v.UsageData?.Size);
    if (v.UsageData?.RefCount === 0) volumesReclaimable += size(v.UsageData.Size);
  }
  let buildCacheBytes = 0;
  let buildCacheInUse = 0;
  for (const b of df.BuildCache ?? []) {
    if (b.Shared) continue;
    buildCacheBytes += size(b.Size);
    if (b.InUse) buildCacheInUse += size(b.Size);
  }
  const reclaimableBytes = Math.max(0, imagesBytes - imagesInUse) + containersReclaimable + volumesReclaimable + (buildCacheBytes - buildCacheInUse);
  return {
    imagesBytes, containersBytes, volumesBytes, buildCacheBytes,
    totalBytes: imagesBytes + containersBytes + volumesBytes + buildCacheBytes, reclaimableBytes, checkedAt,
  };
}

/** The stored figure, or null when there is none (or it no longer parses: measured again soon). */
export function storedDiskUsage(host: Pick<HostRow, 'disk_usage'>): HostDiskUsage | null {
  if (!host.disk_usage) return null;
  try {
    const parsed = hostDiskUsageSchema.safeParse(JSON.parse(host.disk_usage));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export interface DiskUsageDeps {
  store: Store;
  log: Logger;
  clientFor(host: HostRow): DockerClient;
  agentConnected(hostId: string): boolean;
  intervalMs?: number;
}

export class DiskUsageMonitor {
  private readonly deps: DiskUsageDeps;
  private readonly intervalMs: number;
  private readonly limit = pLimit(CONCURRENCY);
  private readonly nextDue = new Map<string, number>();
  private readonly running = new Map<string, Promise<HostDiskUsage>>();
  /** Aborts every df in flight when the server stops. */
  private readonly shutdown = new AbortController();

  constructor(deps: DiskUsageDeps) {
    this.deps = deps;
    this.intervalMs = deps.intervalMs ?? DISK_USAGE_INTERVAL_MS;
  }

  /**
   * After each good sync of a connected host: measures when due. The first sync after start is due at
   * once unless the stored figure is younger than the interval (a restart does not df the whole fleet).
   */
  afterSync(host: HostRow): void {
    if (this.shutdown.signal.aborted || this.running.has(host.id)) return;
    let due = this.nextDue.get(host.id);
    if (due === undefined) {
      const stored = storedDiskUsage(host);
      due = stored ? Date.parse(stored.checkedAt) + this.intervalMs : 0;
    }
    if (due > Date.now()) {
      this.nextDue.set(host.id, due);
      return;
    }
    // Due again one interval on, whatever the outcome: a failing engine is not asked on every sync.
    this.nextDue.set(host.id, Date.now() + this.intervalMs);
    void this.limit(() => this.measure(host)).catch((err: unknown) =>
      this.deps.log.debug({ err, host: host.name }, 'disk usage check failed; the previous figure is kept'));
  }

  /** Measures a host now and returns the stored figure. 404 unknown host; 503 when it is not connected. */
  async refresh(idOrName: string): Promise<HostDiskUsage> {
    const host = await this.deps.store.hosts.find(idOrName);
    if (!host) throw new NotFound(`host "${idOrName}" not found`);
    const connected = host.status === 'connected' && (host.kind !== 'agent' || this.deps.agentConnected(host.id));
    if (!connected) {
      throw new HostUnavailable(host.name, `host "${host.name}" is ${host.kind === 'agent' && host.status === 'connected' ? 'not connected' : host.status}: its disk usage can be measured once it is connected`);
    }
    const figure = await this.measure(host);
    this.nextDue.set(host.id, Date.now() + this.intervalMs);
    return figure;
  }

  /** One GET /system/df (or the one already in flight for this host), stored when it succeeds. */
  private measure(host: HostRow): Promise<HostDiskUsage> {
    const inFlight = this.running.get(host.id);
    if (inFlight) return inFlight;
    const job = (async () => {
      const df = await getDiskUsage(this.deps.clientFor(host), { signal: this.shutdown.signal });
      const figure = summariseDiskUsage(df, nowIso());
      await this.deps.store.hosts.setDiskUsage(host.id, JSON.stringify(figure));
      this.deps.log.debug({ host: host.name, total_bytes: figure.totalBytes }, 'disk usage measured');
      return figure;
    })().finally(() => this.running.delete(host.id));
    this.running.set(host.id, job);
    return job;
  }

  /** The stored figure of every host, by host id (null: not measured yet). */
  async figures(): Promise<Map<string, HostDiskUsage | null>> {
    return new Map((await this.deps.store.hosts.list()).map((h) => [h.id, storedDiskUsage(h)]));
  }

  forget(hostId: string): void {
    this.nextDue.delete(hostId);
  }

  async stop(): Promise<void> {
    this.shutdown.abort();
    this.limit.clearQueue();
    await Promise.allSettled([...this.running.values()]);
  }
}
