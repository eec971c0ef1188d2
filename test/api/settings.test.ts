// GET /api/v1/settings: the effective FLOTILLA_* configuration, read-only, for admins.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
before(async () => {
  srv = await startTestServer({ FLOTILLA_GRACE_PERIOD_OFFLINE: '7m', FLOTILLA_CLUSTER_ADVERTISE: 'fleet.example' });
});
after(async () => {
  await srv?.close();
});

test('an admin reads the effective settings, with the bound ports and the configured values', async () => {
  const res = await srv.admin.get('/api/v1/settings');
  assert.equal(res.status, 200);
  const byVar = new Map((res.body as { variable: string; value: unknown; unit?: string }[]).map((s) => [s.variable, s]));
  assert.deepEqual(byVar.get('FLOTILLA_GRACE_PERIOD_OFFLINE'), {
    variable: 'FLOTILLA_GRACE_PERIOD_OFFLINE', group: 'agents', value: 7 * 60_000, unit: 'ms',
    description: 'how long an agent may be offline before its host is reported down',
  });
  assert.equal(byVar.get('FLOTILLA_CLUSTER_ADVERTISE')?.value, 'fleet.example');
  // Port 0 was configured; what is shown is the port actually bound.
  assert.equal(byVar.get('FLOTILLA_AGENT_PORT')?.value, srv.handle.cluster!.port);
  assert.notEqual(byVar.get('FLOTILLA_DOCKER_PORT')?.value, 0);
  assert.equal(byVar.get('FLOTILLA_PORT')?.value, Number(new URL(srv.url).port));
  for (const s of byVar.values()) assert.match(s.variable, /^FLOTILLA_[A-Z_]+$/);
  // On PostgreSQL (scripts/test.sh's second pass) the URL is shown without user or password.
  const db = byVar.get('FLOTILLA_DATABASE_URL')?.value;
  if (srv.handle.replicaSet) assert.match(String(db), /^postgres(ql)?:\/\/[^@]*$/);
  else assert.equal(db, null);
});

test('operators and viewers may not read the settings', async () => {
  for (const role of ['operator', 'viewer'] as const) {
    const api = await srv.userWithRole(role);
    assert.equal((await api.get('/api/v1/settings')).status, 403, role);
  }
});

test('without credentials the settings are refused', async () => {
  assert.equal((await fetch(`${srv.url}/api/v1/settings`)).status, 401);
});
