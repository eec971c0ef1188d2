// What the dashboard sees live (SPEC S9): Docker events of every host, host and
// cluster status changes, swarm events and audit records, numbered in one
// sequence and kept in a bounded ring, so a client that reconnects with
// Last-Event-ID gets what it missed; one that comes back too late is told to
// reload (`reset`) rather than silently missing messages.
// With replicas (issue 13) each message published here also goes to the other
// replicas, and theirs come in: a peer's message joins this ring with a local id,
// so Last-Event-ID stays a per-replica thing (a client that moves to another
// replica gets `reset`).
import crypto from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { ReplicaBus } from '../replicas/event-bus.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { Swarm } from '../swarm/swarm.ts';
import type { Updates } from '../updates/updates.ts';
import type { Store } from '../store/index.ts';

export interface LiveMessage {
  id: number;
  /** docker | host.status | host.overlap | cluster.status | swarm.event | audit */
  type: string;
  host?: string;
  cluster?: string;
  at: string;
  data: unknown;
}

const RING = 5000;
export const LIVE_CHANNEL = 'live';
/**
 * Until each host is watched by one replica only, every replica reports a direct
 * host's Docker events: the same message from another source within this window is
 * shown once. A process's own repeated messages are never folded.
 */
const SAME_MESSAGE_MS = 30_000;
const MAX_FINGERPRINTS = 20_000;

const peerMessageSchema = z.object({
  type: z.string(),
  host: z.string().optional(),
  cluster: z.string().optional(),
  at: z.string(),
  data: z.unknown(),
});
type PeerMessage = z.infer<typeof peerMessageSchema>;

export class LiveBus {
  private readonly ring: LiveMessage[] = [];
  private seq = 0;
  private readonly subscribers = new Set<(m: LiveMessage) => void>();
  /** Distinguishes this process's sequence from a previous one's: an id from before a restart is a reset. */
  readonly epoch = Date.now().toString(36);

  private replicas: { bus: ReplicaBus; log: Logger } | undefined;
  /** With replicas: message fingerprints of the last SAME_MESSAGE_MS, and whether they came from here or a peer. */
  private readonly recent = new Map<string, { at: number; local: boolean }>();

  publish(type: string, data: unknown, where: { host?: string; cluster?: string } = {}): void {
    const m: LiveMessage = { id: ++this.seq, type, ...where, at: new Date().toISOString(), data };
    if (this.replicas) {
      // A peer told us first (it watches the same host): ours is a repeat, here and for the peers.
      if (this.seenBefore(m, true)) {
        this.seq--;
        return;
      }
      const { id: _local, ...shared } = m;
      this.replicas.bus.publish(LIVE_CHANNEL, shared)
        .catch((err: unknown) => this.replicas?.log.warn({ err, type }, 'could not send a live message to the other replicas'));
    }
    this.add(m);
  }

  /** Sends what is published here to the other replicas and adds theirs to this ring. Returns the function that stops it. */
  shareWithReplicas(bus: ReplicaBus, log: Logger): () => void {
    // One process (SQLite): exactly the single-server bus, no fingerprints.
    if (!bus.hasPeers) return () => undefined;
    this.replicas = { bus, log };
    const stop = bus.subscribe(LIVE_CHANNEL, (payload) => {
      const parsed = peerMessageSchema.safeParse(payload);
      if (parsed.success) this.addFromPeer(parsed.data);
      else log.warn('ignored a malformed live message from another replica');
    });
    return () => {
      stop();
      this.replicas = undefined;
    };
  }

  private addFromPeer(p: PeerMessage): void {
    const m: LiveMessage = { id: this.seq + 1, type: p.type, ...(p.host !== undefined ? { host: p.host } : {}), ...(p.cluster !== undefined ? { cluster: p.cluster } : {}), at: p.at, data: p.data };
    if (this.seenBefore(m, false)) return;
    this.seq++;
    this.add(m);
  }

  private add(m: LiveMessage): void {
    this.ring.push(m);
    if (this.ring.length > RING) this.ring.shift();
    for (const fn of this.subscribers) fn(m);
  }

  /** Records the message's fingerprint; true when it is a repeat from another source (local vs peer, or a second peer). */
  private seenBefore(m: LiveMessage, local: boolean): boolean {
    const now = Date.now();
    // Oldest first (a key is re-inserted when refreshed): drop the expired, and beyond a bound the oldest.
    for (const [k, v] of this.recent) {
      if (now - v.at <= SAME_MESSAGE_MS && this.recent.size <= MAX_FINGERPRINTS) break;
      this.recent.delete(k);
    }
    const key = crypto.createHash('sha1').update(JSON.stringify([m.type, m.host ?? null, m.cluster ?? null, m.data])).digest('base64');
    const seen = this.recent.get(key);
    if (seen && now - seen.at <= SAME_MESSAGE_MS && !(seen.local && local)) return true;
    this.recent.delete(key);
    this.recent.set(key, { at: now, local });
    return false;
  }

  /** Messages after `id`; undefined when some of them have left the ring (or the id is another process's). */
  since(lastId: string): LiveMessage[] | undefined {
    const m = /^([0-9a-z]+)-(\d+)$/.exec(lastId);
    if (!m || m[1] !== this.epoch) return undefined;
    const after = Number(m[2]);
    if (after > this.seq) return undefined;
    const first = this.ring[0]?.id ?? this.seq + 1;
    if (after < first - 1) return undefined;
    return this.ring.filter((x) => x.id > after);
  }

  idOf(m: LiveMessage): string {
    return `${this.epoch}-${m.id}`;
  }

  subscribe(fn: (m: LiveMessage) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}

/** Connects the bus to what produces live news. */
export function feedLiveBus(bus: LiveBus, deps: { fleet: Fleet; swarm: Swarm; store: Store }): void {
  deps.fleet.bus.on('docker', (e) => bus.publish('docker', e.event, { host: e.host }));
  deps.fleet.bus.on('status', (c) => bus.publish('host.status', c, { host: c.name }));
  deps.fleet.bus.on('overlap', (n) => bus.publish('host.overlap', { engineId: n.engineId, kept: n.kept.name, duplicate: n.duplicate.name }, { host: n.duplicate.name }));
  deps.swarm.bus.on('status', (c) => bus.publish('cluster.status', c, { cluster: c.name }));
  deps.swarm.bus.on('event', (e) => bus.publish('swarm.event', e.event, { cluster: e.cluster, host: e.host }));
  deps.store.audit.onRecorded = (entry) => {
    // The Docker endpoint's own call-by-call records would drown the stream; its notable ones (denied) still show.
    if (entry.action.startsWith('docker ') && entry.result === 'ok') return;
    bus.publish('audit', entry);
  };
}

/** Update checks, steps and outcomes, as they happen (the dashboard's updates page). */
export function feedUpdates(bus: LiveBus, updates: Updates): void {
  updates.bus.on('check', (c) => bus.publish('update.check', c));
  updates.bus.on('step', (s) => bus.publish('update.step', s, { host: s.host }));
  updates.bus.on('run', (r) => bus.publish('update.run', r));
}
