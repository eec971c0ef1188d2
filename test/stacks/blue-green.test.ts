// The blue-green strategy on the lab swarm, called directly with a context we
// build (a dnsrr busybox httpd as blue, serving its version under the Compose
// name on an attachable overlay of ours): a client in the network keeps asking
// the name through the switch and counts failed requests; a green failing its
// healthcheck or its probe is rolled back with blue untouched; an abort midway
// puts blue back; and once through the REST deploy with strategy blue-green.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DockerClient } from '../../src/docker/client.ts';
import { createNetwork, listNetworks, removeNetwork } from '../../src/docker/networks.ts';
import { getServiceLogs } from '../../src/docker/service-logs.ts';
import { createService, inspectService, listServices, removeService, type ServiceSpec, type SwarmService } from '../../src/docker/swarm.ts';
import { NotFound } from '../../src/errors.ts';
import type { Swarm } from '../../src/swarm/swarm.ts';
import { SwarmServices } from '../../src/swarm/services.ts';
import { waitForConvergence } from '../../src/swarm/service-convergence.ts';
import { STACK_LABEL } from '../../src/swarm/stacks.ts';
import { blueGreen, GREEN_SUFFIX } from '../../src/stacks/strategies/blue-green.ts';
import { STRATEGIES } from '../../src/stacks/strategies/index.ts';
import { runProbe } from '../../src/stacks/strategies/probe.ts';
import type { StrategyContext, StrategyEvent, StrategyOptions } from '../../src/stacks/strategies/types.ts';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from '../swarm/swarm-lab.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await noSharedSwarm();
const STACK = `bg${process.pid % 100000}`;
const E2E_STACK = `${STACK}e`;
const NET = `${STACK}_net`;
const S = 1_000_000_000;

