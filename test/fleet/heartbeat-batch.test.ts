// Agent heartbeats are stored in batches: many agents beating within a second
// cost one UPDATE (per 500 hosts), not a read and a write each; every host still
// gets its own last-seen time and agent version.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { openStore, type Store } from '../../src/store/index.ts';
import { HostsRepo, type HostRow } from '../../src/store/hosts-repo.ts';
import { AgentHosts, type AgentHostsDeps } from '../../src/fleet/agent-hosts.ts';
import { NO_AGENT_FIELDS } from '../../src/fleet/fleet.ts';
import { createLogger } from '../../src/log.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../helpers/postgres.ts';

/** Counts the statements that reach the database, by kind. */
class StatementCounter implements KyselyPlugin {
  readonly counts = { select: 0, update: 0 };
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'SelectQueryNode') this.counts.select++;
    if (args.node.kind === 'UpdateQueryNode') this.counts.update++;
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

function agentRow(i: number): HostRow {
  const at = new Date().toISOString();
  return {
    id: crypto.randomUUID(), name: `beat-${i}`, kind: 'agent', endpoint: `agent://beat-${i}`, tls_sealed: null, environment: 'production',
    environment_label: null, sync_interval_s: 60, status: 'connected', status_reason: null, status_changed_at: at, consecutive_failures: 0,
    last_seen_at: null, last_sync_at: null, last_sync_ms: null, engine_id: `ENGINE-${i}`, engine_version: null, api_version: null,
    os: null, arch: null, cpus: null, memory_bytes: null, engine_name: null, containers_total: 0, containers_running: 0, created_at: at,
    ...NO_AGENT_FIELDS,
  } as HostRow;
}

async function withAgents(n: number, fn: (store: Store, hosts: HostRow[], counter: StatementCounter) => Promise<void>, databaseUrl?: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-beats-'));
  const store = await openStore({ dataDir: dir, databaseUrl });
  try {
    const hosts = Array.from({ length: n }, (_, i) => agentRow(i));
    for (const h of hosts) await store.hosts.insert(h);
    const counter = new StatementCounter();
    await fn({ ...store, hosts: new HostsRepo(store.db.withPlugin(counter)) }, hosts, counter);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const beat = (i: number) => ({ agentVersion: `1.2.${i % 3}`, features: ['list', `f${i % 2}`], engineId: `ENGINE-${i}`, sentAtMs: Date.now(), autonomous: false });

async function thousandsInThreeStatements(databaseUrl?: string) {
  await withAgents(1200, async (store, hosts, counter) => {
    const agents = new AgentHosts({ store, log: createLogger('silent') } as unknown as AgentHostsDeps);
    await Promise.all(hosts.map((h, i) => agents.heartbeat(h, beat(i))));
    assert.deepEqual(counter.counts, { select: 0, update: 0 }, 'nothing written while the batch fills');
    await agents.flushHeartbeats();
    assert.deepEqual(counter.counts, { select: 0, update: 3 });
    const rows = new Map((await store.hosts.list()).map((r) => [r.id, r]));
    hosts.forEach((h, i) => {
      const row = rows.get(h.id)!;
      assert.ok(row.last_seen_at, `${h.name} has a last-seen time`);
      assert.equal(row.agent_version, `1.2.${i % 3}`);
      assert.deepEqual(JSON.parse(row.agent_features!), ['list', `f${i % 2}`]);
    });
  }, databaseUrl);
}

test('heartbeats of 1,200 agents are stored with one UPDATE per 500 hosts, no reads', () => thousandsInThreeStatements());

describe('on PostgreSQL', { skip: postgresSkip() }, () => {
  let server: TestPostgres;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => server?.stop());
  test('heartbeats of 1,200 agents: one UPDATE per 500 hosts there too', async () => thousandsInThreeStatements(await server.createDatabase()));
});

test('the batch is written by itself within a second or so; a host beating twice is written once, with its latest', async () => {
  await withAgents(3, async (store, hosts, counter) => {
    const agents = new AgentHosts({ store, log: createLogger('silent') } as unknown as AgentHostsDeps);
    await agents.heartbeat(hosts[0]!, beat(0));
    await agents.heartbeat(hosts[0]!, { ...beat(0), agentVersion: '9.9.9' });
    const deadline = Date.now() + 5000;
    while (counter.counts.update === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(counter.counts.update, 1);
    assert.equal((await store.hosts.find(hosts[0]!.id))!.agent_version, '9.9.9');
  });
});

test('a changed engine ID is still read, stored and checked once, not on every beat', async () => {
  await withAgents(1, async (store, [host], counter) => {
    const agents = new AgentHosts({ store, log: createLogger('silent') } as unknown as AgentHostsDeps);
    for (let i = 0; i < 3; i++) await agents.heartbeat(host!, { ...beat(0), engineId: 'ENGINE-NEW' });
    await agents.flushHeartbeats();
    assert.equal((await store.hosts.find(host!.id))!.engine_id, 'ENGINE-NEW');
    // One read of the host and one of other hosts with that engine (the overlap check), then none for the next beats.
    assert.ok(counter.counts.select <= 3, `reads: ${counter.counts.select}`);
    assert.equal(counter.counts.update, 2, 'engine_id once, the heartbeat batch once');
  });
});
