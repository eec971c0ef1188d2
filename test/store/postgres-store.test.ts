// The store on PostgreSQL (issue 13): every repository gives what it gives on
// SQLite (the same calls on a temp SQLite file and on a throw-away PostgreSQL,
// results compared), two processes migrating one empty database migrate it once,
// an unreachable database stops start-up with a message naming
// FLOTILLA_DATABASE_URL and host:port (no password), and a `flotilla server` on
// PostgreSQL keeps its users across a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/index.ts';
import { openPostgresStore } from '../../src/store/db.ts';
import { migrationProvider } from '../../src/store/migrations.ts';
import type { HostsTable, SwarmClustersTable } from '../../src/store/schema.ts';
import type { NewAuditEntry } from '../../src/store/audit-repo.ts';
import { PolicyStore } from '../../src/cluster/policy-store.ts';
import { Conflict } from '../../src/errors.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { freePort, startServerProcess } from '../helpers/server-process.ts';
import { ADMIN_PASSWORD } from '../helpers/server.ts';
import { signIn } from '../helpers/sign-in.ts';

const CLI = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
const tempDir = (what: string) => fs.mkdtempSync(path.join(os.tmpdir(), `flotilla-${what}-`));

/** Random parts (uuids, timestamps, sealed ciphertexts, tokens) replaced by placeholders, so two stores' answers compare equal. */
function normalise(value: unknown): unknown {
  if (typeof value === 'string') {
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value)) return '<time>';
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) return '<uuid>';
    if (/^v1\.[^.]+\.[^.]+\.[^.]*$/.test(value)) return '<sealed>';
    if (/^flt_[0-9a-f]{8}/.test(value)) return '<token>';
    if (/^[0-9a-f]{64}$/.test(value)) return '<digest>';
    return value;
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    if (value instanceof Error) return { error: value.constructor.name, message: value.message };
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err;
  }
}

const auditEntry = (action: string, username: string, target: string | null = null): NewAuditEntry => ({
  user_id: null, username, action, target, result: 'ok', detail: null, request_id: null, source_ip: null,
});

function hostRow(id: string, name: string, at: string): HostsTable {
  // Columns added by later migrations (disk usage) are left to their default, null.
  const row: Omit<HostsTable, 'disk_usage'> = {
    id, name, kind: 'agent', endpoint: `agent://${name}`, tls_sealed: null, environment: 'production', environment_label: null,
    sync_interval_s: 30, status: 'pending', status_reason: null, status_changed_at: at, consecutive_failures: 0,
    last_seen_at: null, last_sync_at: null, last_sync_ms: null, engine_id: null, engine_version: null, api_version: null,
    os: null, arch: null, cpus: null, memory_bytes: null, engine_name: null, containers_total: 0, containers_running: 0,
    created_at: at, agent_state: 'active', agent_version: null, agent_features: null, cert_serial: null, cert_not_after: null,
    disconnect_reason: null, connected_at: null, duplicate_of: null, journal_seq: 0,
    swarm_node_id: null, swarm_state: null, swarm_role: null, swarm_cluster_id: null,
  };
  return row as HostsTable;
}

