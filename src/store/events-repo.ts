// Docker events ingested from every host, kept to a bounded number of rows.
import type { Selectable } from 'kysely';
import type { Db } from './db.ts';
import type { EventsTable } from './schema.ts';

export type StoredEvent = Selectable<EventsTable>;
const KEEP_ROWS = 100_000;

export class EventsRepo {
  private readonly db: Db;
  private insertsSincePrune = 0;
  constructor(db: Db) {
    this.db = db;
  }

  async add(e: Omit<StoredEvent, 'id'>): Promise<void> {
    await this.db.insertInto('events').values(e).execute();
    if (++this.insertsSincePrune >= 1000) {
      this.insertsSincePrune = 0;
      const edge = await this.db.selectFrom('events').select('id').orderBy('id', 'desc').offset(KEEP_ROWS).limit(1).executeTakeFirst();
      if (edge) await this.db.deleteFrom('events').where('id', '<=', edge.id).execute();
    }
  }

  /**
   * Stores an agent's journal entry unless an entry with this or a later
   * sequence number was already stored for the host: the check and the insert
   * are one transaction, so two deliveries of one batch (a replaced stream
   * racing its successor) store it once.
   */
  async addJournalEntry(hostId: string, seq: number, e: Omit<StoredEvent, 'id'>): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx.updateTable('hosts').set({ journal_seq: seq })
        .where('id', '=', hostId).where('journal_seq', '<', seq).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      await tx.insertInto('events').values(e).execute();
      return true;
    });
  }

  async query(q: { hostId?: string; limit: number; afterId?: number; type?: string }): Promise<StoredEvent[]> {
    let query = this.db.selectFrom('events').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.hostId) query = query.where('host_id', '=', q.hostId);
    if (q.afterId) query = query.where('id', '>', q.afterId);
    if (q.type) query = query.where('type', '=', q.type);
    return query.execute();
  }
}
