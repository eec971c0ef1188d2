// Native stack deploys on the lab swarm, checked with the real docker CLI:
// a multi-service stack (overlay network, a secret, a config, a healthcheck,
// a placement constraint, dnsrr) deployed, seen by `docker stack ls/services/ps`;
// redeployed unchanged (no task restarted); one service changed (only it
// updates); prune; deployments recorded, diffed and deployed again (rollback);
// bad input refused before anything happens; `docker stack rm` removes a stack
// Flotilla deployed, and Flotilla sees a stack the CLI deployed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from '../swarm/swarm-lab.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);
const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await noSharedSwarm();
const STACK = `st${process.pid % 100000}`;

/** Both services are pinned to one worker (the agent host): other suites drain and promote node4 meanwhile. */
let pinned = '';
function composeFile(image: string, opts: { greeting?: string; withWorker?: boolean } = {}): string {
  const worker = opts.withWorker === false ? '' : `  worker:
    image: ${image}
    command: sleep 3600
    deploy:
      endpoint_mode: dnsrr
      placement:
        constraints: [node.hostname == ${pinned}]
`;
  return `version: "3.8"
services:
  web:
    image: ${image}
    command: ["sh", "-c", "mkdir -p /www && cat /run/secrets/token > /www/token && echo $$GREETING > /www/index.html && httpd -f -p 8080 -h /www"]
    environment:
      GREETING: ${opts.greeting ?? 'hello'}
      LEVEL: \${LEVEL:-info}
    secrets: [token]
    configs:
      - source: site
        target: /etc/site.conf
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"]
      interval: 2s
      timeout: 2s
      retries: 3
      start_period: 1s
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement:
        constraints: [node.role == worker, node.hostname == ${pinned}]
      update_config:
        parallelism: 1
        delay: 1s
        order: start-first
      labels:
        team: web
${worker}
secrets:
  token:
    file: ./token.txt
configs:
  site:
    file: ./site.conf
`;
}

