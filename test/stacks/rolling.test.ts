// The rolling strategy's safety net on the lab swarm: an update whose new
// tasks fail their healthcheck pauses in the engine, and Flotilla rolls it back
// with the engine's rollback — the old tasks run again and the deployment says
// why; and a deploy aborted while it converges is rolled back the same way.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from '../swarm/swarm-lab.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await noSharedSwarm();
const STACK = `rl${process.pid % 100000}`;

function compose(image: string, pin: string, health: 'good' | 'bad' | 'slow', marker: string): string {
  const test = health === 'bad' ? '["CMD", "false"]' : '["CMD-SHELL", "test -f /tmp/up"]';
  const start = health === 'slow' ? 'sleep 30; ' : '';
  return `services:
  web:
    image: ${image}
    command: ["sh", "-c", "${start}touch /tmp/up; echo ${marker}; sleep 3600"]
    healthcheck:
      test: ${test}
      interval: 1s
      timeout: 1s
      retries: 2
      start_period: 0s
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement:
        constraints: [node.hostname == ${pin}]
      update_config:
        parallelism: 1
        delay: 0s
        monitor: 4s
        failure_action: pause
        order: stop-first
`;
}

describe('rolling deploys roll back on failure', { skip, concurrency: false }, () => {
  let bed: SwarmBed;
  let pin: string;
  const deploy = (c: string) => bed.admin.post(`${bed.base}/stacks`, { name: STACK, compose: c, resolveImage: 'never', convergeTimeoutSeconds: 90 });
  const webCommand = async () => ((await bed.admin.get(`${bed.base}/services/${STACK}_web`)).body as { spec: { TaskTemplate: { ContainerSpec: { Args?: string[]; Command?: string[] } } } }).spec.TaskTemplate.ContainerSpec;

  before(async () => {
    bed = await sharedSwarmBed();
    pin = bed.hosts.find((h) => h.kind === 'agent')!.node.hostname;
  });
  after(async () => {
    await bed?.admin.request('DELETE', `${bed.base}/stacks/${STACK}`).catch(() => undefined);
    await bed?.close();
  });

  test('a new version whose healthcheck fails is rolled back automatically; the old tasks run again', async () => {
    const v1 = await deploy(compose(bed.lab.images.busybox1, pin, 'good', 'v1'));
    assert.equal(v1.body.status, 'succeeded', JSON.stringify(v1.body));
    const v2 = await deploy(compose(bed.lab.images.busybox1, pin, 'bad', 'v2'));
    assert.equal(v2.status, 201);
    assert.equal(v2.body.status, 'rolled_back', JSON.stringify(v2.body));
    const web = v2.body.outcome.find((o: { name: string }) => o.name === `${STACK}_web`);
    assert.equal(web.outcome, 'rolled_back');
    assert.match(web.message, /rolled back \(paused/);
    assert.match(v2.body.error, /paused/);
    assert.match(JSON.stringify(await webCommand()), /echo v1/, 'the previous spec is the service\'s spec again');
    const state = await waitFor('both old tasks running', async () => {
      const s = (await bed.admin.get(`${bed.base}/stacks/${STACK}`)).body;
      return s.services[0].running === 2 && s;
    }, 60_000, 500);
    assert.equal(state.services[0].desired, 2);
  });

  test('a deploy aborted while it converges is rolled back and recorded as aborted', async () => {
    const started = deploy(compose(bed.lab.images.busybox1, pin, 'slow', 'v3'));
    const running = await waitFor('the deploy running', async () => {
      const list = (await bed.admin.get(`${bed.base}/deployments?stack=${STACK}`)).body as { id: string; status: string }[];
      return list.find((d) => d.status === 'running');
    }, 30_000, 100);
    // Let the update begin before aborting it.
    await waitFor('the update under way', async () => JSON.stringify(await webCommand()).includes('v3'), 30_000, 200);
    const abort = await bed.admin.post(`${bed.base}/deployments/${running.id}/abort`);
    assert.equal(abort.status, 202, JSON.stringify(abort.body));
    const done = await started;
    assert.equal(done.body.status, 'aborted', JSON.stringify(done.body));
    process.stdout.write(`# aborted deploy: ${JSON.stringify(done.body.outcome)}\n`);
    assert.match(JSON.stringify(await webCommand()), /echo v1/);
    const again = await bed.admin.post(`${bed.base}/deployments/${running.id}/abort`);
    assert.equal(again.status, 409, 'a finished deploy cannot be aborted');
  });
});
