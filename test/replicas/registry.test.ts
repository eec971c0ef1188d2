// The replica registry on a real PostgreSQL (issue 13): two replicas see each
// other, every piece of work is owned by exactly one of them (and by the one
// left when the other dies), a dead replica is swept by exactly one survivor,
// and alone a replica owns everything.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openPostgresStore, type Db } from '../../src/store/db.ts';
import { createLogger } from '../../src/log.ts';
import { ReplicaRegistry } from '../../src/replicas/registry.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../helpers/postgres.ts';

const skip = postgresSkip();
let postgres: TestPostgres;
const dbs: Db[] = [];
const log = createLogger('silent');

before(async () => {
  if (skip) return;
  postgres = await startPostgres();
  const url = await postgres.createDatabase();
  for (let i = 0; i < 3; i++) dbs.push(await openPostgresStore(url));
});

after(async () => {
  for (const db of dbs) await db.destroy().catch(() => undefined);
  await postgres?.stop();
});

test('two replicas share out the work, one sweeps the other when it dies, alone one owns everything', { skip }, async () => {
  const dead: string[][] = [];
  const make = (i: number, id: string) => new ReplicaRegistry({ db: dbs[i]!, id, log, ttlMs: 600, intervalMs: 60_000, onDead: async (ids) => void dead.push(ids) });
  const a = make(0, 'replica-a');
  const b = make(1, 'replica-b');
  assert.equal(a.owns('anything'), true, 'before it starts, a replica owns everything');
  await a.start('127.0.0.1:1');
  await b.start('127.0.0.1:2');
  await a.beat();
  await b.beat();
  assert.equal(a.othersAlive(), true);
  const keys = Array.from({ length: 200 }, (_, i) => `host-${i}`);
  const mineA = keys.filter((k) => a.owns(k));
  const mineB = keys.filter((k) => b.owns(k));
  assert.equal(mineA.length + mineB.length, keys.length, 'every key owned once');
  assert.deepEqual(mineA.filter((k) => mineB.includes(k)), [], 'no key owned twice');
  assert.ok(mineA.length > 50 && mineB.length > 50, `shared out: ${mineA.length} / ${mineB.length}`);

  // b stops beating; a third process sweeps at the same moment as a: one of them reports b dead.
  await new Promise((r) => setTimeout(r, 800));
  const c = make(2, 'replica-c');
  await dbs[0]!.updateTable('replicas').set({ heartbeat_at: new Date().toISOString() }).where('id', '=', 'replica-a').execute();
  await Promise.all([a.sweep(), c.sweep()]);
  assert.deepEqual(dead, [['replica-b']], 'swept once');
  await a.beat();
  assert.equal(a.othersAlive(), false);
  assert.ok(keys.every((k) => a.owns(k)), 'the survivor owns everything');
  assert.equal(await a.alive('replica-b'), undefined);
  await a.stop();
  assert.deepEqual((await a.list()).map((r) => r.id), [], 'a stopped replica removes its row');
});