/** The same calls on any store; what each returned, by name. */
async function exercise(store: Store): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const at = new Date().toISOString();

  // users, sessions, API tokens
  const admin = (await store.users.createFirstAdmin('admin', 'hash-a'))!;
  out.secondFirstAdmin = await store.users.createFirstAdmin('other', 'hash-b');
  const bob = await store.users.create('Bob', 'hash-b', 'operator');
  await store.users.create('alice', 'hash-c', 'viewer');
  out.userCount = await store.users.count();
  out.users = await store.users.list();
  out.findWithHash = await store.users.findWithHash('Bob');
  out.getByName = await store.users.get('alice');
  out.getCaseDiffers = await store.users.get('bob');
  await store.users.update(bob.id, { role: 'admin' });
  out.admins = await store.users.countAdmins();
  const session = await store.users.createSession(admin.id, 60_000);
  out.sessionUser = await store.users.userForSession(session);
  await store.users.deleteSession(session);
  out.sessionGone = await store.users.userForSession(session);
  const { token, info } = await store.users.createToken(bob.id, 'ci', 3_600_000);
  out.tokenInfo = info;
  out.tokenHolder = await store.users.userForToken(token);
  out.tokens = await store.users.listTokens(bob.id);
  out.tokenDeleted = await store.users.deleteToken(bob.id, info.id);
  out.tokenDeletedAgain = await store.users.deleteToken(bob.id, info.id);

  // hosts and their status history
  await store.hosts.insert(hostRow('h-1', 'web', at));
  await store.hosts.insert(hostRow('h-2', 'Db', at));
  out.duplicateHostName = normalise(await rejection(store.hosts.insert(hostRow('h-3', 'web', at)))) !== 'resolved';
  await store.hosts.update('h-1', { memory_bytes: 68_719_476_736, cpus: 16, engine_id: 'ENG', os: 'linux', last_sync_ms: 12 });
  await store.hosts.update('h-2', { engine_id: 'ENG' });
  out.setStatusOnline = await store.hosts.setStatus('h-1', 'connected', 'synced', { consecutive_failures: 0 });
  out.setStatusSame = await store.hosts.setStatus('h-1', 'connected', 'synced');
  out.setStatusMissing = await store.hosts.setStatus('nope', 'connected', null);
  out.hosts = await store.hosts.list();
  out.findHost = await store.hosts.find('web');
  out.sameEngine = (await store.hosts.withEngineId('ENG', 'h-1')).map((h) => h.id);
  out.history = await store.hosts.history('h-1', 10);

  // inventory
  await store.inventory.replace('h-1', 'container', [
    { objectId: 'abc123def', name: 'app', data: { Id: 'abc123def', Names: ['/app'], n: 1 } },
    { objectId: 'abd999', name: 'db', data: { Id: 'abd999', ünïcode: 'ü' } },
  ]);
  await store.inventory.replace('h-2', 'container', [{ objectId: 'ffff00', name: 'app', data: { Id: 'ffff00' } }]);
  await store.inventory.replace('h-1', 'image', Array.from({ length: 250 }, (_, i) => ({ objectId: `sha256:${String(i).padStart(4, '0')}`, name: null, data: { i } })));
  out.inventory = await store.inventory.list('h-1', 'container');
  out.imageCount = (await store.inventory.list('h-1', 'image')).length;
  out.matchByName = (await store.inventory.hostsMatching('container', 'app')).sort();
  out.matchByPrefix = await store.inventory.hostsMatching('container', 'abc');
  out.matchPrefixTwo = await store.inventory.hostsMatching('container', 'ab');
  out.matchNone = await store.inventory.hostsMatching('container', 'ABC');
  out.stamps = (await store.inventory.stamps('container')).sort((a, b) => a.hostId.localeCompare(b.hostId));
  out.listAll = (await store.inventory.listAll('container')).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

  // audit
  await store.audit.record(auditEntry('user.create', 'admin', 'Bob'));
  for (let i = 0; i < 5; i++) store.audit.recordSoon(auditEntry(`docker.call${i}`, 'bob'));
  out.auditAll = await store.audit.query({ limit: 10 });
  out.auditByUser = await store.audit.query({ limit: 10, username: 'bob' });
  out.auditBefore = await store.audit.query({ limit: 2, beforeId: 4 });
  out.auditByTarget = await store.audit.query({ limit: 10, action: 'user.create', target: 'Bob' });

  // events and the agent journal
  await store.events.add({ at, host_id: 'h-1', type: 'container', action: 'start', actor_id: 'abc', data: '{"x":1}' });
  out.journal5 = await store.events.addJournalEntry('h-1', 5, { at, host_id: 'h-1', type: 'journal', action: 'update', actor_id: null, data: '{}' });
  out.journal5Again = await store.events.addJournalEntry('h-1', 5, { at, host_id: 'h-1', type: 'journal', action: 'update', actor_id: null, data: '{}' });
  out.journal6 = await store.events.addJournalEntry('h-1', 6, { at, host_id: 'h-1', type: 'journal', action: 'update', actor_id: null, data: '{}' });
  out.events = await store.events.query({ limit: 10 });
  out.eventsAfter = await store.events.query({ limit: 10, hostId: 'h-1', afterId: 1, type: 'journal' });
  out.journalSeq = (await store.hosts.find('h-1'))!.journal_seq;

  // enrollment tokens and revocations
  const enroll = await store.enrollTokens.create({ digest: 'd1', kind: 'single', uses: 1, ttlMs: 60_000, label: 'one', createdBy: admin.id });
  await store.enrollTokens.create({ digest: 'd2', kind: 'fleet', uses: 5, ttlMs: -1000, label: null, createdBy: null });
  out.consume = await store.enrollTokens.consume('d1');
  out.consumeUsed = await store.enrollTokens.consume('d1');
  out.consumeExpired = await store.enrollTokens.consume('d2');
  out.consumeUnknown = await store.enrollTokens.consume('d3');
  // Sorted here: both were created within the same millisecond.
  out.enrollTokens = (await store.enrollTokens.list()).sort((a, b) => a.kind.localeCompare(b.kind));
  out.enrollRemoved = await store.enrollTokens.remove(enroll.id);
  await store.revocations.add({ serial: '0a1b', host_id: 'h-2', host_name: 'Db', reason: 'lost' });
  await store.revocations.add({ serial: '0a1b', host_id: 'h-2', host_name: 'Db', reason: 'again' });
  out.revoked = await store.revocations.all();

  // user certificates
  await store.userCerts.add({ serial: '0a1b', user_id: bob.id, name: 'laptop', not_after: at });
  await store.userCerts.add({ serial: 'ff', user_id: admin.id, name: 'desk', not_after: at });
  out.userCerts = (await store.userCerts.list()).sort((a, b) => a.serial.localeCompare(b.serial));
  out.userCert = await store.userCerts.find('0a1b');
  out.revokedAt = (await store.userCerts.revokedAt('0a1b')) !== undefined;

  // Swarm clusters
  const cluster: SwarmClustersTable = {
    id: 'swarm-1', name: 'prod', origin: 'discovered', sync_interval_s: 30, status: 'pending', status_reason: null, status_changed_at: at,
    consecutive_failures: 0, last_seen_at: null, last_sync_at: null, last_sync_ms: null, leader_node_id: null, last_manager_host_id: null,
    health: null, created_at: at,
  };
  await store.swarm.insert(cluster);
  out.clusterStatus = await store.swarm.setStatus('swarm-1', 'connected', null, { leader_node_id: 'n1' });
  await store.swarm.replaceInventory('swarm-1', {
    node: [{ objectId: 'n1', name: 'm1', data: { ID: 'n1' } }, { objectId: 'n2', name: 'B', data: { ID: 'n2' } }],
    service: [{ objectId: 's1', name: 'web', data: { ID: 's1' } }],
  });
  out.clusterNodes = await store.swarm.inventory('swarm-1', 'node');
  await store.hosts.update('h-1', { swarm_node_id: 'n1', swarm_state: 'active' });
  await store.hosts.update('h-2', { swarm_node_id: 'n9', swarm_state: 'active', swarm_cluster_id: 'swarm-1' });
  await store.swarm.linkHosts('swarm-1', ['n1']);
  out.clusterHosts = (await store.swarm.hostsOf('swarm-1')).map((h) => h.id);
  out.clusters = await store.swarm.list();
  out.clusterHistory = await store.swarm.history('swarm-1', 5);
  await store.swarm.remove('swarm-1');
  out.clustersAfterRemove = await store.swarm.list();
  out.linkAfterRemove = (await store.hosts.find('h-1'))!.swarm_cluster_id;

  // stack deployments
  const dep = { cluster_id: 'swarm-1', stack: 'shop', strategy: 'rolling', compose: 'services: {}', env: '{}', files: '{}', options: '{}', redeploy_of: null, started_by: admin.id };
  await store.deployments.start({ ...dep, id: 'dep-1', started_at: '2026-01-01T00:00:00.000Z' });
  await store.deployments.start({ ...dep, id: 'dep-2', started_at: '2026-01-01T00:00:01.000Z' });
  out.depRunning = await store.deployments.running('swarm-1', 'shop');
  await store.deployments.finish('dep-1', { status: 'succeeded', outcome: { services: 2 }, error: null, warnings: ['w'], durationMs: 12.6 });
  out.depFound = await store.deployments.find('dep-1');
  out.depInterrupted = await store.deployments.markInterrupted();
  out.deployments = await store.deployments.list('swarm-1', 'shop');

  // image updates: checks and runs
  const check = (container_id: string, container_name: string) => ({
    host_id: 'h-1', container_id, container_name, image_ref: 'nginx:1', current_digest: 'sha256:a', available_digest: 'sha256:b',
    status: 'update_available', policy: 'auto', policy_source: 'default', warning: null, error: null, checked_at: at,
  });
  await store.updates.replaceChecks('h-1', [check('c1', 'web'), check('c2', 'Api')]);
  out.checks = await store.updates.checks({ hostId: 'h-1' });
  out.checkByName = await store.updates.check('h-1', '/web');
  await store.updates.markUpdated('h-1', 'c1', 'c1new', 'sha256:b');
  out.checksAvailable = await store.updates.checks({ status: 'update_available' });
  const run = { host_id: 'h-1', container_name: 'web', old_container_id: 'c1', image_ref: 'nginx:1', from_digest: 'sha256:a', trigger: 'manual', started_by: admin.id };
  await store.updates.startRun({ ...run, id: 'run-1', started_at: '2026-01-01T00:00:00.000Z' });
  await store.updates.startRun({ ...run, id: 'run-2', started_at: '2026-01-01T00:00:01.000Z' });
  await store.updates.appendStep('run-1', { step: 'pull', ms: 3 });
  out.finish1 = await store.updates.finishRun('run-1', { status: 'updated', newContainerId: 'c1new', toDigest: 'sha256:b', durationMs: 40.2 });
  out.finish1Again = await store.updates.finishRun('run-1', { status: 'failed', durationMs: 1 });
  out.runsInterrupted = await store.updates.markInterrupted(['h-1']);
  out.runsInterruptedNone = await store.updates.markInterrupted([]);
  out.runs = await store.updates.runs({ hostId: 'h-1' });

  // registries (sealed passwords)
  const reg = await store.registries.add({ host: 'Registry.Example:5000', username: 'u', password: 'p@ss', concurrency: 2 });
  out.registryDuplicate = normalise(await rejection(store.registries.add({ host: 'registry.example:5000' })));
  out.registryUpdate = await store.registries.update(reg.id, { insecure: true, password: 'new' });
  out.registries = await store.registries.list();
  out.registryAccess = await store.registries.access('REGISTRY.example:5000');
  out.registryMissing = await store.registries.access('none.example');
  await store.registries.remove('registry.example:5000');
  out.registriesAfter = await store.registries.list();

  // notification targets (sealed URLs and secrets)
  await store.notifications.add({ name: 'ops', kind: 'webhook', url: 'https://hooks.example/abc?token=s', secret: 'k' });
  await store.notifications.add({ name: 'Chat', kind: 'slack', url: 'https://hooks.slack.example/T/B/X', events: ['updated'] });
  const dupTarget = await rejection(store.notifications.add({ name: 'ops', kind: 'ntfy', url: 'https://ntfy.example/t' }));
  out.targetDuplicate = dupTarget instanceof Conflict;
  out.targetDisabled = await store.notifications.setEnabled('Chat', false);
  out.targets = await store.notifications.list();
  out.targetsOpened = await store.notifications.openEnabled();
  out.targetOpen = await store.notifications.open('Chat');
  await store.notifications.remove('ops');
  out.targetsAfter = await store.notifications.list();

  // settings (upsert on conflict)
  const policies = new PolicyStore(store.db, 60_000);
  await policies.setPolicy({ defaultPolicy: 'auto', containerPolicies: { web: 'pinned' } });
  await policies.setPolicy({ defaultPolicy: 'manual', containerPolicies: {} });
  out.policy = await policies.policy();

  // removals cascade
  await store.hosts.remove('h-1');
  out.inventoryAfterHostRemove = await store.inventory.list('h-1', 'container');
  out.historyAfterHostRemove = await store.hosts.history('h-1', 10);
  await store.users.remove(bob.id);
  out.userCertsAfterUserRemove = (await store.userCerts.list()).map((c) => c.serial);
  out.usersAfter = await store.users.list();
  return out;
}

