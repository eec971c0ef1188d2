// The replicas on one database (issue 13): each server process writes a row with
// its peer address and refreshes its heartbeat every few seconds; a row whose
// heartbeat is older than the TTL is a replica that died. Dead replicas are
// swept by whichever live replica deletes their row first (DELETE … RETURNING
// makes that exactly one), which then releases what they held.
//
// Work done once: a direct host's sync and events, a Swarm cluster's sync and
// the fleet's update schedule each belong to one live replica, chosen by
// rendezvous hashing over the live replicas' ids (owns()). Every replica reads
// the same rows, so they agree; when one dies or joins, only its share moves,
// within one TTL. No lease rows to renew, and nothing to hand over.
import crypto from 'node:crypto';
import type { Db } from '../store/db.ts';
import type { Logger } from '../log.ts';

export interface ReplicaRow { id: string; peer_address: string | null; started_at: string; heartbeat_at: string }

export interface RegistryOptions {
  db: Db;
  id: string;
  log: Logger;
  /** Heartbeat period (default 2 s). */
  intervalMs?: number;
  /** A replica silent this long is dead (default 10 s: five missed heartbeats). */
  ttlMs?: number;
  /** Told of replicas found dead (by this replica only: another that swept them first tells itself). */
  onDead?: (ids: string[]) => Promise<void>;
}

export class ReplicaRegistry {
  readonly id: string;
  readonly ttlMs: number;
  private readonly o: RegistryOptions;
  private timer: ReturnType<typeof setInterval> | undefined;
  private beating: Promise<void> | undefined;
  /** The live replicas' ids as of the last beat (this one included once started). */
  private live: string[] = [];

  constructor(o: RegistryOptions) {
    this.o = o;
    this.id = o.id;
    this.ttlMs = o.ttlMs ?? 10_000;
  }

  /** Writes this replica's row: `peerAddress` is where its replica endpoint takes forwarded calls. */
  async start(peerAddress: string | null): Promise<void> {
    const now = new Date().toISOString();
    await this.o.db.insertInto('replicas').values({ id: this.id, peer_address: peerAddress, started_at: now, heartbeat_at: now }).execute();
    await this.refreshLive();
    this.timer = setInterval(() => {
      // One beat at a time: a slow database must not pile them up.
      this.beating ??= this.beat().catch((err: Error) => this.o.log.warn({ err: err.message }, 'replica heartbeat failed')).finally(() => { this.beating = undefined; });
    }, this.o.intervalMs ?? 2000);
    this.timer.unref();
  }

  /** Refreshes this replica's heartbeat, then sweeps the dead. */
  async beat(): Promise<void> {
    const now = Date.now();
    await this.o.db.updateTable('replicas').set({ heartbeat_at: new Date(now).toISOString() }).where('id', '=', this.id).execute();
    await this.sweep(now);
    await this.refreshLive(now);
  }

  private async refreshLive(now = Date.now()): Promise<void> {
    const cutoff = new Date(now - this.ttlMs).toISOString();
    this.live = (await this.o.db.selectFrom('replicas').select('id').where('heartbeat_at', '>=', cutoff).execute()).map((r) => r.id);
  }

  /** Whether another replica is alive (as of the last beat). */
  othersAlive(): boolean {
    return this.live.some((id) => id !== this.id);
  }

  /**
   * Whether this replica does the work named by `key` (a host or cluster id, or "updates"): the live
   * replica with the highest hash of (replica id, key). Alone, or before the first beat, it does everything:
   * a doubt means the work is done twice, never not at all.
   */
  owns(key: string): boolean {
    if (this.live.length <= 1 || !this.live.includes(this.id)) return true;
    let best = '';
    let owner = '';
    for (const id of this.live) {
      const h = crypto.createHash('sha256').update(id).update('\0').update(key).digest('hex');
      if (h > best) { best = h; owner = id; }
    }
    return owner === this.id;
  }

  /** Deletes the rows of replicas silent for the TTL; answers those this call deleted. */
  async sweep(now = Date.now()): Promise<string[]> {
    const cutoff = new Date(now - this.ttlMs).toISOString();
    const dead = (await this.o.db.deleteFrom('replicas').where('heartbeat_at', '<', cutoff).where('id', '!=', this.id).returning('id').execute()).map((r) => r.id);
    if (dead.length) {
      this.o.log.warn({ replicas: dead }, 'replicas stopped answering: what they held is released');
      await this.o.onDead?.(dead);
    }
    return dead;
  }

  /** A live replica's row (its heartbeat within the TTL), or undefined. */
  async alive(id: string): Promise<ReplicaRow | undefined> {
    const cutoff = new Date(Date.now() - this.ttlMs).toISOString();
    return this.o.db.selectFrom('replicas').selectAll().where('id', '=', id).where('heartbeat_at', '>=', cutoff).executeTakeFirst();
  }

  async list(): Promise<ReplicaRow[]> {
    return this.o.db.selectFrom('replicas').selectAll().orderBy('started_at').execute();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    await this.o.db.deleteFrom('replicas').where('id', '=', this.id).execute().catch(() => undefined);
  }
}
