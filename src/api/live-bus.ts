// What the dashboard sees live (SPEC S9): Docker events of every host, host and
// cluster status changes, swarm events and audit records, numbered in one
// sequence and kept in a bounded ring, so a client that reconnects with
// Last-Event-ID gets what it missed; one that comes back too late is told to
// reload (`reset`) rather than silently missing messages.
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

export class LiveBus {
  private readonly ring: LiveMessage[] = [];
  private seq = 0;
  private readonly subscribers = new Set<(m: LiveMessage) => void>();
  /** Distinguishes this process's sequence from a previous one's: an id from before a restart is a reset. */
  readonly epoch = Date.now().toString(36);

  publish(type: string, data: unknown, where: { host?: string; cluster?: string } = {}): void {
    const m: LiveMessage = { id: ++this.seq, type, ...where, at: new Date().toISOString(), data };
    this.ring.push(m);
    if (this.ring.length > RING) this.ring.shift();
    for (const fn of this.subscribers) fn(m);
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