describe('the store on PostgreSQL', { skip: postgresSkip() }, () => {
  let server: TestPostgres;
  const cleanups: (() => Promise<void> | void)[] = [];
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await server?.stop();
  });

  async function pgStore(): Promise<Store> {
    const dataDir = tempDir('pgstore');
    const store = await openStore({ dataDir, databaseUrl: await server.createDatabase() });
    cleanups.push(async () => {
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    return store;
  }

  test('every repository answers on PostgreSQL as it does on SQLite', async () => {
    const sqliteDir = tempDir('sqlite');
    const sqlite = await openStore(sqliteDir);
    cleanups.push(async () => {
      await sqlite.close();
      fs.rmSync(sqliteDir, { recursive: true, force: true });
    });
    const postgres = await pgStore();
    const onSqlite = normalise(await exercise(sqlite)) as Record<string, unknown>;
    const onPostgres = normalise(await exercise(postgres)) as Record<string, unknown>;
    const differing = Object.keys(onSqlite).filter((key) => !util.isDeepStrictEqual(onPostgres[key], onSqlite[key]));
    for (const key of differing) assert.deepEqual(onPostgres[key], onSqlite[key], `${key} differs on PostgreSQL (and ${differing.length - 1} more: ${differing.join(', ')})`);
    assert.deepEqual(Object.keys(onPostgres), Object.keys(onSqlite));
    // Spot checks that the comparison is about something.
    assert.equal(onSqlite.userCount, 3);
    assert.equal(onSqlite.journalSeq, 6);
    assert.equal((onSqlite.findHost as HostsTable).memory_bytes, 68_719_476_736);
    assert.deepEqual(onSqlite.matchByPrefix, ['h-1']);
    assert.equal(onSqlite.getCaseDiffers, undefined, 'names compare case-sensitively on both');
    assert.equal((onSqlite.auditAll as unknown[]).length, 6);
  });

  test('numbers come back as numbers: bigint columns, counts and identity keys', async () => {
    const store = await pgStore();
    const at = new Date().toISOString();
    await store.hosts.insert(hostRow('h', 'h', at));
    await store.hosts.update('h', { memory_bytes: 2 ** 40, journal_seq: 2 ** 33 });
    const host = (await store.hosts.find('h'))!;
    assert.equal(host.memory_bytes, 2 ** 40);
    assert.equal(host.journal_seq, 2 ** 33);
    assert.equal(typeof (await store.hosts.history('h', 1))[0]!.id, 'number');
    assert.equal(await store.users.count(), 0);
    await store.audit.record(auditEntry('a', 'u'));
    assert.equal(typeof (await store.audit.query({ limit: 1 }))[0]!.id, 'number');
  });

  test('concurrent first-admin setups create one admin; concurrent status changes record each change once', async () => {
    const store = await pgStore();
    // Open the pool's connections first, so that the calls below really run side by side
    // (with plain transactions this makes 8 admins).
    await Promise.all(Array.from({ length: 8 }, () => sql`select pg_sleep(0.05)`.execute(store.db)));
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => store.users.createFirstAdmin(`admin${i}`, 'h')));
    assert.equal(made.filter(Boolean).length, 1);
    assert.equal(await store.users.count(), 1);
    await store.hosts.insert(hostRow('h', 'h', new Date().toISOString()));
    const changes = await Promise.all(Array.from({ length: 8 }, () => store.hosts.setStatus('h', 'connected', 'synced')));
    assert.equal(changes.filter((c) => c.changed).length, 1);
    assert.equal((await store.hosts.history('h', 20)).filter((c) => c.to_status === 'connected').length, 1);
    // Two replaces of one host's inventory at once: one wins whole, neither fails on the other's rows.
    const items = (n: string) => Array.from({ length: 50 }, (_, i) => ({ objectId: `c${i}`, name: `c${i}`, data: { n } }));
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => store.inventory.replace('h', 'container', items(n))));
    const kept = await store.inventory.list<{ n: string }>('h', 'container');
    assert.equal(kept.length, 50);
    assert.equal(new Set(kept.map((k) => k.n)).size, 1, 'the items of one replace, not a mix');
    const regs = await Promise.all(Array.from({ length: 4 }, () => rejection(store.registries.add({ host: 'r.example' }))));
    assert.equal(regs.filter((r) => r === 'resolved').length, 1);
    assert.ok(regs.every((r) => r === 'resolved' || r instanceof Conflict), 'the others are told it is taken');
  });

  test('several processes migrating one empty database at once migrate it once', async () => {
    const url = await server.createDatabase();
    // Each open is its own pool: separate sessions, as separate processes would be.
    const dbs = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(url, { poolSize: 2 })));
    await Promise.all(dbs.map((db) => db.destroy()));
    const check = new Kysely<{ kysely_migration: { name: string } }>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }) });
    try {
      const names = (await check.selectFrom('kysely_migration').select('name').orderBy('name').execute()).map((r) => r.name);
      const expected = Object.keys(await migrationProvider('postgres').getMigrations()).sort();
      assert.deepEqual(names, expected, 'each migration recorded exactly once');
    } finally {
      await check.destroy();
    }
    // And a second start on the migrated database changes nothing.
    const again = await openPostgresStore(url);
    await again.destroy();
  });

  test('a flotilla server on PostgreSQL serves setup and keeps its admin across a restart with a new data directory', async () => {
    const url = await server.createDatabase();
    const env = (dataDir: string) => ({ FLOTILLA_DATA_DIR: dataDir, FLOTILLA_DATABASE_URL: url, FLOTILLA_CLUSTER: 'false', FLOTILLA_DOCKER_ENDPOINT: 'false' });
    const dirA = tempDir('pgserver-a');
    const dirB = tempDir('pgserver-b');
    cleanups.push(() => {
      fs.rmSync(dirA, { recursive: true, force: true });
      fs.rmSync(dirB, { recursive: true, force: true });
    });
    const first = await startServerProcess(env(dirA));
    try {
      assert.ok(first.setupCode, 'an empty database needs setup');
      const state = await fetch(`${first.url}/api/v1/setup`);
      assert.deepEqual(await state.json(), { needed: true });
      const setup = await fetch(`${first.url}/api/v1/setup`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ setupCode: first.setupCode, username: 'admin', password: ADMIN_PASSWORD }),
      });
      assert.equal(setup.status, 201, await setup.text());
    } finally {
      await first.kill();
    }
    // Nothing of the user is in the data directory: a fresh one proves it is in PostgreSQL.
    const second = await startServerProcess(env(dirB));
    try {
      assert.equal(second.setupCode, undefined, 'the admin is still there');
      const api = await signIn(second.url);
      const me = await api.get('/api/v1/auth/me');
      assert.equal(me.status, 200);
      assert.equal((me.body as { user: { username: string } }).user.username, 'admin');
    } finally {
      await second.kill();
    }
  });
});