describe('native stack deploy', { skip, concurrency: false }, () => {
  let bed: SwarmBed;
  let image: string;
  let manager: string;
  const docker = (...args: string[]) => run('docker', ['-H', manager, ...args], { timeout: 120_000 });
  const files = { './token.txt': 's3cr3t-token-value\n', './site.conf': 'listen 8080\n' };
  const deploy = (compose: string, extra: Record<string, unknown> = {}) =>
    bed.admin.post(`${bed.base}/stacks`, { name: STACK, compose, files, env: { LEVEL: 'debug' }, resolveImage: 'never', ...extra });
  const runningTasks = async () => (await docker('stack', 'ps', STACK, '--filter', 'desired-state=running', '--format', '{{.ID}} {{.Name}}')).stdout.trim().split('\n').filter(Boolean).sort();

  before(async () => {
    bed = await sharedSwarmBed();
    image = bed.lab.images.busybox1;
    manager = bed.hosts.find((h) => h.role === 'manager')!.node.unix;
    pinned = bed.hosts.find((h) => h.kind === 'agent')!.node.hostname;
  });
  after(async () => {
    await bed?.admin.request('DELETE', `${bed.base}/stacks/${STACK}`).catch(() => undefined);
    await bed?.close();
  });

  test('a multi-service stack deployed natively is what docker stack ls, services and ps show', async () => {
    const res = await deploy(composeFile(image));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.status, 'succeeded', JSON.stringify(res.body));
    assert.deepEqual(res.body.outcome.map((o: { name: string; action: string; outcome: string }) => `${o.name}:${o.action}:${o.outcome}`).sort(),
      [`${STACK}_web:created:converged`, `${STACK}_worker:created:converged`]);
    const ls = (await docker('stack', 'ls', '--format', '{{.Name}} {{.Services}}')).stdout;
    assert.match(ls, new RegExp(`^${STACK} 2$`, 'm'));
    const services = (await docker('stack', 'services', STACK, '--format', '{{.Name}} {{.Replicas}}')).stdout;
    assert.match(services, new RegExp(`${STACK}_web 2/2`));
    assert.match(services, new RegExp(`${STACK}_worker 1/1`));
    assert.equal((await runningTasks()).length, 3);
    const inspect = JSON.parse((await docker('service', 'inspect', `${STACK}_web`)).stdout)[0];
    assert.equal(inspect.Spec.Labels['com.docker.stack.namespace'], STACK);
    assert.equal(inspect.Spec.EndpointSpec.Mode, 'dnsrr');
    assert.deepEqual(inspect.Spec.TaskTemplate.Placement.Constraints, ['node.role == worker', `node.hostname == ${pinned}`]);
    assert.ok(inspect.Spec.TaskTemplate.ContainerSpec.Env.includes('LEVEL=debug'), 'interpolated from env');
    const nets = (await docker('network', 'ls', '--filter', `label=com.docker.stack.namespace=${STACK}`, '--format', '{{.Name}} {{.Driver}}')).stdout;
    assert.match(nets, new RegExp(`${STACK}_default overlay`));
    const status = (await bed.admin.get(`${bed.base}/stacks/${STACK}`)).body;
    assert.equal(status.converged, true);
  });

  test('redeploying the same file changes nothing and restarts no task', async () => {
    const before = await runningTasks();
    const res = await deploy(composeFile(image));
    assert.equal(res.body.status, 'succeeded', JSON.stringify(res.body));
    assert.deepEqual(res.body.outcome.map((o: { action: string }) => o.action), ['unchanged', 'unchanged']);
    assert.deepEqual(await runningTasks(), before);
  });

  test('changing one service updates only it; the deployments diff names the field', async () => {
    const before = await runningTasks();
    const res = await deploy(composeFile(image, { greeting: 'changed' }));
    assert.equal(res.body.status, 'succeeded', JSON.stringify(res.body));
    const actions = Object.fromEntries(res.body.outcome.map((o: { name: string; action: string }) => [o.name, o.action]));
    assert.deepEqual(actions, { [`${STACK}_web`]: 'updated', [`${STACK}_worker`]: 'unchanged' });
    const after = await runningTasks();
    const worker = (l: string[]) => l.filter((t) => t.includes('_worker'));
    assert.deepEqual(worker(after), worker(before), 'the worker task was not restarted');
    assert.notDeepEqual(after.filter((t) => t.includes('_web')), before.filter((t) => t.includes('_web')));
    const list = (await bed.admin.get(`${bed.base}/deployments?stack=${STACK}`)).body as { id: string; status: string }[];
    assert.equal(list.length, 3);
    const diff = (await bed.admin.get(`${bed.base}/deployments/${list[0]!.id}/diff?against=${list[2]!.id}`)).body;
    assert.deepEqual(diff.services.map((s: { name: string; change: string }) => `${s.name}:${s.change}`), [`${STACK}_web:changed`]);
    assert.ok(diff.services[0].fields.includes('TaskTemplate.ContainerSpec.Env'), JSON.stringify(diff));
    const shown = (await bed.admin.get(`${bed.base}/deployments/${list[0]!.id}`)).body;
    assert.match(shown.compose, /GREETING: changed/);
    assert.doesNotMatch(JSON.stringify(shown), /s3cr3t-token-value/, 'the secret\'s content is never stored');
  });

  test('redeploying the first deployment rolls back; prune removes a service no longer in the file', async () => {
    const list = (await bed.admin.get(`${bed.base}/deployments?stack=${STACK}`)).body as { id: string }[];
    const first = list[list.length - 1]!.id;
    const back = await bed.admin.post(`${bed.base}/deployments/${first}/redeploy`);
    assert.equal(back.status, 201, JSON.stringify(back.body));
    assert.equal(back.body.status, 'succeeded', JSON.stringify(back.body));
    assert.equal(back.body.redeployOf, first);
    const env = JSON.parse((await docker('service', 'inspect', `${STACK}_web`)).stdout)[0].Spec.TaskTemplate.ContainerSpec.Env as string[];
    assert.ok(env.includes('GREETING=hello'), env.join(','));
    const pruned = await deploy(composeFile(image, { withWorker: false }), { prune: true });
    assert.equal(pruned.body.status, 'succeeded', JSON.stringify(pruned.body));
    assert.ok(pruned.body.outcome.some((o: { name: string; action: string }) => o.name === `${STACK}_worker` && o.action === 'removed'));
    await waitFor('the worker service gone', async () => !(await docker('service', 'ls', '--format', '{{.Name}}')).stdout.includes(`${STACK}_worker`));
  });

  test('bad input is refused before anything is deployed or recorded', async () => {
    const count = async () => ((await bed.admin.get(`${bed.base}/deployments?stack=${STACK}`)).body as unknown[]).length;
    const n = await count();
    const yaml = await deploy('services:\n  web:\n    image: [unclosed\n');
    assert.equal(yaml.status, 400);
    assert.match(yaml.body.message, /line \d+, column \d+/);
    const schema = await deploy(`services:\n  web:\n    image: ${image}\n    deploy:\n      replicas: "two"\n`);
    assert.equal(schema.status, 400);
    assert.match(schema.body.message, /services\.web\.deploy\.replicas/);
    const missing = await deploy(`services:\n  web:\n    image: \${TAG:?set TAG}\n`);
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /TAG/);
    const external = await deploy(`services:\n  web:\n    image: ${image}\n    networks: [outside]\nnetworks:\n  outside:\n    external: true\n    name: no-such-net-${process.pid}\n`);
    assert.equal(external.status, 201, 'an external network is looked up at deploy time');
    assert.equal(external.body.status, 'failed');
    assert.match(external.body.error, /no-such-net-\d+.*external, but could not be found/);
    assert.equal(await count(), n + 1, 'only the deploy that got as far as the cluster is recorded');
    const operator = await bed.srv.userWithRole('operator');
    const bind = await operator.post(`${bed.base}/stacks`, { name: `${STACK}b`, compose: `services:\n  web:\n    image: ${image}\n    volumes: ["/etc:/host-etc"]\n`, resolveImage: 'never' });
    assert.equal(bind.status, 403, JSON.stringify(bind.body));
    assert.match(bind.body.message, /only an admin/i);
    assert.equal(((await bed.admin.get(`${bed.base}/deployments?stack=${STACK}b`)).body as unknown[]).length, 0, 'a refused deploy is not recorded');
  });

  test('a deploy that fails midway is recorded with what was applied and what was not', async () => {
    const stack = `${STACK}p`;
    const svc = (name: string, constraint: string) => `  ${name}:\n    image: ${image}\n    command: sleep 3600\n    deploy:\n      endpoint_mode: dnsrr\n      placement:\n        constraints: ["${constraint}"]\n`;
    // The engine refuses b's constraint at create: a is applied, c is never reached.
    const compose = `services:\n${svc('a', `node.hostname == ${pinned}`)}${svc('b', 'node.hostname ~ nope')}${svc('c', `node.hostname == ${pinned}`)}`;
    try {
      const r = await bed.admin.post(`${bed.base}/stacks`, { name: stack, compose, resolveImage: 'never' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'failed', JSON.stringify(r.body));
      assert.match(r.body.error, /constraint/i);
      const byName = new Map((r.body.outcome as { name: string; action: string; message: string }[]).map((o) => [o.name, o]));
      assert.equal(byName.get(`${stack}_a`)?.action, 'created', JSON.stringify(r.body.outcome));
      assert.equal(byName.get(`${stack}_b`)?.action, 'not_applied');
      assert.equal(byName.get(`${stack}_c`)?.action, 'not_applied');
      assert.match(byName.get(`${stack}_c`)!.message, /^not applied: /);
      const stored = (await bed.admin.get(`${bed.base}/deployments/${r.body.id}`)).body;
      assert.equal(stored.status, 'failed');
      assert.deepEqual(stored.outcome, r.body.outcome, 'the record is the answer');
    } finally {
      await bed.admin.request('DELETE', `${bed.base}/stacks/${stack}`).catch(() => undefined);
    }
  });

  test('two deploys of one stack never run at once', async () => {
    const [a, b] = await Promise.all([deploy(composeFile(image, { withWorker: false })), deploy(composeFile(image, { withWorker: false }))]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [201, 409], JSON.stringify([a.body, b.body]));
    const refused = a.status === 409 ? a : b;
    assert.match(refused.body.message, /is being deployed now \(deployment [0-9a-f-]+\)/);
  });

  test('docker stack rm removes a stack Flotilla deployed; a stack the CLI deployed is seen and removed by Flotilla', async () => {
    await docker('stack', 'rm', STACK);
    await waitFor('the stack gone', async () => !(await docker('stack', 'ls', '--format', '{{.Name}}')).stdout.split('\n').includes(STACK), 60_000, 500);
    const cli = `${STACK}cli`;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stack-'));
    await fs.writeFile(path.join(dir, 'c.yml'), `version: "3.8"\nservices:\n  app:\n    image: ${image}\n    command: sleep 3600\n    deploy:\n      endpoint_mode: dnsrr\n`);
    await docker('stack', 'deploy', '-c', path.join(dir, 'c.yml'), '--resolve-image', 'never', cli);
    try {
      const seen = await waitFor('the CLI stack in Flotilla', async () => {
        const list = (await bed.admin.get(`${bed.base}/stacks`)).body as { name: string; services: string[] }[];
        return list.find((s) => s.name === cli);
      });
      assert.deepEqual(seen.services, [`${cli}_app`]);
      const removed = await bed.admin.request('DELETE', `${bed.base}/stacks/${cli}`);
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.deepEqual(removed.body.services, [`${cli}_app`]);
      assert.deepEqual(removed.body.networks, [`${cli}_default`]);
    } finally {
      await docker('stack', 'rm', cli).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