describe('blue-green strategy', { skip, concurrency: false }, () => {
  let bed: SwarmBed;
  let swarm: Swarm;
  let cluster: string;
  let pin: string;
  let images: { busybox1: string; busybox2: string };
  const on = <T>(fn: (d: DockerClient) => Promise<T>) => swarm.withManager(cluster, fn);

  /** busybox httpd answering `version` on :8080 under the alias `alias`, pinned to one node. */
  function webSpec(alias: string, image: string, version: string, opts: { health?: 'ok' | 'fail'; name?: string } = {}): ServiceSpec {
    return {
      Name: opts.name ?? `${STACK}_${alias}`,
      Labels: { [STACK_LABEL]: STACK },
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Command: ['sh', '-c', `mkdir -p /www && echo ${version} > /www/index.html && exec httpd -f -p 8080 -h /www`],
          Healthcheck: { Test: opts.health === 'fail' ? ['CMD', 'false'] : ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1'], Interval: S, Timeout: 2 * S, Retries: 2, StartPeriod: S },
          StopGracePeriod: 2 * S,
        },
        RestartPolicy: { Condition: 'any', Delay: S },
        Placement: { Constraints: [`node.hostname == ${pin}`] },
        Networks: [{ Target: NET, Aliases: [alias] }],
      },
      Mode: { Replicated: { Replicas: 2 } },
      UpdateConfig: { Parallelism: 1, Delay: 0, Order: 'start-first', FailureAction: 'pause' },
      EndpointSpec: { Mode: 'dnsrr' },
    };
  }

  async function createBlue(alias: string): Promise<SwarmService> {
    const { ID } = await on((d) => createService(d, webSpec(alias, images.busybox1, 'v1')));
    const done = await waitForConvergence(swarm, new SwarmServices(swarm), cluster, ID, { timeoutMs: 90_000 });
    assert.equal(done.outcome, 'converged', done.message);
    return on((d) => inspectService(d, ID));
  }

  function context(current: SwarmService, alias: string, spec: ServiceSpec, options: StrategyOptions, extra: Partial<StrategyContext> = {}): StrategyContext & { events: StrategyEvent[] } {
    const events: StrategyEvent[] = [];
    return {
      swarm, cluster, stack: STACK, name: `${STACK}_${alias}`, composeName: alias, spec, current, options,
      gate: async () => undefined, emit: (e) => events.push(e), signal: new AbortController().signal, events, ...extra,
    };
  }

  const probeAlias = (alias: string, requests = 3) => runProbe({ swarm, cluster, network: NET, url: `http://${alias}:8080/`, requests, timeoutMs: 60_000, image: images.busybox1, constraints: [`node.hostname == ${pin}`] });
  const exists = (name: string) => on((d) => inspectService(d, name)).then(() => true, (err: unknown) => (err instanceof NotFound ? false : Promise.reject(err)));

  before(async () => {
    bed = await sharedSwarmBed();
    swarm = bed.srv.handle.swarm;
    cluster = (await swarm.row(bed.cluster)).id;
    pin = bed.hosts.find((h) => h.kind === 'agent')!.node.hostname;
    images = bed.lab.images;
    await on((d) => createNetwork(d, { Name: NET, Driver: 'overlay', Attachable: true, Labels: { [STACK_LABEL]: STACK } }));
  });

  after(async () => {
    if (!bed) return;
    const mine = (s: SwarmService) => [STACK, E2E_STACK].includes(s.Spec.Labels?.[STACK_LABEL] ?? '') || s.Spec.Name?.startsWith(`${STACK}_`);
    for (const s of (await on((d) => listServices(d))).filter(mine)) await on((d) => removeService(d, s.ID)).catch(() => undefined);
    // A network is removable once the tasks on it are gone.
    await waitFor('our networks removed', async () => {
      const nets = (await on((d) => listNetworks(d))).filter((n) => n.Name === NET || n.Name.startsWith(`${E2E_STACK}_`));
      for (const n of nets) await on((d) => removeNetwork(d, n.Id)).catch(() => undefined);
      return nets.length === 0;
    }, 60_000, 1000);
    await bed.close();
  });

  test('a client in the network keeps getting answers through the switch, from v1 to v2', async () => {
    const blue = await createBlue('web');
    // The stack's client: asks "web" in a loop and prints each answer.
    const client = await on((d) => createService(d, {
      Name: `${STACK}_client`, Labels: { [STACK_LABEL]: STACK },
      TaskTemplate: {
        ContainerSpec: { Image: images.busybox1, Command: ['sh', '-c', 'while true; do if o=$(timeout 2 wget -q -O - http://web:8080/ 2>&1); then echo "ans $o"; else echo "fail $(echo $o | tr "\\n" " ")"; fi; sleep 0.05; done'] },
        Placement: { Constraints: [`node.hostname == ${pin}`] }, Networks: [{ Target: NET }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    }));
    const answers = async () => (await on((d) => getServiceLogs(d, client.ID, { tail: 'all' }))).map((l) => l.line.trim()).filter((l) => /^(ans|fail)/.test(l));
    await waitFor('the client answered by v1', async () => (await answers()).filter((l) => l === 'ans v1').length >= 10, 60_000, 500);
    const ctx = context(blue, 'web', webSpec('web', images.busybox2, 'v2'), { probe: { port: 8080, path: '/', requests: 5 } });
    const started = Date.now();
    const out = await blueGreen(ctx);
    const took = Date.now() - started;
    assert.equal(out.outcome, 'converged', `${out.message}\n${JSON.stringify(ctx.events)}`);
    assert.equal(out.id, blue.ID);
    await waitFor('a few answers after the fold-back', async () => (await answers()).slice(-10).every((l) => l === 'ans v2'), 30_000, 500);
    const seen = await answers();
    const failed = seen.filter((l) => l.startsWith('fail'));
    const lastV1 = seen.lastIndexOf('ans v1');
    process.stdout.write(`# blue-green switch: ${failed.length} failed of ${seen.length} requests during ${Math.round(took / 1000)} s (steps: ${ctx.events.map((e) => e.step).join(' → ')})${failed.length ? `; ${[...new Set(failed)].slice(0, 3).join(' | ')}` : ''}\n`);
    assert.equal(failed.length, 0, 'no request failed during the switch');
    assert.equal(seen[0], 'ans v1');
    assert.ok(seen.slice(lastV1 + 1).every((l) => l === 'ans v2'), 'after the last v1 answer, only v2 answers');
    const folded = await on((d) => inspectService(d, blue.ID));
    assert.match(folded.Spec.TaskTemplate.ContainerSpec!.Image, /busybox:2/);
    assert.deepEqual(folded.Spec.Mode, { Replicated: { Replicas: 2 } });
    assert.equal(await exists(`${STACK}_web${GREEN_SUFFIX}`), false, 'green is removed after the fold-back');
    await on((d) => removeService(d, client.ID));
  });

  test('a green whose healthcheck fails is rolled back: blue untouched and answering, green removed', async () => {
    const blue = await createBlue('bad');
    const ctx = context(blue, 'bad', webSpec('bad', images.busybox2, 'v2', { health: 'fail' }), {});
    const out = await blueGreen(ctx);
    assert.equal(out.outcome, 'rolled_back', out.message);
    assert.match(out.message, /unhealthy|task/i);
    assert.match(out.message, /untouched/);
    const now = await on((d) => inspectService(d, blue.ID));
    assert.equal(now.Version.Index, blue.Version.Index, 'blue was never written');
    assert.equal(await exists(`${STACK}_bad${GREEN_SUFFIX}`), false);
    const r = await probeAlias('bad');
    assert.equal(r.ok, 3, JSON.stringify(r));
  });

  test('a green that fails its HTTP probe is rolled back', async () => {
    const blue = await createBlue('probed');
    const ctx = context(blue, 'probed', webSpec('probed', images.busybox2, 'v2'), { probe: { port: 8080, path: '/missing', requests: 3 } });
    const out = await blueGreen(ctx);
    assert.equal(out.outcome, 'rolled_back', out.message);
    assert.match(out.message, /probe .*3 of 3 requests failed.*404/);
    assert.equal((await on((d) => inspectService(d, blue.ID))).Version.Index, blue.Version.Index);
    assert.equal(await exists(`${STACK}_probed${GREEN_SUFFIX}`), false);
  });

  test('an abort midway puts blue back: alias and replicas restored, green removed', async () => {
    const blue = await createBlue('abort');
    const abort = new AbortController();
    const ctx = context(blue, 'abort', webSpec('abort', images.busybox2, 'v2'), {}, { signal: abort.signal });
    // Abort once the switch is done (blue scaled to 0): the hardest point to come back from.
    const emit = ctx.emit;
    ctx.emit = (e) => {
      emit(e);
      if (e.step === 'switched') abort.abort(new Error('aborted by the test'));
    };
    const out = await blueGreen(ctx);
    assert.equal(out.outcome, 'aborted', `${out.message}\n${JSON.stringify(ctx.events)}`);
    assert.match(out.message, /restored/);
    const now = await on((d) => inspectService(d, blue.ID));
    assert.deepEqual(now.Spec.Mode, blue.Spec.Mode);
    assert.deepEqual(now.Spec.TaskTemplate.Networks, blue.Spec.TaskTemplate.Networks);
    assert.equal(await exists(`${STACK}_abort${GREEN_SUFFIX}`), false);
    const r = await probeAlias('abort');
    assert.equal(r.ok, 3, JSON.stringify(r));
  });

  test('instant rollback while the old version is kept: blue kept running gets the name back, green removed', async () => {
    const blue = await createBlue('keep');
    const abort = new AbortController();
    const ctx = context(blue, 'keep', webSpec('keep', images.busybox2, 'v2'), { keepOldRunning: true, removeOldAfterSeconds: 300 }, { signal: abort.signal });
    let abortedAt = 0;
    const emit = ctx.emit;
    ctx.emit = (e) => {
      emit(e);
      if (e.step !== 'holding-old') return;
      abortedAt = Date.now();
      abort.abort(new Error('rolled back by the test'));
    };
    const out = await blueGreen(ctx);
    assert.equal(out.outcome, 'aborted', `${out.message}\n${JSON.stringify(ctx.events)}`);
    process.stdout.write(`# blue-green rollback from the hold: ${Math.round((Date.now() - abortedAt) / 100) / 10} s until blue served alone again\n`);
    const now = await on((d) => inspectService(d, blue.ID));
    assert.deepEqual(now.Spec.TaskTemplate.Networks, blue.Spec.TaskTemplate.Networks, 'blue carries the alias again');
    assert.equal(await exists(`${STACK}_keep${GREEN_SUFFIX}`), false);
    const r = await probeAlias('keep');
    assert.equal(r.ok, 3, JSON.stringify(r));
  });

  test('a stack deploy with strategy blue-green switches through the REST API', async () => {
    assert.equal(STRATEGIES['blue-green'], blueGreen, 'the server knows the strategy');
    const compose = (version: string, image: string) => `services:
  web:
    image: ${image}
    command: ["sh", "-c", "mkdir -p /www && echo ${version} > /www/index.html && exec httpd -f -p 8080 -h /www"]
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"]
      interval: 1s
      retries: 2
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement:
        constraints: [node.hostname == ${pin}]
`;
    const deploy = (body: Record<string, unknown>) => bed.admin.post(`${bed.base}/stacks`, { name: E2E_STACK, resolveImage: 'never', convergeTimeoutSeconds: 90, ...body });
    const v1 = await deploy({ compose: compose('v1', images.busybox1) });
    assert.equal(v1.body.status, 'succeeded', JSON.stringify(v1.body));
    const v2 = await deploy({ compose: compose('v2', images.busybox2), strategy: 'blue-green', strategyOptions: { probe: { port: 8080, path: '/' } } });
    assert.equal(v2.body.status, 'succeeded', JSON.stringify(v2.body));
    const web = v2.body.outcome.find((o: { name: string }) => o.name === `${E2E_STACK}_web`);
    assert.match(web.message, /^blue-green: .*took over "web"/);
    const svc = await on((d) => inspectService(d, `${E2E_STACK}_web`));
    assert.match(svc.Spec.TaskTemplate.ContainerSpec!.Image, /busybox:2/);
    assert.equal(await exists(`${E2E_STACK}_web${GREEN_SUFFIX}`), false);
    assert.equal((await bed.admin.request('DELETE', `${bed.base}/stacks/${E2E_STACK}`)).status < 300, true);
  });
});
