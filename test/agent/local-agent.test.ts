// The run command's local engine becomes an agent host that enrolled itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labState } from '../lab/fixture.ts';
import { startTestServer, waitFor } from '../helpers/server.ts';

test('FLOTILLA_LOCAL_ENGINE with the agent endpoint on: the local engine is an agent host, kept across restarts', async () => {
  const lab = await labState();
  const endpoint = lab.nodes[0]!.unix;
  const srv = await startTestServer({ FLOTILLA_LOCAL_ENGINE: endpoint });
  const local = await waitFor('local agent connected', async () => {
    const h = (await srv.admin.get('/api/v1/hosts/local')).body;
    return h.status === 'connected' && h.engine.id && h;
  });
  assert.equal(local.kind, 'agent');
  assert.equal(local.engine.id, lab.nodes[0]!.engineId);
  assert.equal((await srv.admin.get('/api/v1/hosts/local/containers')).status, 200);
  await srv.handle.close();
  // Same data directory again: the saved identity is reused, no second host appears.
  const { startServer } = await import('../../src/server.ts');
  const { loadConfig } = await import('../../src/config.ts');
  const again = await startServer(loadConfig({ FLOTILLA_DATA_DIR: srv.dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0', FLOTILLA_LOG_LEVEL: 'silent', FLOTILLA_LOCAL_ENGINE: endpoint }));
  try {
    await waitFor('reconnected', async () => (await again.store.hosts.find('local'))?.status === 'connected');
    assert.equal((await again.store.hosts.list()).length, 1);
  } finally {
    await again.close();
    await srv.close();
  }
});
