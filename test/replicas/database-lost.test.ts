// PostgreSQL lost while a server runs (issue 13, faults): new connections
// refused and the server's own terminated — /readyz turns 503, requests get a
// 503 that says the database cannot be reached (not a 500), the process stays
// up, and when the database takes connections again everything answers as
// before, with nothing lost that was stored.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { ADMIN_PASSWORD, apiClient, type Api } from '../helpers/server.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { signIn } from '../helpers/sign-in.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = postgresSkip();
let postgres: TestPostgres;
let server: ServerProcess;
let admin: Api;
let adminDb: pg.Client;
let database = '';
let dataDir = '';

/** As the PostgreSQL superuser: the database refuses new connections (or takes them again), and its open ones are ended. */
async function cutOff(refuse: boolean): Promise<void> {
  await adminDb.query(`alter database "${database}" allow_connections ${refuse ? 'false' : 'true'}`);
  if (refuse) await adminDb.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
}

before(async () => {
  if (skip) return;
  postgres = await startPostgres();
  const url = await postgres.createDatabase();
  database = /\/([^/?]+)(\?|$)/.exec(url.replace(/^postgres(ql)?:\/\/[^/]*/, ''))?.[1] ?? '';
  adminDb = new pg.Client({ connectionString: postgres.url('postgres') });
  await adminDb.connect();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-lost-'));
  server = await startServerProcess({ FLOTILLA_DATA_DIR: dataDir, FLOTILLA_DATABASE_URL: url, FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0' });
  assert.equal((await apiClient(server.url, undefined).post('/api/v1/setup', { setupCode: server.setupCode, username: 'admin', password: ADMIN_PASSWORD })).status, 201);
  admin = await signIn(server.url);
});

after(async () => {
  await server?.kill();
  await adminDb?.end().catch(() => undefined);
  await postgres?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the database lost and back: /readyz 503 and requests 503 naming the database, then everything answers again', { skip }, async () => {
  assert.ok(database, 'the test database name');
  const before = await admin.post('/api/v1/users', { username: 'kept', password: ADMIN_PASSWORD, role: 'viewer' });
  assert.equal(before.status, 201);
  assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

  await cutOff(true);
  const ready = await waitFor('/readyz not ready', async () => { const r = await fetch(`${server.url}/readyz`); return r.status === 503 && (await r.json()) as { status: string; reason: string }; }, 20_000, 200);
  assert.equal(ready.status, 'not_ready');
  const res = await admin.get('/api/v1/users');
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.equal(res.body.error, 'database_unavailable');
  assert.match(res.body.message, /database cannot be reached/);
  assert.equal(server.child.exitCode, null, 'the server is still running');

  await cutOff(false);
  await waitFor('/readyz ready again', async () => (await fetch(`${server.url}/readyz`)).status === 200, 30_000, 200);
  const users = await admin.get('/api/v1/users');
  assert.equal(users.status, 200);
  assert.ok((users.body as { username: string }[]).some((u) => u.username === 'kept'), 'what was stored before is there');
});
