// The sync scheduler keeps rows and due times in memory: it reads every row
// once per RESCAN_MS (or after dueNow), not every second, and still syncs each
// row on its interval; a row synced since it was read is read again first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESCAN_MS, SyncScheduler, type Syncable, type Syncer } from '../../src/fleet/sync-scheduler.ts';

class FakeSyncer implements Syncer<Syncable, boolean> {
  rows: Syncable[];
  lists = 0;
  readonly synced: string[] = [];
  onSync: (row: Syncable) => void = () => undefined;
  constructor(rows: Syncable[]) {
    this.rows = rows;
  }
  async list(): Promise<Syncable[]> {
    this.lists++;
    return this.rows.map((r) => ({ ...r }));
  }
  async sync(row: Syncable): Promise<boolean> {
    this.synced.push(row.id);
    this.onSync(row);
    return true;
  }
  abortAll(): void {}
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('5,000 rows: every one synced, and the rows are read once in 3 s, not every tick', async () => {
  const syncer = new FakeSyncer(Array.from({ length: 5000 }, (_, i) => ({ id: `h${i}`, status: 'connected', sync_interval_s: 60 })));
  const scheduler = new SyncScheduler(syncer, 50);
  scheduler.start();
  try {
    await until('every row synced', () => syncer.synced.length === 5000);
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(RESCAN_MS > 3000);
    assert.equal(syncer.lists, 1, `list() calls in 3+ s: ${syncer.lists}`);
    assert.equal(syncer.synced.length, 5000, 'nobody synced twice within the interval');
  } finally {
    await scheduler.stop();
  }
});

test('dueNow reads the rows again on the next tick and syncs that one row', async () => {
  const syncer = new FakeSyncer([{ id: 'a', status: 'connected', sync_interval_s: 3600 }]);
  const scheduler = new SyncScheduler(syncer, 2);
  scheduler.start();
  try {
    await until('first sync', () => syncer.synced.length === 1);
    syncer.rows.push({ id: 'b', status: 'pending', sync_interval_s: 3600 });
    scheduler.dueNow('b');
    await until('the new row synced', () => syncer.synced.includes('b'));
    assert.equal(syncer.lists, 2);
    assert.deepEqual(syncer.synced, ['a', 'b']);
  } finally {
    await scheduler.stop();
  }
});

test('a row that moved to maintenance during its sync is not synced again from the old copy', async () => {
  const syncer = new FakeSyncer([{ id: 'short', status: 'connected', sync_interval_s: 1 }]);
  // The sync (or an operator) moves the row; only a fresh read shows it.
  syncer.onSync = () => {
    syncer.rows = [{ id: 'short', status: 'maintenance', sync_interval_s: 1 }];
  };
  const scheduler = new SyncScheduler(syncer, 2);
  scheduler.start();
  try {
    await until('first sync', () => syncer.synced.length === 1);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(syncer.synced.length, 1, 'in maintenance: no second sync');
    assert.ok(syncer.lists >= 2, 'the row was read again when it came due');
  } finally {
    await scheduler.stop();
  }
});
