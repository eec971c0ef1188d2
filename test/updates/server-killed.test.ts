// The server is killed (SIGKILL) in the middle of a container update on an agent
// host (issue 11): the agent finishes the update — or rolls it back — on its own
// while the server is down, keeps the steps and the outcome in its offline
// journal, and when the server is back on the same data directory the agent
// reconnects and reports them; the run goes from `running` to its outcome with
// its steps, and the audit has the record.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DockerClient } from '../../src/docker/client.ts';
import { createContainer, inspectContainer, startContainer } from '../../src/docker/containers.ts';
import { inspectImage } from '../../src/docker/images.ts';
import { labState, sharedNodes, type LabNode, type LabState } from '../lab/fixture.ts';
import { registryDigest } from '../lab/http.ts';
import { ADMIN_PASSWORD, apiClient, type Api } from '../helpers/server.ts';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.ts';
import { readNdjson } from '../helpers/ndjson.ts';
import { waitFor } from '../helpers/wait.ts';
import { buildUpdateImages, clientOf, containersNamed, removeContainersNamed, uniqueName, type UpdateImages, type Variant } from './update-images.ts';

const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message);
const HOST = 'killed-server-agent';

interface JournalLine { seq: number; kind: string; dataJson: string }

/** The agent's offline journal on disk: what it has not had acknowledged yet. */
function agentJournal(dir: string): JournalLine[] {
  const file = path.join(dir, 'offline-journal.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"seq"')).flatMap((l) => {
    try {
      return [JSON.parse(l) as JournalLine];
    } catch {
      return []; // a torn last line while the agent writes
    }
  });
}

function journaledOutcome(dir: string, updateId: string): { outcome: string; reason?: string; newContainerId?: string } | undefined {
  for (const e of agentJournal(dir)) {
    if (e.kind !== 'update_outcome') continue;
    const data = JSON.parse(e.dataJson) as { updateId: string; result: { outcome: string; reason?: string; newContainerId?: string } };
    if (data.updateId === updateId) return data.result;
  }
  return undefined;
}

