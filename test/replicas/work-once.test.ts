// Work done once across replicas (issue 13): two server replicas on one
// PostgreSQL and four direct hosts (lab engines): every scheduled sync of a
// host is made by one replica only (counted in each replica's own log), the
// hosts are shared out between the two, and when one replica is SIGKILLed the
// other takes its hosts over within the replica TTL and a rescan.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { labState, sharedNodes, type LabState } from '../lab/fixture.ts';
import { ADMIN_PASSWORD, apiClient, type Api } from '../helpers/server.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { signIn } from '../helpers/sign-in.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { copyReplicaKeys } from '../helpers/replica-keys.ts';

const skip = postgresSkip() || (process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message));
const TAG = `wo${process.pid % 100000}`;

/** Every "host synced" line the replica logs, by host name. */
function countSyncs(server: ServerProcess): Map<string, number> {
  const counts = new Map<string, number>();
  readline.createInterface({ input: server.child.stdout! }).on('line', (line) => {
    if (!line.includes('"host synced"')) return;
    try {
      const host = (JSON.parse(line) as { host: string }).host;
      counts.set(host, (counts.get(host) ?? 0) + 1);
    } catch { /* not a log line */ }
  });
  return counts;
}

describe('replicas: each host is synced by one replica', { skip, concurrency: false }, () => {
  let st: LabState;
  let postgres: TestPostgres;
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  const syncs: Map<string, number>[] = [];
  let admin: Api;
  const hosts: string[] = [];

  before(async () => {
    st = await labState();
    postgres = await startPostgres();
    const dbUrl = await postgres.createDatabase();
    for (let i = 0; i < 2; i++) dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), `replica-${i}-`)));
    const env = (dir: string) => ({ FLOTILLA_DATA_DIR: dir, FLOTILLA_DATABASE_URL: dbUrl, FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0', FLOTILLA_REPLICA_TTL: '3s', FLOTILLA_LOG_LEVEL: 'debug' });
    servers.push(await startServerProcess(env(dirs[0]!)));
    syncs.push(countSyncs(servers[0]!));
    assert.equal((await apiClient(servers[0]!.url, undefined).post('/api/v1/setup', { setupCode: servers[0]!.setupCode, username: 'admin', password: ADMIN_PASSWORD })).status, 201);
    copyReplicaKeys(dirs[0]!, dirs[1]!);
    servers.push(await startServerProcess(env(dirs[1]!)));
    syncs.push(countSyncs(servers[1]!));
    admin = await signIn(servers[0]!.url);
    // Both replicas must see each other before the hosts come, or the first may take them all (alone, it owns everything).
    await new Promise((r) => setTimeout(r, 2500));
    for (const [i, node] of sharedNodes(st).slice(0, 4).entries()) {
      const name = `${TAG}-h${i}`;
      hosts.push(name);
      const res = await admin.post('/api/v1/hosts', { name, endpoint: node.unix, syncIntervalSeconds: 30 });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
  });

  after(async () => {
    for (const s of servers) await s.kill();
    await postgres?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test('every host is synced, each by one replica only, and both replicas have a share', async () => {
    await waitFor('every host synced twice', async () => hosts.every((h) => (syncs[0]!.get(h) ?? 0) + (syncs[1]!.get(h) ?? 0) >= 2), 90_000, 500);
    const byReplica = hosts.map((h) => [syncs[0]!.get(h) ?? 0, syncs[1]!.get(h) ?? 0] as const);
    process.stdout.write(`# syncs per host [replica A, replica B]: ${JSON.stringify(byReplica)}\n`);
    for (const [i, [x, y]] of byReplica.entries()) assert.ok(x === 0 || y === 0, `${hosts[i]} synced by both replicas: ${x} and ${y}`);
    assert.ok(byReplica.some(([x]) => x > 0) && byReplica.some(([, y]) => y > 0), 'the hosts are shared out between the replicas');
    for (const h of hosts) assert.equal((await admin.get(`/api/v1/hosts/${h}`)).body.status, 'connected');
  });

  test('a replica SIGKILLed: the other takes its hosts over', async () => {
    const bHosts = hosts.filter((h) => (syncs[1]!.get(h) ?? 0) > 0);
    const before = new Map(bHosts.map((h) => [h, syncs[0]!.get(h) ?? 0]));
    await servers[1]!.kill('SIGKILL');
    const started = Date.now();
    await waitFor('replica A syncing the killed replica\'s hosts', async () => bHosts.every((h) => (syncs[0]!.get(h) ?? 0) > before.get(h)!), 60_000, 250);
    process.stdout.write(`# ${bHosts.length} hosts taken over ${Date.now() - started} ms after their replica was killed (TTL 3 s, rescan 10 s)\n`);
  });
});
