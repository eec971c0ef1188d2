// An agent host's syncs share one pipelined tunnel, kept open between syncs:
// two syncs open one tunnel (they used to open one per parallel call, about six,
// and again each interval). Streams and other calls still get tunnels of their
// own, so a followed log does not hold up a sync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { duplexPair, type Duplex } from 'node:stream';
import { Connections } from '../../src/fleet/connections.ts';
import { takeSnapshot } from '../../src/fleet/engine-snapshot.ts';
import type { AgentLink } from '../../src/fleet/agent-link.ts';
import type { HostRow } from '../../src/store/hosts-repo.ts';
import type { SecretBox } from '../../src/store/secret-box.ts';

/** A tiny engine behind fake agent tunnels: answers a sync's calls, holds `logs?follow=1` open. */
function fakeAgent() {
  const held: http.ServerResponse[] = [];
  const engine = http.createServer({ keepAliveTimeout: 0 }, (req, res) => {
    const path = (req.url ?? '').replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '');
    if (path.endsWith('/logs')) {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
      res.write('hello\n');
      held.push(res);
      return;
    }
    const body = ({
      '/version': { Version: '24.0.0', ApiVersion: '1.43', MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64' },
      '/info': { ID: 'FAKE', Name: 'fake', ServerVersion: '24.0.0', NCPU: 1, MemTotal: 1 },
      '/containers/json': [], '/images/json': [], '/networks': [], '/volumes': { Volumes: [], Warnings: [] },
    } as Record<string, unknown>)[path];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json', 'api-version': '1.43' }).end(JSON.stringify(body ?? { message: 'no' }));
  });
  let opened = 0;
  const link: AgentLink = {
    isConnected: () => true,
    openTunnel: async () => {
      opened++;
      const [server, agent]: [Duplex, Duplex] = duplexPair();
      engine.emit('connection', agent);
      return server;
    },
  };
  return { link, opened: () => opened, endHeld: () => held.forEach((r) => r.end()) };
}

const host = { id: 'h1', name: 'agent-1', kind: 'agent', endpoint: 'agent://h1', tls_sealed: null, sync_interval_s: 60 } as HostRow;

test('two syncs of an agent host open one tunnel between them', async () => {
  const agent = fakeAgent();
  const connections = new Connections({} as SecretBox);
  connections.agents = agent.link;
  try {
    const docker = connections.clientFor(host);
    await takeSnapshot(docker, AbortSignal.timeout(5000));
    await takeSnapshot(docker, AbortSignal.timeout(5000));
    assert.equal(agent.opened(), 1, `tunnels opened for two syncs: ${agent.opened()}`);
  } finally {
    await connections.closeAll();
  }
});

test('a followed log has a tunnel of its own and does not hold up a sync', async () => {
  const agent = fakeAgent();
  const connections = new Connections({} as SecretBox);
  connections.agents = agent.link;
  try {
    const docker = connections.clientFor(host);
    await takeSnapshot(docker, AbortSignal.timeout(5000));
    const logs = await docker.stream('GET', '/containers/abc/logs', { query: { follow: 1, stdout: 1 } });
    const snap = await takeSnapshot(docker, AbortSignal.timeout(5000));
    assert.equal(snap.facts.engineId, 'FAKE');
    assert.equal(agent.opened(), 2, 'the sync tunnel and the log stream');
    agent.endHeld();
    logs.body.destroy();
  } finally {
    await connections.closeAll();
  }
});
