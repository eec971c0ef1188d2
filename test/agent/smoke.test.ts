import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labState } from '../lab/fixture.ts';
import { startTestServer, waitFor } from '../helpers/server.ts';
import { startAgent } from '../../src/agent/main.ts';
import { loadAgentConfig } from '../../src/agent/config.ts';
import { createLogger } from '../../src/log.ts';

test('smoke: agent enrolls, connects, and the server lists containers through the tunnel', async () => {
  const lab = await labState();
  const srv = await startTestServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-'));
  const { token } = await srv.handle.cluster!.createEnrollToken({ kind: 'single', uses: 1, ttlMs: 60_000, label: null, createdBy: null });
  const config = loadAgentConfig({
    FLOTILLA_SERVER_ADDR: `127.0.0.1:${srv.handle.cluster!.port}`, FLOTILLA_ENROLL_TOKEN: token, FLOTILLA_HOST_NAME: 'smoke',
    FLOTILLA_CLUSTER_DIR: dir, FLOTILLA_DOCKER_HOST: lab.nodes[0]!.unix,
  });
  const agent = await startAgent(config, createLogger(process.env.FLOTILLA_TEST_LOG ?? 'silent'));
  try {
    const host = await waitFor('agent host connected', async () => {
      const h = (await srv.admin.get('/api/v1/hosts/smoke')).body;
      return h.status === 'connected' && h;
    });
    assert.equal(host.kind, 'agent');
    const list = await srv.admin.get('/api/v1/hosts/smoke/containers');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const synced = await waitFor('synced', async () => {
      const h = (await srv.admin.get('/api/v1/hosts/smoke')).body;
      return h.engine.id && h;
    });
    assert.equal(synced.engine.id, lab.nodes[0]!.engineId);
  } finally {
    await agent.stop();
    await srv.close();
  }
});
