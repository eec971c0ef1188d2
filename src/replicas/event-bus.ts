// The event bus between server replicas on one database (issue 13). On PostgreSQL:
// LISTEN/NOTIFY on a dedicated connection (not the pool), opened again with
// backoff when it drops. NOTIFY takes under 8,000 bytes, so a bigger message is
// stored in bus_messages and only its id is notified; readers read the row.
// Durable messages (security events) are always stored, so a replica whose
// connection dropped reads what it missed once it is back. Every message names
// its replica: a replica ignores its own. On SQLite (one process, no peers)
// publishing does nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { REPLICA_ID } from './identity.ts';

/** The one NOTIFY channel; the bus's own channels travel inside the message. */
export const NOTIFY_CHANNEL = 'flotilla_bus';
/** PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more; a message above this goes through bus_messages. */
export const MAX_NOTIFY_BYTES = 7_900;
/** Stored messages older than this are deleted (by every replica, once a minute). */
const KEEP_ROWS_MS = 10 * 60_000;
const PRUNE_EVERY_MS = 60_000;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/** A catch-up after a drop also rereads rows written this long before it (clocks of replicas differ a little). */
const CATCH_UP_SLACK_MS = 10_000;
const REMEMBERED_ROWS = 10_000;
const BATCH = 500;

export type BusListener = (payload: unknown, from: string) => void;

export interface PublishOptions {
  /** Stored even when small, and re-read by a replica that was disconnected when it was sent. */
  durable?: boolean;
}

export interface ReplicaBus {
  readonly replicaId: string;
  /** False on SQLite: there is nobody to tell, and callers may skip the work of telling. */
  readonly hasPeers: boolean;
  /** To every other replica; the publisher acts on its own copy itself. Resolves once sent. */
  publish(channel: string, payload: unknown, opts?: PublishOptions): Promise<void>;
  /** Messages of other replicas on this channel, in the order each sent them. */
  subscribe(channel: string, fn: BusListener): () => void;
  close(): Promise<void>;
}

/** SQLite: one process, nobody to tell. */
export class LocalReplicaBus implements ReplicaBus {
  readonly replicaId = REPLICA_ID;
  readonly hasPeers = false;
  async publish(): Promise<void> {}
  subscribe(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}
}

/** What travels: origin replica, its sequence number (NOTIFY folds identical payloads of one transaction), channel, then the payload or the row holding it. */
const envelopeSchema = z.object({
  o: z.string(),
  s: z.number(),
  c: z.string(),
  p: z.unknown().optional(),
  r: z.number().int().optional(),
  d: z.literal(1).optional(),
});
type Envelope = z.infer<typeof envelopeSchema>;

interface Outgoing {
  envelope: Envelope;
  resolve(): void;
  reject(err: unknown): void;
}

export interface PostgresBusOptions {
  /** FLOTILLA_DATABASE_URL: the listening connection is opened from it, outside the pool. */
  url: string;
  /** The store's pool: publishing and reading stored rows. */
  db: Kysely<any>;
  log: Logger;
  /** Tests run two buses in one process. */
  replicaId?: string;
}

export interface BusStats {
  listening: boolean;
  /** Times the listening connection was opened again after a drop. */
  reconnects: number;
  sent: number;
  stored: number;
  received: number;
}

export class PostgresReplicaBus implements ReplicaBus {
  readonly replicaId: string;
  readonly hasPeers = true;
  private readonly opts: PostgresBusOptions;
  private readonly log: Logger;
  private readonly listeners = new Map<string, Set<BusListener>>();
  private seq = 0;
  private outbox: Outgoing[] = [];
  private flushing: Promise<void> | undefined;
  /** Deliveries one after another, so a stored message (read back) does not overtake the small ones sent after it. */
  private inbox: Promise<void> = Promise.resolve();
  private listener: pg.Client | undefined;
  private closed = false;
  private readonly stopWaiting = new AbortController();
  private readonly pruner: NodeJS.Timeout;
  private readonly maintained: Promise<void>;
  private firstListen!: () => void;
  /** Resolves once the bus listens the first time (or gave up because it was closed). */
  readonly ready: Promise<void>;
  /** Highest stored row seen, and the rows already delivered: a catch-up does not deliver twice. */
  private lastRowId = 0;
  private readonly deliveredRows = new Set<number>();
  private readonly counts = { reconnects: 0, sent: 0, stored: 0, received: 0 };