/** Runs `flotilla server` until it exits; its exit code and stderr. */
function runServerCommand(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'server'], {
      env: { ...process.env, FLOTILLA_PORT: '0', FLOTILLA_CLUSTER: 'false', FLOTILLA_DOCKER_ENDPOINT: 'false', FLOTILLA_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`flotilla server did not stop within 30 s:\n${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('PostgreSQL unreachable at start: start-up stops naming FLOTILLA_DATABASE_URL and host:port, never the password', async () => {
  const port = await freePort();
  const dataDir = tempDir('pg-unreachable');
  try {
    const { code, stderr } = await runServerCommand({ FLOTILLA_DATA_DIR: dataDir, FLOTILLA_DATABASE_URL: `postgres://flotilla:hunter2secret@127.0.0.1:${port}/flotilla` });
    assert.notEqual(code, 0);
    assert.match(stderr, /FLOTILLA_DATABASE_URL/);
    assert.ok(stderr.includes(`127.0.0.1:${port}`), stderr);
    assert.ok(!stderr.includes('hunter2secret'), `the password is printed:\n${stderr}`);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a FLOTILLA_DATABASE_URL that is not postgres:// stops start-up naming the variable, without echoing it', async () => {
  const dataDir = tempDir('pg-badurl');
  try {
    const { code, stderr } = await runServerCommand({ FLOTILLA_DATA_DIR: dataDir, FLOTILLA_DATABASE_URL: 'mysql://root:hunter2secret@db/flotilla' });
    assert.equal(code, 2);
    assert.match(stderr, /FLOTILLA_DATABASE_URL/);
    assert.ok(!stderr.includes('hunter2secret'), stderr);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
