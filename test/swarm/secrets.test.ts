// Swarm secrets and configs through the REST API on the lab's shared swarm:
// create, inspect (metadata only), remove in use, and rotation with a service
// that reads the content inside its task (docker exec on the node running it).
// The server here logs at trace level into memory, so the test can show that a
// secret's value is in no answer, no audit record and no log line.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type ServerHandle } from '../../src/server.ts';
import { DockerClient } from '../../src/docker/client.ts';
import { runExec } from '../../src/docker/exec.ts';
import { listSwarmData, removeSwarmData } from '../../src/docker/secrets.ts';
import { createService, inspectService, listNodes, listTasks, removeService, type ServiceSpec, type SwarmTask } from '../../src/docker/swarm.ts';
import { createTransport } from '../../src/transports/index.ts';
import { labState, sharedNodes, type LabNode, type LabState } from '../lab/fixture.ts';
import { ADMIN_PASSWORD, apiClient, type Api } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { noSharedSwarm } from './swarm-lab.ts';

const skip = await noSharedSwarm();

/** Every API answer the test received, to search for leaked values. */
const answers: string[] = [];
const logLines: string[] = [];

function recording(api: Api): Api {
  const request: Api['request'] = async (...args) => {
    const res = await api.request(...args);
    answers.push(JSON.stringify(res.body));
    return res;
  };
  return { token: api.token, request, get: (p) => request('GET', p), post: (p, b) => request('POST', p, b ?? {}) };
}

