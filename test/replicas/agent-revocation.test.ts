// An agent revoked on one replica loses its channel on the replica that holds it
// (issue 13): two `flotilla server` processes on one PostgreSQL, a real agent in a
// lab node connected to B, the revocation made through A's REST API.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labState } from '../lab/fixture.ts';
import { postgresSkip, startPostgres } from '../helpers/postgres.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { spawnAgent } from '../helpers/agent-process.ts';
import { ADMIN_PASSWORD, apiClient } from '../helpers/server.ts';
import { signIn } from '../helpers/sign-in.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

test('an agent revoked on replica A is disconnected from replica B within a second, and refused there after', { skip: postgresSkip() }, async () => {
  const lab = await labState();
  const node = lab.nodes[1]!;
  const pgServer = await startPostgres();
  cleanups.push(() => pgServer.stop());
  const dbUrl = await pgServer.createDatabase();
  const start = async (extra: Record<string, string> = {}): Promise<ServerProcess> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-replica-agent-'));
    const p = await startServerProcess({ FLOTILLA_DATA_DIR: dir, FLOTILLA_DATABASE_URL: dbUrl, FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_ENDPOINT: 'false', FLOTILLA_LOG_LEVEL: 'warn', ...extra });
    cleanups.push(() => p.kill(), async () => fs.rmSync(dir, { recursive: true, force: true }));
    return p;
  };
  const A = await start();
  const setup = await apiClient(A.url, undefined).post('/api/v1/setup', { setupCode: A.setupCode, username: 'admin', password: ADMIN_PASSWORD });
  assert.equal(setup.status, 201);
  const B = await start({ FLOTILLA_TEST_ENROLL_TOKEN: '1' });
  const name = `replica-revokee-${process.pid}`;
  const agent = spawnAgent({ netns: node.netns, env: { FLOTILLA_SERVER_ADDR: `${lab.net}.0.1:${B.agentPort}`, FLOTILLA_ENROLL_TOKEN: B.token!, FLOTILLA_HOST_NAME: name, FLOTILLA_DOCKER_HOST: node.unix } });
  cleanups.push(() => agent.kill());
  await agent.seen('connected', 30_000);

  const admin = apiClient(A.url, (await signIn(A.url)).token);
  const disconnected = agent.next('disconnected', 5_000);
  const revoked = await admin.post(`/api/v1/hosts/${name}/revoke`);
  assert.equal(revoked.status, 204, JSON.stringify(revoked.body));
  const at = Date.now();
  await disconnected;
  const ms = Date.now() - at;
  assert.ok(ms < 1000, `disconnected from B ${ms} ms after the revocation on A`);
  // Its backoff brings it back to B, which now refuses the certificate at the handshake.
  await agent.next('reconnecting', 10_000);
  await assert.rejects(agent.next('connected', 3_000), 'B does not take the revoked agent back');
});
