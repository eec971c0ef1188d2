// The canary strategy on the lab swarm, called directly with a context built
// here: a bad version is rolled back at the first step (canary removed, the
// current service back at N on the old spec, the reason recorded); a good one
// rolls out step by step (the split seen in the replicas and in what the stack's
// DNS answers for the Compose name) to the current service, canary removed; an
// abort mid-step rolls back; an in-place update that fails is rolled back by
// the engine; a canary failing its HTTP probe is rolled back; and end to end, a
// stack deploy with strategy canary through the REST API. Services are pinned to one node (the agent host): other suites
// drain node4 meanwhile. dnsrr everywhere (this kernel has no IPVS).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, test } from 'node:test';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from '../swarm/swarm-lab.ts';
import { waitFor } from '../helpers/wait.ts';
import { canary, canaryName, CANARY_OF_LABEL } from '../../src/stacks/strategies/canary.ts';
import type { StrategyContext, StrategyEvent, StrategyOptions } from '../../src/stacks/strategies/types.ts';
import { createService, inspectService, listServices, listTasks, removeService, type ServiceSpec, type SwarmService, type SwarmTask } from '../../src/docker/swarm.ts';
import { createNetwork, removeNetwork } from '../../src/docker/networks.ts';
import type { Swarm } from '../../src/swarm/swarm.ts';
import type { DockerClient } from '../../src/docker/client.ts';

const run = promisify(execFile);
const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await noSharedSwarm();
const STACK = `cn${process.pid % 100000}`;
const N = 4;
const SECOND = 1_000_000_000;

