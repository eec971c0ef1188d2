// Hosts that fail: a killed engine goes disconnected, then error after five
// failures, and comes back only by manual recovery; maintenance stops syncing.
// These break an engine, so they use a lab node of their own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { lab, labState, type LabNode, type LabState } from '../lab/fixture.ts';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let st: LabState;
let node: LabNode;
const nodeName = `fault${crypto.randomBytes(2).toString('hex')}`;

before(async () => {
  st = await labState();
  node = await lab().addNode(nodeName);
  // A short sync deadline so that a host behind a cut link fails within seconds.
  srv = await startTestServer({ FLOTILLA_SYNC_TIMEOUT: '4' });
});
after(async () => {
  await srv?.close();
  await lab().removeNode(nodeName);
});

const hostStatus = async (name: string) => (await srv.admin.get(`/api/v1/hosts/${name}`)).body;

test('a killed engine: disconnected at once, error after five failures, manual recovery', async () => {
  await srv.admin.post('/api/v1/hosts', { name: 'victim', endpoint: node.tcp, syncIntervalSeconds: 3600 });
  await waitFor('victim connected', async () => (await hostStatus('victim')).status === 'connected');
  // The event watcher starts after the first successful sync; give it a moment to attach.
  await new Promise((r) => setTimeout(r, 300));
  await lab().killEngine(nodeName);
  // The lost event stream marks the host disconnected without waiting for the hour-long interval.
  const down = await waitFor('victim disconnected', async () => {
    const h = await hostStatus('victim');
    return h.status !== 'connected' && h;
  });
  assert.ok(['disconnected', 'error'].includes(down.status));
  // Each failed sync counts; the fifth moves the host to error.
  let last: any;
  for (let i = 0; i < 10; i++) {
    const h = await hostStatus('victim');
    if (h.status === 'error') break;
    last = await srv.admin.post('/api/v1/hosts/victim/sync');
    assert.equal(last.status, 200);
    assert.equal(last.body.ok, false);
    assert.match(last.body.error, /host "victim"/);
  }
  const errored = await hostStatus('victim');
  assert.equal(errored.status, 'error');
  assert.equal(errored.consecutiveFailures, 5);
  assert.match(errored.statusReason, /5 consecutive failures/);
  // In error, syncing stops until someone recovers the host.
  const refused = await srv.admin.post('/api/v1/hosts/victim/sync');
  assert.equal(refused.status, 409);
  assert.match(refused.body.message, /recover/);
  const history = (await srv.admin.get('/api/v1/hosts/victim/history')).body as any[];
  const path = history.map((c) => c.to_status).reverse();
  assert.deepEqual(path.slice(-3), ['connected', 'disconnected', 'error']);
  assert.ok(history.every((c) => c.reason));

  await lab().startEngine(nodeName);
  const recovered = await srv.admin.post('/api/v1/hosts/victim/recover');
  assert.equal(recovered.status, 200, JSON.stringify(recovered.body));
  assert.equal(recovered.body.ok, true);
  const back = await hostStatus('victim');
  assert.equal(back.status, 'connected');
  assert.equal(back.consecutiveFailures, 0);
  assert.equal(back.engine.id, node.engineId, 'same engine, same ID after restart');
  await srv.admin.request('DELETE', '/api/v1/hosts/victim');
});

test('maintenance stops syncing and live updates; leaving it syncs again', async () => {
  const shared = st.nodes[0]!;
  await srv.admin.post('/api/v1/hosts', { name: 'quiet', endpoint: shared.unix, syncIntervalSeconds: 3600 });
  await waitFor('quiet connected', async () => (await hostStatus('quiet')).status === 'connected');
  const m = await srv.admin.request('PUT', '/api/v1/hosts/quiet/maintenance', { enabled: true });
  assert.equal(m.status, 200);
  assert.equal(m.body.status, 'maintenance');
  const syncedAt = (await hostStatus('quiet')).lastSyncAt;
  assert.equal((await srv.admin.post('/api/v1/hosts/quiet/sync')).status, 409);
  // A container appears on the engine; in maintenance the inventory must not follow it.
  const name = `maint-${crypto.randomBytes(3).toString('hex')}`;
  const created = await srv.admin.post('/api/v1/hosts/quiet/containers', { name, config: { Image: st.images.busybox1, Cmd: ['true'] } });
  assert.equal(created.status, 201, 'operations still work in maintenance');
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const inv = (await srv.admin.get('/api/v1/hosts/quiet/containers?source=inventory')).body as any[];
    assert.ok(!inv.some((c) => c.Id === created.body.Id), 'no live update in maintenance');
    assert.equal((await hostStatus('quiet')).lastSyncAt, syncedAt, 'no sync in maintenance');
    const off = await srv.admin.request('PUT', '/api/v1/hosts/quiet/maintenance', { enabled: false });
    assert.equal(off.body.status, 'pending');
    await waitFor('synced after maintenance', async () => {
      const inv2 = (await srv.admin.get('/api/v1/hosts/quiet/containers?source=inventory')).body as any[];
      return inv2.some((c) => c.Id === created.body.Id);
    });
    assert.equal((await hostStatus('quiet')).status, 'connected');
  } finally {
    await srv.admin.request('DELETE', `/api/v1/hosts/quiet/containers/${created.body.Id}?force=true`);
    await srv.admin.request('DELETE', '/api/v1/hosts/quiet');
  }
});

test('a host cut off the network (link down) goes disconnected and comes back', async () => {
  await srv.admin.post('/api/v1/hosts', { name: 'island', endpoint: node.tcp, syncIntervalSeconds: 3600 });
  await waitFor('island connected', async () => (await hostStatus('island')).status === 'connected', 30_000);
  await lab().linkDown(nodeName);
  try {
    const started = Date.now();
    const res = await srv.admin.post('/api/v1/hosts/island/sync');
    assert.equal(res.body.ok, false);
    assert.ok(Date.now() - started < 30_000, 'the sync deadline bounds the wait');
    assert.equal((await hostStatus('island')).status, 'disconnected');
  } finally {
    await lab().linkUp(nodeName);
  }
  const ok = await waitFor('island back', async () => {
    const r = await srv.admin.post('/api/v1/hosts/island/sync');
    return r.body.ok && r.body;
  }, 30_000, 500);
  assert.equal(ok.status, 'connected');
  await srv.admin.request('DELETE', '/api/v1/hosts/island');
});