describe('swarm secrets and configs', { skip }, () => {
  let lab: LabState;
  let handle: ServerHandle;
  let dataDir: string;
  let admin: Api;
  let mgr: DockerClient;
  const clients = new Map<string, DockerClient>();
  const base = '/api/v1/swarm/clusters/lab';
  const tag = crypto.randomBytes(3).toString('hex');

  before(async () => {
    lab = await labState();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-secrets-test-'));
    const log = createLogger('trace', { write: (line: string) => void logLines.push(line) });
    handle = await startServer(loadConfig({ FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0', FLOTILLA_LOG_LEVEL: 'trace' }), log);
    const setup = await apiClient(handle.url, undefined).post('/api/v1/setup', { setupCode: handle.setupCode, username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(setup.status, 201);
    admin = recording(apiClient(handle.url, (await handle.store.users.createToken((await handle.store.users.get('admin'))!.id, 'test', undefined)).token));
    const managers = sharedNodes(lab).filter((n) => lab.swarm!.managers.includes(n.name));
    for (const m of managers) assert.equal((await admin.post('/api/v1/hosts', { name: m.name, endpoint: m.unix })).status, 201);
    const reg = await admin.post('/api/v1/swarm/clusters', { host: managers[0]!.name, name: 'lab' });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    mgr = nodeClient(managers[0]!);
  });

  after(async () => {
    // Anything of ours left by a failed test: services first, then what they used.
    const services = await mgr.json<{ ID: string; Spec: { Name: string } }[]>('GET', '/services');
    for (const s of services.filter((x) => x.Spec.Name.includes(tag))) await removeService(mgr, s.ID).catch(() => undefined);
    for (const kind of ['secrets', 'configs'] as const) {
      for (const o of await listSwarmData(mgr, kind)) {
        if (o.Spec.Name.includes(tag)) await waitFor(`${o.Spec.Name} removed`, () => removeSwarmData(mgr, kind, o.ID).then(() => true), 30_000, 500).catch(() => undefined);
      }
    }
    for (const c of clients.values()) await c.close();
    await handle?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function nodeClient(node: LabNode): DockerClient {
    let c = clients.get(node.name);
    if (!c) clients.set(node.name, (c = new DockerClient(createTransport({ url: node.unix, label: node.name }))));
    return c;
  }

  /** The service's running tasks, each with the client of the lab node it runs on. */
  async function runningTasks(serviceId: string): Promise<{ task: SwarmTask; docker: DockerClient; container: string }[]> {
    const nodes = await listNodes(mgr);
    const tasks = (await listTasks(mgr, { filters: { service: [serviceId] } })).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
    return tasks.map((task) => {
      const hostname = nodes.find((n) => n.ID === task.NodeID)!.Description.Hostname;
      const node = lab.nodes.find((n) => n.hostname === hostname)!;
      return { task, docker: nodeClient(node), container: task.Status.ContainerStatus!.ContainerID! };
    });
  }

  /** What each running task of the service reads at `file`, once `replicas` run. */
  async function readInTasks(serviceId: string, replicas: number, file: string): Promise<string[]> {
    const running = await waitFor(`${replicas} tasks running`, async () => {
      const r = await runningTasks(serviceId);
      return r.length === replicas && r;
    }, 90_000, 250);
    return Promise.all(running.map(async (r) => (await runExec(r.docker, r.container, ['cat', file])).stdout));
  }

  function sleeper(name: string, refs: Record<string, unknown>, replicas: number, command = ['sleep', '3600']): ServiceSpec {
    return {
      Name: name,
      TaskTemplate: {
        ContainerSpec: { Image: lab.images.busybox1, Command: command, StopGracePeriod: 1_000_000_000, ...refs },
        RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
      },
      Mode: { Replicated: { Replicas: replicas } },
      UpdateConfig: { Parallelism: 1, Monitor: 2_000_000_000, FailureAction: 'pause', Order: 'stop-first' },
      EndpointSpec: { Mode: 'dnsrr' },
    };
  }

  /** The values in no API answer (the audit log's included), no log line, no file of the server's data directory. */
  async function assertNeverSeen(values: string[]): Promise<void> {
    const audit = await admin.get('/api/v1/audit?limit=1000');
    assert.equal(audit.status, 200);
    assert.ok((audit.body as unknown[]).length > 0);
    const stored = fs.readdirSync(dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile()).map((e) => fs.readFileSync(path.join(e.parentPath, e.name)));
    for (const v of values) {
      for (const form of [v, Buffer.from(v).toString('base64')]) {
        assert.ok(!answers.some((a) => a.includes(form)), `an API answer contains ${form.slice(0, 6)}…`);
        assert.ok(!logLines.some((l) => l.includes(form)), `a log line contains ${form.slice(0, 6)}…`);
        assert.ok(!stored.some((b) => b.includes(form)), `a stored file contains ${form.slice(0, 6)}…`);
      }
    }
    assert.ok(logLines.length > 0, 'the server logged (trace level)');
  }

  test('a rotated secret is read by the service\'s new tasks with the same target; the old one is removed; the value is never shown', async () => {
    const name = `flt-sec-${tag}`;
    const first = `first-value-${crypto.randomBytes(8).toString('hex')}`;
    const second = `second-value-${crypto.randomBytes(8).toString('hex')}`;
    const created = await admin.post(`${base}/secrets`, { name, data: first, labels: { team: 'a' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, name);
    assert.equal(created.body.labels.team, 'a');

    const target = { Name: 'app-token', UID: '1000', GID: '1001', Mode: 0o440 };
    const { ID: serviceId } = await createService(mgr, sleeper(`flt-sec-svc-${tag}`, { Secrets: [{ File: target, SecretID: created.body.id, SecretName: name }] }, 2));
    assert.deepEqual(await readInTasks(serviceId, 2, '/run/secrets/app-token'), [first, first]);

    const inspected = await admin.get(`${base}/secrets/${name}`);
    assert.equal(inspected.status, 200);
    assert.deepEqual(inspected.body.usedBy, [{ id: serviceId, name: `flt-sec-svc-${tag}`, target: { name: 'app-token', uid: '1000', gid: '1001', mode: 0o440 } }]);

    const inUse = await admin.request('DELETE', `${base}/secrets/${name}`);
    assert.equal(inUse.status, 409, JSON.stringify(inUse.body));
    assert.match(inUse.body.message, /in use/);

    const rotated = await admin.post(`${base}/secrets/${created.body.id}/rotate`, { data: second });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.equal(rotated.body.ok, true);
    assert.equal(rotated.body.to.name, `${name}-v2`);
    assert.equal(rotated.body.oldRemoved, true);
    assert.deepEqual(rotated.body.services.map((s: { id: string; status: string }) => [s.id, s.status]), [[serviceId, 'moved']]);

    // The new content inside the new tasks, at the same path with the same owner and mode.
    assert.deepEqual(await readInTasks(serviceId, 2, '/run/secrets/app-token'), [second, second]);
    for (const r of await runningTasks(serviceId)) {
      assert.equal((await runExec(r.docker, r.container, ['stat', '-c', '%u %g %a', '/run/secrets/app-token'])).stdout.trim(), '1000 1001 440');
    }
    const spec = (await inspectService(mgr, serviceId)).Spec.TaskTemplate.ContainerSpec as unknown as { Secrets: { File: unknown; SecretID: string; SecretName: string }[] };
    assert.deepEqual(spec.Secrets, [{ File: target, SecretID: rotated.body.to.id, SecretName: `${name}-v2` }]);
    const states = (await listTasks(mgr, { filters: { service: [serviceId] } })).map((t) => t.Status.State);
    assert.ok(!states.some((s) => s === 'failed' || s === 'rejected'), `no task failed: ${states.join(',')}`);

    assert.equal((await admin.get(`${base}/secrets/${created.body.id}`)).status, 404, 'the old secret is gone');
    const next = await admin.get(`${base}/secrets/${name}-v2`);
    assert.equal(next.body.rotation.of, name);
    assert.equal(next.body.rotation.version, 2);
    assert.equal(next.body.labels.team, 'a', 'user labels carry over');

    await removeService(mgr, serviceId);
    await waitFor('the rotated secret removable', async () => (await admin.request('DELETE', `${base}/secrets/${name}-v2`)).status === 200, 30_000, 500);

    const audit = await admin.get('/api/v1/audit?limit=50');
    const actions = (audit.body as { action: string }[]).map((a) => a.action);
    for (const a of ['swarm.secret.create', 'swarm.secret.rotate', 'swarm.secret.remove']) assert.ok(actions.includes(a), `${a} audited`);
    await assertNeverSeen([first, second]);
  });

  test('a rotation whose new tasks fail rolls the service back to the old secret, removes the new one and says what was done', async (t) => {
    const name = `flt-bad-${tag}`;
    const created = await admin.post(`${base}/secrets`, { name, data: 'good' });
    assert.equal(created.status, 201);
    // The task only stays up while the secret says "good".
    const cmd = ['sh', '-c', 'grep -q good /run/secrets/check && exec sleep 3600; exit 3'];
    const { ID: serviceId } = await createService(mgr, sleeper(`flt-bad-svc-${tag}`, { Secrets: [{ File: { Name: 'check', UID: '0', GID: '0', Mode: 0o400 }, SecretID: created.body.id, SecretName: name }] }, 1, cmd));
    await readInTasks(serviceId, 1, '/run/secrets/check');

    const res = await admin.post(`${base}/secrets/${name}/rotate`, { data: Buffer.from('bad').toString('base64'), encoding: 'base64', timeoutSeconds: 60 });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.error, 'rotation_failed');
    const r = res.body.rotation;
    assert.equal(r.ok, false);
    assert.equal(r.services[0].status, 'rolled_back', JSON.stringify(r));
    assert.equal(r.oldRemoved, false);
    assert.equal(r.newRemoved, true);
    assert.match(r.error, /flt-bad-svc/);
    t.diagnostic(`failed rotation: ${r.error}`);

    const spec = (await inspectService(mgr, serviceId)).Spec.TaskTemplate.ContainerSpec as unknown as { Secrets: { SecretID: string }[] };
    assert.equal(spec.Secrets[0]!.SecretID, created.body.id, 'the service uses the old secret again');
    assert.deepEqual(await readInTasks(serviceId, 1, '/run/secrets/check'), ['good']);
    assert.equal((await admin.get(`${base}/secrets/${name}`)).status, 200, 'the old secret is kept');
    assert.equal((await admin.get(`${base}/secrets/${name}-v2`)).status, 404, 'the new one was removed again');
    await removeService(mgr, serviceId);
  });

  test('configs: created, inspected without their content, rotated with progress; a viewer may not create', async () => {
    const name = `flt-cfg-${tag}`;
    const first = `listen=${crypto.randomBytes(6).toString('hex')}\n`;
    const second = `listen=${crypto.randomBytes(6).toString('hex')}\n`;
    const created = await admin.post(`${base}/configs`, { name, data: Buffer.from(first).toString('base64'), encoding: 'base64' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const inspected = await admin.get(`${base}/configs/${created.body.id}`);
    assert.equal(inspected.status, 200);
    assert.equal(JSON.stringify(inspected.body).includes('Data'), false, 'no Data field');
    assert.ok((await admin.get(`${base}/configs`)).body.some((c: { name: string }) => c.name === name));

    const viewer = recording(await userWithRole('viewer'));
    const denied = await viewer.post(`${base}/configs`, { name: `${name}-x`, data: 'x' });
    assert.equal(denied.status, 403);
    assert.equal((await viewer.get(`${base}/configs/${name}`)).status, 200, 'viewers read metadata');
    const bad = await admin.post(`${base}/configs`, { name: '-bad name', data: 'x' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.field, /name/);

    const target = { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o444 };
    const { ID: serviceId } = await createService(mgr, sleeper(`flt-cfg-svc-${tag}`, { Configs: [{ File: target, ConfigID: created.body.id, ConfigName: name }] }, 1));
    assert.deepEqual(await readInTasks(serviceId, 1, '/etc/app.conf'), [first]);

    const res = await fetch(`${handle.url}${base}/configs/${name}/rotate?progress=true`, {
      method: 'POST', headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ data: second }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /ndjson/);
    const text = await res.text();
    answers.push(text);
    const events = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; phase?: string; ok?: boolean; to?: { name: string } });
    assert.deepEqual([...new Set(events.map((e) => e.type))], ['created', 'service', 'removed', 'result'], text);
    assert.ok(events.some((e) => e.phase === 'converging'));
    assert.ok(events.some((e) => e.phase === 'moved'));
    const result = events.at(-1)!;
    assert.equal(result.ok, true, text);
    assert.equal(result.to!.name, `${name}-v2`);

    assert.deepEqual(await readInTasks(serviceId, 1, '/etc/app.conf'), [second]);
    const spec = (await inspectService(mgr, serviceId)).Spec.TaskTemplate.ContainerSpec as unknown as { Configs: { File: unknown; ConfigName: string }[] };
    assert.deepEqual(spec.Configs.map((c) => [c.File, c.ConfigName]), [[target, `${name}-v2`]]);
    assert.equal((await admin.get(`${base}/configs/${name}`)).status, 404);
    await removeService(mgr, serviceId);
    await assertNeverSeen([first, second]);
  });

  async function userWithRole(role: 'viewer' | 'operator'): Promise<Api> {
    const username = `${role}-${crypto.randomBytes(3).toString('hex')}`;
    const created = await admin.post('/api/v1/users', { username, password: ADMIN_PASSWORD, role });
    assert.equal(created.status, 201);
    return apiClient(handle.url, (await handle.store.users.createToken(created.body.id, 'test', undefined)).token);
  }
});