/** Signs in as the admin and creates an API token (stored in the data dir: it outlives a server restart). */
async function adminToken(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
  assert.equal(res.status, 200);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const tok = await fetch(`${url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-flotilla-csrf': csrfToken }, body: JSON.stringify({ name: 'server-killed' }) });
  assert.equal(tok.status, 201);
  return ((await tok.json()) as { token: string }).token;
}

describe('the server killed mid-update on an agent host', { skip, concurrency: false }, () => {
  let st: LabState;
  let node: LabNode;
  let docker: DockerClient;
  let images: UpdateImages;
  let dataDir: string;
  let serverEnv: Record<string, string>;
  let server: ServerProcess | undefined;
  let agent: AgentProcess | undefined;
  let token: string;
  const names: string[] = [];
  const admin = (): Api => apiClient(server!.url, token);

  before(async () => {
    st = await labState();
    const shared = sharedNodes(st);
    node = shared.find((n) => n.name === 'node5') ?? shared.at(-1)!;
    docker = clientOf(node);
    // Built on the agent's own engine: the old image is there already, the new one is pulled by the update.
    images = await buildUpdateImages(st, node, [node]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'srv-killed-'));
    // The agent port must survive the restart: the agent dials the same address again.
    serverEnv = { FLOTILLA_DATA_DIR: dataDir, FLOTILLA_AGENT_PORT: String(await freePort()), FLOTILLA_DOCKER_PORT: '0', FLOTILLA_AGENT_HEARTBEAT: '1s' };
    server = await startServerProcess({ ...serverEnv, FLOTILLA_TEST_ENROLL_TOKEN: '1' });
    const setup = await apiClient(server.url, undefined).post('/api/v1/setup', { setupCode: server.setupCode, username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(setup.status, 201, JSON.stringify(setup.body));
    token = await adminToken(server.url);
    agent = spawnAgent({
      netns: node.netns,
      env: {
        FLOTILLA_SERVER_ADDR: `${st.net}.0.1:${serverEnv.FLOTILLA_AGENT_PORT}`, FLOTILLA_HOST_NAME: HOST, FLOTILLA_DOCKER_HOST: node.unix,
        FLOTILLA_ENROLL_TOKEN: server.token!,
      },
    });
    await agent.seen('connected', 60_000);
  });

  after(async () => {
    const errors: unknown[] = [];
    const steps: Array<() => Promise<unknown>> = [
      async () => agent?.kill(), // (restartServer resumes it before anything can fail)
      async () => server?.kill(),
      ...names.map((n) => () => removeContainersNamed(docker, n)),
      async () => images?.remove(),
      async () => docker?.close(),
      async () => dataDir && fs.rmSync(dataDir, { recursive: true, force: true }),
      async () => agent && fs.rmSync(agent.dir, { recursive: true, force: true }),
    ];
    for (const fn of steps) await fn().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  });

  /**
   * Runs a container from `healthy1` under a tag, re-publishes the tag as `next`, starts the update
   * through REST with NDJSON progress, and SIGKILLs the server when the stream shows the create step
   * (the old container is stopped and renamed to its backup by then). Answers the run's id.
   */
  async function startUpdateAndKillServer(next: Variant) {
    const name = uniqueName('killed');
    names.push(name);
    const tag = `${name}`;
    const ref = await images.publish('healthy1', tag);
    const { Id: oldId } = await createContainer(docker, name, { Image: ref, Env: ['KEEP=me'] });
    await startContainer(docker, oldId);
    const old = await inspectContainer(docker, oldId);
    await images.publish(next, tag);
    const nextImageId = (await inspectImage(docker, images.ref(next))).Id;
    assert.notEqual(nextImageId, old.Image);

    const res = await fetch(`${server!.url}/api/v1/hosts/${HOST}/containers/${name}/update?progress=true`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
    });
    assert.equal(res.status, 200);
    let runId: string | undefined;
    const seen: string[] = [];
    try {
      for await (const line of readNdjson(res)) {
        assert.notEqual(line.type, 'error', JSON.stringify(line));
        assert.notEqual(line.type, 'done', `the update ended before the server was killed: ${JSON.stringify(line)}`);
        if (line.type !== 'step' || line.progress) continue;
        seen.push(line.step);
        if (runId === undefined) {
          const runs = (await admin().get(`/api/v1/updates/runs?host=${HOST}&container=${name}`)).body as { id: string; status: string }[];
          assert.equal(runs.length, 1, JSON.stringify(runs));
          assert.equal(runs[0]!.status, 'running');
          runId = runs[0]!.id;
        }
        if (line.step === 'create') {
          await server!.kill('SIGKILL');
          break;
        }
      }
    } catch (err) {
      // Only the stream the kill cut off is expected here.
      if (server!.child.signalCode !== 'SIGKILL') throw err;
    }
    assert.equal(server!.child.signalCode, 'SIGKILL', `the stream ended before the create step; steps seen: ${seen.join(', ')}`);
    assert.ok(runId);
    assert.deepEqual(seen.filter((s) => ['stop', 'rename'].includes(s)), ['stop', 'rename'], `steps seen before the kill: ${seen.join(', ')}`);
    return { name, tag, old, nextImageId, runId };
  }

  /**
   * Starts the server again on the same data dir and waits for the agent to come back to it. The agent
   * is held (SIGSTOP) until the server is up, so the run can be seen as the restarted server found it.
   */
  async function restartServer(runId: string): Promise<void> {
    const pid = agent!.child.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      server = await startServerProcess(serverEnv);
      const r = await admin().get(`/api/v1/updates/runs/${runId}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'running', 'a run on an agent host stays running over a server restart: the agent finishes it');
      const h = await admin().get(`/api/v1/hosts/${HOST}`);
      assert.equal(h.body.status, 'disconnected', `the agent has no channel to the new server yet: ${JSON.stringify(h.body)}`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await agent!.next('connected', 120_000);
  }

  type Run = { id: string; status: string; reason: string | null; newContainerId: string | null; toDigest: string | null; finishedAt: string | null; steps: { step: string; message: string }[] };

  async function runOutcome(runId: string): Promise<Run> {
    return waitFor(`run ${runId} completed after the agent reported`, async () => {
      const r = await admin().get(`/api/v1/updates/runs/${runId}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.status !== 'running' && (r.body as Run);
    }, 60_000, 200);
  }

  async function auditRecord(name: string, runId: string) {
    const target = encodeURIComponent(`${HOST}/${name}`);
    return waitFor('the audit record of the update', async () => {
      const rows = (await admin().get(`/api/v1/audit?action=${encodeURIComponent('container update')}&target=${target}`)).body as { result: string; detail: string | null }[];
      const mine = rows.filter((r) => (JSON.parse(r.detail ?? '{}') as { update?: string }).update === runId);
      return mine.length > 0 && mine;
    }, 30_000, 200);
  }

  test('the agent finishes the update while the server is down and reports it when the server is back', async () => {
    const { name, tag, old, nextImageId, runId } = await startUpdateAndKillServer('healthy2');

    // The server is gone; the agent goes on: the new container runs from the new image, the backup is removed.
    const now = await waitFor('the new container running and the backup removed', async () => {
      const c = await inspectContainer(docker, name);
      const all = await containersNamed(docker, name);
      return c.Id !== old.Id && c.Image === nextImageId && c.State.Running && all.length === 1 && c;
    }, 90_000, 200);
    assert.ok(now.Config.Env?.includes('KEEP=me'), 'configuration kept');
    const journaled = await waitFor('the outcome in the agent journal', async () => journaledOutcome(agent!.dir, runId), 30_000, 100);
    assert.equal(journaled.outcome, 'updated', JSON.stringify(journaled));
    assert.equal(journaled.newContainerId, now.Id);

    await restartServer(runId);
    const run = await runOutcome(runId);
    assert.equal(run.status, 'updated', JSON.stringify(run));
    assert.equal(run.reason, null);
    assert.equal(run.newContainerId, now.Id);
    assert.equal(run.toDigest, await registryDigest(st.registry.lab, images.repository.slice(images.repository.indexOf('/') + 1), tag));
    assert.ok(run.finishedAt);
    const steps = run.steps.map((s) => s.step);
    for (const s of ['inspect', 'pull', 'stop', 'rename', 'create', 'start', 'health', 'cleanup']) assert.ok(steps.includes(s), `step ${s} in ${steps.join(', ')}`);
    assert.ok(!steps.includes('rollback'), steps.join(', '));

    const audit = await auditRecord(name, runId);
    assert.equal(audit.length, 1, 'one audit record');
    assert.equal(audit[0]!.result, 'ok');
    assert.equal((JSON.parse(audit[0]!.detail!) as { outcome: string }).outcome, 'updated');
    await waitFor('the agent journal cleared after the server stored it', async () => journaledOutcome(agent!.dir, runId) === undefined, 30_000, 200);
  });

  test('the agent rolls back a failing update while the server is down and reports it when the server is back', async () => {
    const { name, old, runId } = await startUpdateAndKillServer('unhealthy');

    // The new container fails its healthcheck: the old one is back under its name, running, and alone.
    await waitFor('the old container back under its name, running, the new one removed', async () => {
      const c = await inspectContainer(docker, name);
      const all = await containersNamed(docker, name);
      return c.Id === old.Id && c.State.Running && all.length === 1 && all[0] === name;
    }, 90_000, 200);
    const journaled = await waitFor('the outcome in the agent journal', async () => journaledOutcome(agent!.dir, runId), 30_000, 100);
    assert.equal(journaled.outcome, 'rolled_back', JSON.stringify(journaled));
    const now = await inspectContainer(docker, name);
    assert.equal(now.Image, old.Image, 'the old image');
    assert.equal(now.State.Running, true);

    await restartServer(runId);
    const run = await runOutcome(runId);
    assert.equal(run.status, 'rolled_back', JSON.stringify(run));
    assert.match(run.reason ?? '', /health/i);
    const steps = run.steps.map((s) => s.step);
    for (const s of ['inspect', 'pull', 'stop', 'rename', 'create', 'start', 'health', 'rollback', 'restored']) assert.ok(steps.includes(s), `step ${s} in ${steps.join(', ')}`);
    assert.ok(!steps.includes('cleanup'), steps.join(', '));

    const audit = await auditRecord(name, runId);
    assert.equal(audit.length, 1, 'one audit record');
    assert.equal(audit[0]!.result, 'error');
    const detail = JSON.parse(audit[0]!.detail!) as { outcome: string; reason: string };
    assert.equal(detail.outcome, 'rolled_back');
    assert.match(detail.reason, /health/i);
    await waitFor('the agent journal cleared after the server stored it', async () => journaledOutcome(agent!.dir, runId) === undefined, 30_000, 200);
  });
});