  constructor(opts: PostgresBusOptions) {
    this.opts = opts;
    this.replicaId = opts.replicaId ?? REPLICA_ID;
    this.log = opts.log.child({ component: 'replica-bus', replica: this.replicaId });
    this.ready = new Promise((resolve) => (this.firstListen = resolve));
    this.maintained = this.keepListening();
    this.pruner = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruner.unref();
  }

  stats(): BusStats {
    return { listening: this.listener !== undefined, ...this.counts };
  }

  publish(channel: string, payload: unknown, opts: PublishOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the replica bus is closed'));
    const envelope: Envelope = { o: this.replicaId, s: ++this.seq, c: channel, p: payload, ...(opts.durable ? { d: 1 as const } : {}) };
    return new Promise((resolve, reject) => {
      this.outbox.push({ envelope, resolve, reject });
      this.flushSoon();
    });
  }

  subscribe(channel: string, fn: BusListener): () => void {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // What was published before close still goes out (the pool is closed after us).
    while (this.flushing) await this.flushing;
    this.closed = true;
    clearInterval(this.pruner);
    this.stopWaiting.abort();
    await this.listener?.end().catch(() => undefined);
    await this.maintained;
    await this.inbox;
  }

  // --- sending ---

  private flushSoon(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.outbox.length) this.flushSoon();
    });
  }

  /** One statement per batch: notifications of one transaction arrive in order, so a replica's messages keep theirs. */
  private async flush(): Promise<void> {
    const batch = this.outbox.splice(0, BATCH);
    try {
      const texts: string[] = [];
      for (const m of batch) {
        const full = JSON.stringify(m.envelope);
        if (m.envelope.d || Buffer.byteLength(full, 'utf8') > MAX_NOTIFY_BYTES) {
          const id = await this.store(m.envelope.c, full);
          const { o, s, c, d } = m.envelope;
          texts.push(JSON.stringify({ o, s, c, r: id, ...(d ? { d } : {}) }));
        } else {
          texts.push(full);
        }
      }
      await sql`select pg_notify(${NOTIFY_CHANNEL}, m) from unnest(${texts}::text[]) as m`.execute(this.opts.db);
      this.counts.sent += batch.length;
      for (const m of batch) m.resolve();
    } catch (err) {
      for (const m of batch) m.reject(err);
    }
  }

  private async store(channel: string, payload: string): Promise<number> {
    const { rows } = await sql<{ id: number }>`insert into bus_messages (channel, payload, created_at) values (${channel}, ${payload}, ${new Date().toISOString()}) returning id`.execute(this.opts.db);
    this.counts.stored++;
    return Number(rows[0]!.id);
  }

  private async prune(): Promise<void> {
    try {
      await sql`delete from bus_messages where created_at < ${new Date(Date.now() - KEEP_ROWS_MS).toISOString()}`.execute(this.opts.db);
    } catch (err) {
      this.log.warn({ err }, 'could not prune old bus messages');
    }
  }

  // --- listening ---

  /** The listening connection, for good: opened, and opened again with backoff whenever it drops. */
  private async keepListening(): Promise<void> {
    let failures = 0;
    let droppedAt: number | undefined;
    while (!this.closed) {
      const client = new pg.Client({ connectionString: this.opts.url, application_name: `flotilla-bus ${this.replicaId}`, keepAlive: true });
      const ended = new Promise<Error | undefined>((resolve) => {
        client.on('error', (err) => resolve(err));
        client.on('end', () => resolve(undefined));
      });
      client.on('notification', (n) => {
        if (n.channel === NOTIFY_CHANNEL && n.payload) this.enqueue(() => this.receive(n.payload!));
      });
      try {
        await client.connect();
        await client.query(`listen ${NOTIFY_CHANNEL}`);
        if (this.closed) break;
        this.listener = client;
        const since = droppedAt;
        this.enqueue(() => (since === undefined ? this.startFromNow() : this.catchUp(since)));
        if (droppedAt !== undefined) {
          this.counts.reconnects++;
          this.log.info({ downMs: Date.now() - droppedAt }, 'replica bus: listening again');
        }
        failures = 0;
        this.firstListen();
        const why = await ended;
        if (this.closed) break;
        droppedAt = Date.now();
        this.log.warn({ err: why }, 'replica bus: the listening connection dropped; reconnecting');
      } catch (err) {
        if (this.closed) break;
        droppedAt ??= Date.now();
        this.log.warn({ err, attempt: failures + 1 }, 'replica bus: could not listen; retrying');
      } finally {
        this.listener = undefined;
        client.removeAllListeners('notification');
        void client.end().catch(() => undefined);
      }
      failures++;
      const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
      await sleep(wait / 2 + Math.random() * (wait / 2), undefined, { signal: this.stopWaiting.signal }).catch(() => undefined);
    }
    this.firstListen();
  }

  private enqueue(task: () => Promise<void>): void {
    this.inbox = this.inbox.then(task).catch((err: unknown) => this.log.error({ err }, 'replica bus: a message could not be delivered'));
  }

  private async startFromNow(): Promise<void> {
    const { rows } = await sql<{ id: number | null }>`select max(id) as id from bus_messages`.execute(this.opts.db);
    this.lastRowId = Math.max(this.lastRowId, Number(rows[0]?.id ?? 0));
  }

  /** After a drop: the durable messages stored since (what NOTIFY could not bring while nobody listened). */
  private async catchUp(droppedAt: number): Promise<void> {
    const after = new Date(droppedAt - CATCH_UP_SLACK_MS).toISOString();
    const { rows } = await sql<{ id: number; payload: string }>`select id, payload from bus_messages where id > ${this.lastRowId} or created_at >= ${after} order by id`.execute(this.opts.db);
    let missed = 0;
    for (const row of rows) {
      const id = Number(row.id);
      if (this.deliveredRows.has(id)) continue;
      const envelope = parseEnvelope(row.payload);
      this.rememberRow(id);
      if (!envelope || envelope.o === this.replicaId || !envelope.d) continue;
      missed++;
      this.deliver(envelope);
    }
    if (missed) this.log.info({ missed }, 'replica bus: delivered durable messages sent while disconnected');
  }

  private async receive(text: string): Promise<void> {
    let envelope = parseEnvelope(text);
    if (!envelope) {
      this.log.warn({ bytes: text.length }, 'replica bus: ignored a message that is not ours');
      return;
    }
    if (envelope.o === this.replicaId) return;
    if (envelope.r !== undefined) {
      const id = envelope.r;
      if (this.deliveredRows.has(id)) return;
      const { rows } = await sql<{ payload: string }>`select payload from bus_messages where id = ${id}`.execute(this.opts.db);
      this.rememberRow(id);
      envelope = rows[0] ? parseEnvelope(rows[0].payload) : undefined;
      if (!envelope) {
        this.log.warn({ row: id }, 'replica bus: a stored message is gone (pruned?)');
        return;
      }
    }
    this.deliver(envelope);
  }

  private rememberRow(id: number): void {
    this.lastRowId = Math.max(this.lastRowId, id);
    this.deliveredRows.add(id);
    if (this.deliveredRows.size > REMEMBERED_ROWS) this.deliveredRows.delete(this.deliveredRows.values().next().value!);
  }

  private deliver(envelope: Envelope): void {
    this.counts.received++;
    for (const fn of this.listeners.get(envelope.c) ?? []) {
      try {
        fn(envelope.p, envelope.o);
      } catch (err) {
        this.log.error({ err, channel: envelope.c }, 'replica bus: a listener failed');
      }
    }
  }
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const parsed = envelopeSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** PostgreSQL (FLOTILLA_DATABASE_URL set): the bus over LISTEN/NOTIFY, listening before it returns; SQLite: the no-op. */
export async function openReplicaBus(deps: { databaseUrl: string | undefined; db: Kysely<any>; log: Logger }): Promise<ReplicaBus> {
  if (!deps.databaseUrl) return new LocalReplicaBus();
  const bus = new PostgresReplicaBus({ url: deps.databaseUrl, db: deps.db, log: deps.log });
  // The store just connected, so this is quick; should it not be, start anyway: the bus keeps trying.
  await Promise.race([bus.ready, sleep(5_000, undefined, { ref: false })]);
  return bus;
}
