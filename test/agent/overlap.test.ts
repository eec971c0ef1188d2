// Engine-ID de-duplication (SPEC S8): an agent and a direct endpoint on the
// same engine are noticed; the direct one is flagged and not scanned twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentLab } from '../helpers/agents.ts';
import { waitFor } from '../helpers/server.ts';

test('the same engine through an agent and a direct endpoint: source_overlap, duplicate not scanned', async () => {
  const al = await agentLab();
  const node = al.lab.nodes[1]!;
  const agent = al.startAgent(node, 'ovl-agent', { FLOTILLA_ENROLL_TOKEN: await al.token() });
  const overlaps: unknown[] = [];
  al.srv.handle.fleet.bus.on('overlap', (n) => overlaps.push(n));
  try {
    const agentHost = await al.waitConnected('ovl-agent');
    assert.equal((await al.srv.admin.post('/api/v1/hosts', { name: 'ovl-direct', endpoint: node.unix })).status, 201);
    const direct = await waitFor('direct flagged', async () => {
      const h = (await al.srv.admin.get('/api/v1/hosts/ovl-direct')).body;
      return h.duplicateOf && h;
    });
    assert.equal(direct.duplicateOf, agentHost.id, 'the agent source is kept');
    assert.equal(direct.engine.id, node.engineId);
    const events = (await al.srv.admin.get('/api/v1/events?type=flotilla')).body as any[];
    const ev = events.find((e) => e.action === 'source_overlap');
    assert.ok(ev, 'a source_overlap event is stored');
    assert.equal(ev.data.duplicate.name, 'ovl-direct');
    assert.equal(ev.data.kept.name, 'ovl-agent');
    assert.ok(overlaps.length >= 1, 'and published live');
    const sync = await al.srv.admin.post('/api/v1/hosts/ovl-direct/sync');
    assert.equal(sync.status, 409);
    assert.match(sync.body.message, /same engine as "ovl-agent"/);
    // Removing the agent host lets the direct one be scanned again.
    await agent.kill();
    await al.srv.admin.request('DELETE', '/api/v1/hosts/ovl-agent');
    const again = await al.srv.admin.post('/api/v1/hosts/ovl-direct/sync');
    assert.equal(again.body.ok, true);
    assert.equal((await al.srv.admin.get('/api/v1/hosts/ovl-direct')).body.duplicateOf, null);
  } finally {
    await agent.kill();
    await al.srv.close();
  }
});
