// The agent image (deploy/agent.Dockerfile, built for the lab by
// test/lab/agent-image.ts) as a real container on a lab engine: it enrolls,
// holds its channel (and says so through its HEALTHCHECK), runs unprivileged,
// and a newer image on the same identity volume comes back as the same host
// with the new version — what agent self-update (SPEC S15) will do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { agentImageChanges, ensureAgentImages } from '../lab/agent-image.ts';
import { dockerApi, request, type HttpTarget } from '../lab/http.ts';
import { agentLab } from '../helpers/agents.ts';
import { waitFor } from '../helpers/wait.ts';

const AUTH_HEADER = { 'X-Registry-Auth': Buffer.from('{}').toString('base64') };

interface ContainerState {
  Status: string;
  Running: boolean;
  ExitCode: number;
  Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] };
}

test('the agent image enrolls from a container, turns healthy, and a newer image on the same volume is the same host with the new version', async (t) => {
  const tBuild = Date.now();
  const images = await ensureAgentImages();
  const buildMs = Date.now() - tBuild;
  const al = await agentLab();
  const node = al.lab.nodes.find((n) => n.name === 'node5') ?? al.lab.nodes.find((n) => n.name === 'node4');
  assert.ok(node, 'this test runs on node5 (or node4): run node test/lab/cli.ts up 5');
  const engine: HttpTarget = { socketPath: new URL(node.unix).pathname };
  const tag = `x4-${process.pid}-${Date.now().toString(36)}`;
  const hostName = `agent-img-${tag}`;
  const volume = `flotilla-agent-${tag}`;
  const created: string[] = [];
  const pulled: string[] = [];

  const pull = async (ref: string) => {
    const i = ref.lastIndexOf(':');
    await dockerApi(engine, 'POST', `/images/create?fromImage=${encodeURIComponent(ref.slice(0, i))}&tag=${encodeURIComponent(ref.slice(i + 1))}`, { headers: AUTH_HEADER, timeoutMs: 300_000 });
    pulled.push(ref);
  };
  const inspect = async (id: string) => dockerApi<{ Id: string; State: ContainerState; Config: Record<string, any> }>(engine, 'GET', `/containers/${id}/json`);
  const logsOf = async (id: string) => (await request(engine, 'GET', `/containers/${id}/logs?stdout=1&stderr=1&tail=40`)).body.toString('latin1').replace(/[\x00-\x08]/g, '');
  /** `docker run -d --label flotilla.self=true -v <socket>:/var/run/docker.sock -v <volume>:/data/cluster -e … <image>`, as the README's line. */
  const runAgent = async (image: string, token: string) => {
    const name = `${tag}-${created.length + 1}`;
    const res = await dockerApi<{ Id: string }>(engine, 'POST', `/containers/create?name=${name}`, { json: {
      Image: image,
      Labels: { 'flotilla.self': 'true', 'flotilla.test': tag },
      Env: [`FLOTILLA_SERVER_ADDR=${al.serverAddr}`, `FLOTILLA_ENROLL_TOKEN=${token}`, `FLOTILLA_HOST_NAME=${hostName}`],
      HostConfig: { Binds: [`${engine.socketPath}:/var/run/docker.sock`, `${volume}:/data/cluster`] },
    } });
    created.push(res.Id);
    await dockerApi(engine, 'POST', `/containers/${res.Id}/start`);
    return res.Id;
  };
  const waitHealthy = (id: string) => waitFor(`container ${id.slice(0, 12)} healthy`, async () => {
    const s = (await inspect(id)).State;
    if (!s.Running) throw new Error(`exited ${s.ExitCode}: ${await logsOf(id)}`);
    if (s.Health?.Status === 'unhealthy') throw new Error(`unhealthy: ${JSON.stringify(s.Health.Log?.at(-1))}`);
    return s.Health?.Status === 'healthy' && s.Health;
  }, 90_000, 500);
  const waitHost = (version: string) => waitFor(`${hostName} connected with agent ${version}`, async () => {
    const h = (await al.srv.admin.get(`/api/v1/hosts/${hostName}`)).body;
    return h?.status === 'connected' && h.agent?.version === version && h;
  }, 60_000, 100);

  t.after(async () => {
    for (const id of created) await dockerApi(engine, 'DELETE', `/containers/${id}?force=1&v=1`).catch(() => {});
    await dockerApi(engine, 'DELETE', `/volumes/${volume}`).catch(() => {});
    for (const ref of pulled) await dockerApi(engine, 'DELETE', `/images/${encodeURIComponent(ref)}`).catch(() => {});
    await al.srv.close();
  });

  // The image is what the Dockerfile's final stage says.
  await pull(images.v1);
  const image = await dockerApi<{ Config: { Labels: Record<string, string>; Env: string[]; Entrypoint: string[]; Cmd: string[]; Healthcheck: { Test: string[] }; WorkingDir: string } }>(engine, 'GET', `/images/${encodeURIComponent(images.v1)}/json`);
  assert.equal(image.Config.Labels['flotilla.self'], 'true');
  assert.equal(image.Config.Labels['org.opencontainers.image.version'], images.v1Version);
  assert.ok(image.Config.Env.includes(`FLOTILLA_VERSION=${images.v1Version}`), image.Config.Env.join(' '));
  const declared = agentImageChanges(images.v1Version).changes;
  assert.deepEqual(image.Config.Entrypoint, JSON.parse(declared.find((c) => c.startsWith('ENTRYPOINT '))!.slice(11)));
  assert.deepEqual(image.Config.Cmd, ['agent']);
  assert.deepEqual(image.Config.Healthcheck.Test, ['CMD', ...JSON.parse(/CMD (\[.*\])$/.exec(declared.find((c) => c.startsWith('HEALTHCHECK '))!)![1]!)]);
  assert.equal(image.Config.WorkingDir, '/app');

  // Bad settings stop the container at once, naming the variable (exit 2, as a wrong flag).
  for (const [env, named] of [[['FLOTILLA_AGENT_USER=nobody'], 'FLOTILLA_AGENT_USER'], [[], 'FLOTILLA_SERVER_ADDR']] as const) {
    const bad: { Id: string } = await dockerApi<{ Id: string }>(engine, 'POST', `/containers/create?name=${tag}-bad-${named.toLowerCase()}`, { json: {
      Image: images.v1, Env: [...env], Labels: { 'flotilla.test': tag }, HostConfig: { Binds: [`${engine.socketPath}:/var/run/docker.sock`] },
    } });
    created.push(bad.Id);
    await dockerApi(engine, 'POST', `/containers/${bad.Id}/start`);
    const exited: ContainerState = await waitFor(`${named} refused`, async (): Promise<ContainerState | false> => {
      const s: ContainerState = (await inspect(bad.Id)).State;
      return !s.Running && s.Status === 'exited' && s;
    }, 30_000, 200);
    assert.equal(exited.ExitCode, 2, await logsOf(bad.Id));
    assert.match(await logsOf(bad.Id), new RegExp(`${named}: `));
  }

  // v1: enrolls and connects from the container.
  await dockerApi(engine, 'POST', '/volumes/create', { json: { Name: volume, Labels: { 'flotilla.test': tag } } });
  const token = await al.token();
  const tStart = Date.now();
  const c1 = await runAgent(images.v1, token);
  const host1 = await waitHost(images.v1Version).catch(async (err: Error) => {
    throw new Error(`${err.message}\ncontainer log:\n${await logsOf(c1)}`);
  });
  const enrollMs = Date.now() - tStart;
  assert.equal(host1.kind, 'agent');
  const engineSeen = await waitFor('the engine synced through the agent', async () => {
    const h = (await al.srv.admin.get(`/api/v1/hosts/${hostName}`)).body;
    return h.engine.id && h;
  }, 30_000, 200);
  assert.equal(engineSeen.engine.id, node.engineId);
  const health1 = await waitHealthy(c1);
  const healthyMs = Date.now() - tStart;
  assert.match(health1.Log!.at(-1)!.Output, /^healthy: connected to the server/);

  // It gave up root: the agent runs as the image's node user (uid 1000), with the socket's group.
  const top = await dockerApi<{ Titles: string[]; Processes: string[][] }>(engine, 'GET', `/containers/${c1}/top?ps_args=${encodeURIComponent('-o pid,uid,gid,args')}`);
  const uid = top.Titles.indexOf('UID');
  const agentProc = top.Processes.find((p) => p.at(-1)!.includes('agent-entrypoint.ts'));
  assert.ok(agentProc, JSON.stringify(top));
  assert.equal(agentProc[uid], '1000', JSON.stringify(top));
  const status = fs.readFileSync(`/proc/${agentProc[top.Titles.indexOf('PID')]}/status`, 'utf8');
  assert.ok(status.split('\n').find((l) => l.startsWith('Groups:'))!.split(/\s+/).includes(String(fs.statSync(engine.socketPath).gid)), status);

  // The server sees the agent's own container, labelled for self-update.
  const self = await waitFor('the agent container in the host inventory', async () => {
    const list = (await al.srv.admin.get(`/api/v1/hosts/${hostName}/containers`)).body as { Id: string; Labels: Record<string, string> }[];
    return Array.isArray(list) && list.find((c) => c.Id === c1);
  }, 20_000, 200);
  assert.equal(self.Labels['flotilla.self'], 'true');

  // Stopped: the server loses it, the channel file says so.
  await dockerApi(engine, 'POST', `/containers/${c1}/stop?t=10`, { timeoutMs: 30_000 });
  assert.equal((await inspect(c1)).State.ExitCode, 0, await logsOf(c1));
  await waitFor(`${hostName} disconnected`, async () => (await al.srv.admin.get(`/api/v1/hosts/${hostName}`)).body.status === 'disconnected', 30_000, 100);
  await dockerApi(engine, 'DELETE', `/containers/${c1}`);

  // v2 on the same volume: the same host (no second enrollment: the token is spent), now reporting v2.
  await pull(images.v2);
  const tStart2 = Date.now();
  const c2 = await runAgent(images.v2, token);
  const host2 = await waitHost(images.v2Version).catch(async (err: Error) => {
    throw new Error(`${err.message}\ncontainer log:\n${await logsOf(c2)}`);
  });
  const reconnectMs = Date.now() - tStart2;
  assert.equal(host2.id, host1.id);
  const hosts = (await al.srv.admin.get('/api/v1/hosts')).body as { name: string }[];
  assert.equal(hosts.filter((h) => h.name.startsWith(hostName)).length, 1, JSON.stringify(hosts.map((h) => h.name)));
  assert.match(await logsOf(c2), /already enrolled/);
  await waitHealthy(c2);
  const healthy2Ms = Date.now() - tStart2;

  t.diagnostic(`image build (or registry check when cached): ${(buildMs / 1000).toFixed(1)} s`);
  t.diagnostic(`v1: container start → enrolled and connected ${(enrollMs / 1000).toFixed(1)} s, → healthy ${(healthyMs / 1000).toFixed(1)} s`);
  t.diagnostic(`v2: container start → reconnected as the same host ${(reconnectMs / 1000).toFixed(1)} s, → healthy ${(healthy2Ms / 1000).toFixed(1)} s`);
});