describe('canary strategy', { skip, concurrency: false }, () => {
  let bed: SwarmBed;
  let swarm: Swarm;
  let cluster: string;
  let pinned: { hostname: string; unix: string };
  const network = `${STACK}_default`;
  const on = <T>(fn: (d: DockerClient) => Promise<T>) => swarm.withManager(cluster, fn);

  before(async () => {
    bed = await sharedSwarmBed();
    swarm = bed.srv.handle.swarm;
    cluster = (await swarm.row(bed.cluster)).id;
    const node = bed.hosts.find((h) => h.kind === 'agent')!.node;
    pinned = { hostname: node.hostname, unix: node.unix };
    await on((d) => createNetwork(d, { Name: network, Driver: 'overlay', Labels: { 'com.docker.stack.namespace': STACK } }));
  });
  after(async () => {
    if (!bed) return;
    await removeOurServices();
    await waitFor('the test network removed (its tasks gone)', () => on((d) => removeNetwork(d, network)).then(() => true), 60_000, 500).catch(() => undefined);
    await bed.close();
  });

  /** The current version: 4 httpd tasks serving the image's /www, with the Compose name as alias. */
  function currentSpec(name: string, alias: string): ServiceSpec {
    return {
      Name: name,
      Labels: { 'com.docker.stack.namespace': STACK },
      TaskTemplate: {
        ContainerSpec: { Image: bed.lab.images.busybox1, Command: ['httpd', '-f', '-p', '8080', '-h', '/www'], Env: ['VERSION=1'], StopGracePeriod: SECOND },
        RestartPolicy: { Condition: 'any', Delay: SECOND },
        Placement: { Constraints: [`node.hostname == ${pinned.hostname}`] },
        Networks: [{ Target: network, Aliases: [alias] }],
      },
      Mode: { Replicated: { Replicas: N } },
      UpdateConfig: { Parallelism: 2, Delay: 0, FailureAction: 'pause', Monitor: 3 * SECOND, Order: 'stop-first' },
      EndpointSpec: { Mode: 'dnsrr' },
    };
  }

  /** A new version: the current spec with another image, command or env. */
  function newVersion(svc: SwarmService, change: { image?: string; command?: string[]; env?: string[] }): ServiceSpec {
    const spec = structuredClone(svc.Spec);
    const cs = spec.TaskTemplate.ContainerSpec!;
    if (change.image) cs.Image = change.image;
    if (change.command) cs.Command = change.command;
    if (change.env) cs.Env = change.env;
    return spec;
  }

  const tasksOf = async (id: string): Promise<SwarmTask[]> => (await on((d) => listTasks(d, { filters: { service: [id] } }))).filter((t) => t.ServiceID === id);
  const running = async (id: string) => (await tasksOf(id)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
  /** Every service of this suite (canaries too) removed after each test, so no alias is answered by a service of an earlier test. */
  async function removeOurServices() {
    const mine = await on((d) => listServices(d)).catch(() => [] as SwarmService[]);
    for (const s of mine.filter((x) => x.Spec.Name?.startsWith(STACK))) await on((d) => removeService(d, s.ID)).catch(() => undefined);
  }
  afterEach(removeOurServices);
  const findByName = async (name: string) => (await on((d) => listServices(d, { filters: { name: [name] } }))).find((s) => s.Spec.Name === name);

  /** Creates `<app>_web` at 4 running tasks and gives the context the strategy is called with. */
  async function setUp(app: string, options: StrategyOptions, change: Parameters<typeof newVersion>[1]) {
    const name = `${STACK}${app}_web`;
    const alias = `web${app}`;
    const { ID } = await on((d) => createService(d, currentSpec(name, alias)));
    await waitFor(`${name} at ${N} running tasks`, async () => (await running(ID)).length === N, 90_000, 500);
    const current = await on((d) => inspectService(d, ID));
    const events: StrategyEvent[] = [];
    const gated: string[] = [];
    const abort = new AbortController();
    const ctx: StrategyContext = {
      swarm, cluster, stack: `${STACK}${app}`, name, composeName: alias, spec: newVersion(current, change), current,
      gate: async (_manager, spec, updating) => void gated.push(`${updating ? 'update' : 'create'} ${spec.Name}`),
      emit: (e) => events.push(e), signal: abort.signal, options,
    };
    return { ctx, events, gated, abort, current, name, alias };
  }

  /** After a rollback: no canary, the current service on its old container spec at N replicas, all running. */
  async function assertRolledBack(name: string, current: SwarmService) {
    assert.equal(await findByName(canaryName(name)), undefined, 'the canary is removed');
    const now = await on((d) => inspectService(d, current.ID));
    assert.equal(now.Spec.Mode?.Replicated?.Replicas, N);
    assert.deepEqual(now.Spec.TaskTemplate.ContainerSpec, current.Spec.TaskTemplate.ContainerSpec, 'the old version');
    await waitFor(`${name} back at ${N} running tasks of the old version`, async () => {
      const r = await running(current.ID);
      return r.length === N && r.every((t) => t.Spec.ContainerSpec?.Image === current.Spec.TaskTemplate.ContainerSpec!.Image && t.Spec.ContainerSpec?.Env?.includes('VERSION=1'));
    }, 60_000, 500);
  }

  test('a bad version (its task exits non-zero after a second) is rolled back at the first step', async () => {
    const { ctx, events, gated, current, name } = await setUp('a', { steps: [25, 50, 100], stepSeconds: 3 }, { command: ['sh', '-c', 'sleep 1; exit 3'], env: ['VERSION=2'] });
    const out = await canary(ctx);
    assert.equal(out.outcome, 'rolled_back', out.message);
    assert.equal(out.id, current.ID);
    assert.match(out.message, /^step 25% failed: .*canary task \S+ (failed|exited with code 3|was replaced)/, out.message);
    assert.match(out.message, /canary removed/);
    const steps = events.map((e) => e.step);
    assert.ok(steps.includes('25%') && !steps.includes('50%') && !steps.includes('25% passed'), steps.join(', '));
    assert.deepEqual(steps.slice(-2), ['rolling back', 'rolled back']);
    assert.ok(gated.includes(`create ${canaryName(name)}`), 'the canary was created through the gate');
    await assertRolledBack(name, current);
  });

  test('a good version rolls out step by step: the split by task count, then the current service on the new spec, no canary left', async () => {
    const { ctx, events, current, name, alias } = await setUp('b', { steps: [25, 50, 100], stepSeconds: 6 }, { image: bed.lab.images.busybox2, env: ['VERSION=2'] });
    const client = await on((d) => createService(d, {
      Name: `${STACK}b_client`,
      TaskTemplate: { ContainerSpec: { Image: bed.lab.images.busybox1, Command: ['sleep', '3600'], StopGracePeriod: SECOND }, Placement: { Constraints: [`node.hostname == ${pinned.hostname}`] }, Networks: [{ Target: network }] },
      Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Mode: 'dnsrr' },
    }));
    const clientTask = await waitFor('the client task running', async () => (await running(client.ID))[0], 60_000, 500);
    const splits: Promise<string>[] = [];
    const emit = ctx.emit;
    ctx.emit = (e) => {
      emit(e);
      const m = /^(\d+)% watching$/.exec(e.step);
      // Settled at once, so a failed observation is reported with the others, not as an unhandled rejection.
      if (m) splits.push(observeSplit(name, alias, current.ID, clientTask.Status.ContainerStatus!.ContainerID!).then((s) => `${m[1]}%: ${s}`, (err: Error) => `${m[1]}%: ${err.message}`));
    };
    const out = await canary(ctx);
    assert.equal(out.outcome, 'converged', out.message);
    assert.equal(out.id, current.ID);
    assert.deepEqual(events.map((e) => e.step), ['start', '25%', '25% watching', '25% passed', '50%', '50% watching', '50% passed', '100%', 'converged']);
    assert.deepEqual(await Promise.all(splits), ['25%: canary 1, current 3, dns 4', '50%: canary 2, current 2, dns 4']);
    assert.equal(await findByName(canaryName(name)), undefined, 'no canary left');
    const now = await on((d) => inspectService(d, current.ID));
    assert.equal(now.Spec.Mode?.Replicated?.Replicas, N);
    assert.equal(now.Spec.TaskTemplate.ContainerSpec?.Image, bed.lab.images.busybox2);
    const r = await running(current.ID);
    assert.equal(r.length, N);
    assert.ok(r.every((t) => t.Spec.ContainerSpec?.Image === bed.lab.images.busybox2), 'every task runs the new version');
  });

  /** At a step: the replicas of both services, and how many addresses the Compose name resolves to inside the network, once DNS has settled on exactly the running tasks. */
  async function observeSplit(name: string, alias: string, currentId: string, clientContainer: string): Promise<string> {
    const canarySvc = (await findByName(canaryName(name)))!;
    assert.equal(canarySvc.Spec.Labels?.[CANARY_OF_LABEL], name);
    const replicas = async (id: string) => (await on((d) => inspectService(d, id))).Spec.Mode?.Replicated?.Replicas;
    const [c, cur] = [await replicas(canarySvc.ID), await replicas(currentId)];
    let seen = '';
    const answer = await waitFor('the Compose name resolving to the running tasks of both services', async () => {
      const ips = new Set([...(await running(canarySvc.ID)), ...(await running(currentId))].flatMap(taskIps));
      const dns = await resolve(clientContainer, alias);
      seen = `tasks ${[...ips].sort().join(' ')}, dns ${dns.join(' ')}`;
      return dns.length === ips.size && dns.every((ip) => ips.has(ip)) ? dns : false;
    }, 5_000, 250).catch((err: Error) => assert.fail(`${err.message} (last: ${seen})`));
    return `canary ${c}, current ${cur}, dns ${answer.length}`;
  }

  function taskIps(t: SwarmTask): string[] {
    const attachments = (t.NetworksAttachments ?? []) as { Network: { Spec: { Name: string } }; Addresses: string[] }[];
    return attachments.filter((a) => a.Network.Spec.Name === network).flatMap((a) => a.Addresses.map((x) => x.split('/')[0]!));
  }

  async function resolve(container: string, host: string): Promise<string[]> {
    const { stdout } = await run('docker', ['-H', pinned.unix, 'exec', container, 'nslookup', host], { timeout: 10_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const after = stdout.split(/^Name:/m).slice(1).join('\n');
    return [...after.matchAll(/Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!).sort();
  }

  test('an abort during a step removes the canary and restores the current service', async () => {
    const { ctx, events, abort, current, name } = await setUp('c', { steps: [25, 100], stepSeconds: 30 }, { env: ['VERSION=2'] });
    const emit = ctx.emit;
    ctx.emit = (e) => {
      emit(e);
      if (e.step === '25% watching') setTimeout(() => abort.abort(), 500);
    };
    const started = Date.now();
    const out = await canary(ctx);
    assert.equal(out.outcome, 'aborted', out.message);
    assert.match(out.message, /^aborted at step 25%; canary removed/);
    assert.ok(Date.now() - started < 60_000, 'the abort ended the 30 s watch early');
    assert.equal(events.at(-1)?.step, 'aborted');
    await assertRolledBack(name, current);
  });

  test('an in-place update that fails (the last step) is rolled back by the engine', async () => {
    const { ctx, events, current, name } = await setUp('d', { steps: [100], stepSeconds: 3 }, { command: ['sh', '-c', 'sleep 1; exit 4'], env: ['VERSION=2'] });
    const out = await canary(ctx);
    assert.equal(out.outcome, 'rolled_back', out.message);
    assert.match(out.message, /^step 100% failed: the in-place update ended (paused|rolled_back)/);
    assert.match(out.message, /the in-place update rolled back|rolled_back/);
    assert.ok(events.some((e) => e.step === '100%'));
    await assertRolledBack(name, current);
  });
  test('a canary that answers its HTTP probe with errors is rolled back at the first step', async () => {
    const { ctx, events, current, name } = await setUp('p', { steps: [25, 100], stepSeconds: 3, probe: { port: 8080, path: '/index.html', requests: 5 } },
      { command: ['sh', '-c', 'mkdir -p /empty && exec httpd -f -p 8080 -h /empty'], env: ['VERSION=2'] });
    const out = await canary(ctx);
    assert.equal(out.outcome, 'rolled_back', out.message);
    assert.match(out.message, new RegExp(`^step 25% failed: probe http://${canaryName(name)}:8080/index.html: 5 of 5 requests failed`), out.message);
    assert.ok(!events.some((e) => e.step === '25% probed'));
    process.stdout.write(`# probe rollback: ${out.message}\n`);
    await assertRolledBack(name, current);
  });

  test('end to end: a stack deploy with strategy canary rolls the changed service out through its steps (probe included)', async () => {
    const stack = `${STACK}e`;
    const compose = (image: string, version: string) => `services:
  web:
    image: ${image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    environment:
      VERSION: "${version}"
    deploy:
      replicas: ${N}
      endpoint_mode: dnsrr
      placement:
        constraints: [node.hostname == ${pinned.hostname}]
      update_config:
        parallelism: 2
        delay: 0s
        monitor: 2s
`;
    const deploy = (body: Record<string, unknown>) => bed.admin.post(`${bed.base}/stacks`, { name: stack, resolveImage: 'never', convergeTimeoutSeconds: 120, ...body });
    try {
      const v1 = await deploy({ compose: compose(bed.lab.images.busybox1, '1') });
      assert.equal(v1.body.status, 'succeeded', JSON.stringify(v1.body));
      const v2 = await deploy({ compose: compose(bed.lab.images.busybox2, '2'), strategy: 'canary', strategyOptions: { steps: [50, 100], stepSeconds: 3, probe: { port: 8080, path: '/' } } });
      assert.equal(v2.status, 201, JSON.stringify(v2.body));
      assert.equal(v2.body.status, 'succeeded', JSON.stringify(v2.body));
      assert.equal(v2.body.strategy, 'canary');
      const web = v2.body.outcome.find((o: { name: string }) => o.name === `${stack}_web`);
      assert.equal(web.outcome, 'converged', JSON.stringify(web));
      process.stdout.write(`# canary deploy: ${web.message} (${v2.body.durationMs ?? v2.body.duration_ms} ms)\n`);
      assert.match(web.message, /^canary: canary steps 50% \(probe 10\/10 ok\) passed \(3 s each\); \S+ runs the new version, 4\/4 tasks; canary removed$/);
      assert.equal(await findByName(canaryName(`${stack}_web`)), undefined, 'no canary left');
      const svc = (await findByName(`${stack}_web`))!;
      assert.equal(svc.Spec.TaskTemplate.ContainerSpec?.Image, bed.lab.images.busybox2);
      assert.equal(svc.Spec.Mode?.Replicated?.Replicas, N);
    } finally {
      await bed.admin.request('DELETE', `${bed.base}/stacks/${stack}`).catch(() => undefined);
    }
  });
});
