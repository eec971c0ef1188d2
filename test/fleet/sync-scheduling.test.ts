// Sync scheduling: hosts sync concurrently with bounded parallelism, so a host
// that never answers holds only its own slot while the others sync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { labState } from '../lab/fixture.ts';
import { startTestServer, waitFor } from '../helpers/server.ts';

test('a host that never answers does not delay the others', async () => {
  const lab = await labState();
  // Accepts connections and never answers: the worst kind of host.
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const srv = await startTestServer({ FLOTILLA_SYNC_CONCURRENCY: '2', FLOTILLA_SYNC_TIMEOUT: '30' });
  try {
    const port = (silent.address() as net.AddressInfo).port;
    // Registered first, so it takes a slot first.
    await srv.admin.post('/api/v1/hosts', { name: 'stuck', endpoint: `tcp://127.0.0.1:${port}` });
    for (const [i, node] of lab.nodes.slice(0, 3).entries()) {
      await srv.admin.post('/api/v1/hosts', { name: `ok${i}`, endpoint: node.unix });
    }
    const started = Date.now();
    await waitFor('the three real hosts connected', async () => {
      const hosts = (await srv.admin.get('/api/v1/hosts')).body as any[];
      return hosts.filter((h) => h.name.startsWith('ok')).every((h) => h.status === 'connected');
    }, 25_000);
    const tookMs = Date.now() - started;
    const stuck = (await srv.admin.get('/api/v1/hosts/stuck')).body;
    assert.equal(stuck.status, 'pending', 'the silent host is still inside its 30 s deadline');
    assert.ok(tookMs < 25_000, `real hosts synced in ${tookMs} ms while one host hung`);
  } finally {
    await srv.close();
    silent.close();
  }
});
