// Swarm services through the REST API, on the shared lab swarm (3 managers, 2
// workers, one of them an agent host): a service created (dnsrr: no IPVS here),
// scaled onto several nodes, updated, rolled back to the image it had, removed;
// versions that protect against lost writes; logs; convergence reported as it
// happens; validation, permissions and the admin-only rule. Every service a test
// creates is removed by it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from './swarm-lab.ts';
import { waitFor } from '../helpers/wait.ts';
import { readNdjson } from '../helpers/ndjson.ts';
import type { Api } from '../helpers/server.ts';

const skip = await noSharedSwarm();
let bed: SwarmBed;
let busybox1: string;
let busybox2: string;
let operator: Api;
let viewer: Api;
const sfx = crypto.randomBytes(3).toString('hex');
const created = new Set<string>();

/** Prints a tick a second and stops at once on SIGTERM (busybox sleep as PID 1 would wait out the grace period). */
const TICKER = ['sh', '-c', 'trap "exit 0" TERM; echo "started on $(hostname)"; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done'];
/** Fast rolling updates for the lab: all tasks at once, watched for a second. */
const QUICK = { parallelism: 0, monitor: '1s', delay: '0s' };

before(async () => {
  if (skip) return;
  bed = await sharedSwarmBed();
  busybox1 = bed.lab.images.busybox1;
  busybox2 = bed.lab.images.busybox2;
  operator = await bed.srv.userWithRole('operator');
  viewer = await bed.srv.userWithRole('viewer');
});

after(async () => {
  if (skip) return;
  for (const name of created) await bed.admin.request('DELETE', `${bed.base}/services/${name}`);
  await bed?.close();
});

type Reply = Awaited<ReturnType<Api['post']>>;

function svcName(what: string): string {
  return `w3-${what}-${sfx}`;
}

async function create(api: Api, body: Record<string, unknown>, query = '?wait=true'): Promise<Reply> {
  const name = (body.name ?? (body.spec as { Name?: string } | undefined)?.Name) as string | undefined;
  if (name) created.add(name); // also when refused: a failing run must not leave one behind
  return api.post(`${bed.base}/services${query}`, body);
}

function converged(r: Reply, what: string): void {
  assert.equal(r.status, r.status === 201 ? 201 : 200, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.convergence?.outcome, 'converged', `${what}: ${JSON.stringify(r.body)}`);
}

async function currentTasks(name: string): Promise<{ id: string; node: string | null; host: string | null; image: string; state: string; desiredState: string; slot: number }[]> {
  const r = await bed.admin.get(`${bed.base}/services/${name}/tasks?all=false`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

test('a service is created with dnsrr, scaled 1→3 across nodes, updated busybox:1→2, rolled back to busybox:1, and removed', { skip }, async () => {
  const name = svcName('life');
  const made = await create(bed.admin, {
    name, image: busybox1, command: TICKER, replicas: 1, endpointMode: 'dnsrr', stopGracePeriod: '2s',
    updateConfig: { ...QUICK, failureAction: 'pause' }, rollbackConfig: { ...QUICK, order: 'stop-first' },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  converged(made, 'create');
  assert.equal(made.body.convergence.running, 1);

  const listed = (await bed.admin.get(`${bed.base}/services`)).body as { name: string; running: number; desired: number; endpointMode: string; image: string }[];
  const row = listed.find((s) => s.name === name);
  assert.deepEqual(row && { running: row.running, desired: row.desired, endpointMode: row.endpointMode, image: row.image }, { running: 1, desired: 1, endpointMode: 'dnsrr', image: busybox1 });

  converged(await bed.admin.post(`${bed.base}/services/${name}/scale?wait=true`, { replicas: 3 }), 'scale to 3');
  const three = await currentTasks(name);
  assert.equal(three.filter((t) => t.state === 'running').length, 3, JSON.stringify(three));
  const hostnames = new Set(bed.hosts.map((h) => h.node.hostname));
  const registered = new Set(bed.hosts.map((h) => h.name));
  for (const t of three) {
    assert.ok(t.node && hostnames.has(t.node), `task node ${t.node} is a lab node's hostname`);
    assert.ok(t.host && registered.has(t.host), `task host ${t.host} is the registered Flotilla host`);
  }
  assert.ok(new Set(three.map((t) => t.node)).size >= 2, `three replicas spread over several nodes: ${three.map((t) => t.node).join(', ')}`);

  const view = (await bed.admin.get(`${bed.base}/services/${name}`)).body;
  assert.deepEqual([view.updateConfig.parallelism, view.updateConfig.monitor, view.updateConfig.failureAction], [0, '1s', 'pause']);
  assert.deepEqual([view.rollbackConfig.monitor, view.rollbackConfig.order], ['1s', 'stop-first']);
  assert.equal(view.replicas, 3);

  // The update, followed on the convergence stream as a client would.
  const updated = await bed.admin.post(`${bed.base}/services/${name}/update`, { version: view.version, image: busybox2 });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.ok(updated.body.version > view.version);
  const res = await fetch(`${bed.srv.url}${bed.base}/services/${name}/converge?expect=update&timeout=120`, { headers: { authorization: `Bearer ${bed.admin.token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /ndjson/);
  const events: { type: string; outcome?: string; running: number; desired: number }[] = [];
  for await (const e of readNdjson(res)) events.push(e);
  assert.ok(events.some((e) => e.type === 'progress'), JSON.stringify(events));
  assert.deepEqual(events.at(-1) && { type: events.at(-1)!.type, outcome: events.at(-1)!.outcome, running: events.at(-1)!.running }, { type: 'done', outcome: 'converged', running: 3 });
  const onTwo = await currentTasks(name);
  assert.deepEqual(onTwo.filter((t) => t.state === 'running').map((t) => t.image), [busybox2, busybox2, busybox2], JSON.stringify(onTwo));

  const back = await bed.admin.post(`${bed.base}/services/${name}/rollback?wait=true`);
  converged(back, 'rollback');
  assert.equal(back.body.image, busybox1);
  const onOne = await currentTasks(name);
  assert.deepEqual(onOne.filter((t) => t.state === 'running').map((t) => t.image), [busybox1, busybox1, busybox1], `the previous image runs again: ${JSON.stringify(onOne)}`);
  const after = (await bed.admin.get(`${bed.base}/services/${name}`)).body;
  assert.deepEqual([after.image, after.previousImage, after.running], [busybox1, busybox2, 3]);

  const removed = await bed.admin.request('DELETE', `${bed.base}/services/${name}`);
  assert.equal(removed.status, 204, JSON.stringify(removed.body));
  created.delete(name);
  assert.equal((await bed.admin.get(`${bed.base}/services/${name}`)).status, 404);
  assert.ok(!((await bed.admin.get(`${bed.base}/services`)).body as { name: string }[]).some((s) => s.name === name));
});

test('an update based on a stale version is 409 and changes nothing; a rollback with no previous spec is 409', { skip }, async () => {
  const name = svcName('stale');
  converged(await create(bed.admin, { name, image: busybox1, command: TICKER, replicas: 1, endpointMode: 'dnsrr', stopGracePeriod: '1s', updateConfig: QUICK }), 'create');
  const noPrevious = await bed.admin.post(`${bed.base}/services/${name}/rollback`);
  assert.equal(noPrevious.status, 409, JSON.stringify(noPrevious.body));
  assert.match(noPrevious.body.message, /no previous spec/);

  const read = (await bed.admin.get(`${bed.base}/services/${name}`)).body;
  const first = await bed.admin.post(`${bed.base}/services/${name}/update?wait=true`, { version: read.version, envAdd: ['FIRST=1'] });
  converged(first, 'first update');

  // A second client still holds the version read before the first write.
  const lost = await bed.admin.post(`${bed.base}/services/${name}/update`, { version: read.version, image: busybox2 });
  assert.equal(lost.status, 409, JSON.stringify(lost.body));
  assert.match(lost.body.message, new RegExp(`service "${name}" was changed since version ${read.version} .* read it again`));
  const fullSpec = { ...read.spec, TaskTemplate: { ...read.spec.TaskTemplate, ContainerSpec: { ...read.spec.TaskTemplate.ContainerSpec, Image: busybox2 } } };
  const lostPut = await bed.admin.request('PUT', `${bed.base}/services/${name}`, { version: read.version, spec: fullSpec });
  assert.equal(lostPut.status, 409, JSON.stringify(lostPut.body));

  const now = (await bed.admin.get(`${bed.base}/services/${name}`)).body;
  assert.equal(now.image, busybox1, 'the stale writes changed nothing');
  assert.ok((now.spec.TaskTemplate.ContainerSpec.Env as string[]).includes('FIRST=1'), 'the first write is kept');

  // The same full spec at the current version goes through.
  const put = await bed.admin.request('PUT', `${bed.base}/services/${name}?wait=true`, { version: now.version, spec: { ...fullSpec, TaskTemplate: { ...fullSpec.TaskTemplate, ContainerSpec: { ...fullSpec.TaskTemplate.ContainerSpec, Env: ['FIRST=1'] } } } });
  converged(put, 'put at the current version');
  assert.equal((await bed.admin.get(`${bed.base}/services/${name}`)).body.image, busybox2);
});

test('service logs: a snapshot names task, slot and node; follow streams new lines', { skip }, async () => {
  const name = svcName('logs');
  // The engine form, passed through: the task's hostname is its node's, so each line says where it ran.
  converged(await create(bed.admin, {
    spec: {
      Name: name, TaskTemplate: { ContainerSpec: { Image: busybox1, Command: TICKER, Hostname: '{{.Node.Hostname}}', StopGracePeriod: 1e9 } },
      Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Mode: 'dnsrr' },
    },
  }), 'create');
  const hostnames = new Set(bed.hosts.map((h) => h.node.hostname));
  const snapshot = await waitFor('two ticks in the service logs', async () => {
    const r = await bed.admin.get(`${bed.base}/services/${name}/logs?tail=50`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const ticks = (r.body.lines as { line: string }[]).filter((l) => /^tick \d+$/.test(l.line));
    return ticks.length >= 2 && r.body.lines;
  }, 30_000, 250);
  const started = snapshot.find((l: { line: string }) => l.line.startsWith('started on '));
  assert.ok(started, JSON.stringify(snapshot));
  assert.equal(started.slot, 1);
  assert.ok(hostnames.has(started.node), `node ${started.node}`);
  assert.equal(started.line, `started on ${started.node}`, 'the task ran on the node the line names');
  const [task] = await currentTasks(name);
  assert.deepEqual([started.task, started.node], [task!.id, task!.node], 'the line names the task and its node');
  const lastTick = Math.max(...snapshot.filter((l: { line: string }) => l.line.startsWith('tick ')).map((l: { line: string }) => Number(l.line.slice(5))));

  assert.equal((await bed.admin.get(`${bed.base}/services/${name}/logs?tail=501`)).status, 400, 'tail is at most 500');

  const ctl = new AbortController();
  const res = await fetch(`${bed.srv.url}${bed.base}/services/${name}/logs?follow=true&tail=0`, { headers: { authorization: `Bearer ${bed.admin.token}` }, signal: ctl.signal });
  assert.equal(res.status, 200);
  let newer: { line: string; node: string } | undefined;
  const deadline = setTimeout(() => ctl.abort(), 30_000);
  try {
    for await (const l of readNdjson(res)) {
      if (/^tick \d+$/.test(l.line) && Number(l.line.slice(5)) > lastTick) {
        newer = l;
        break;
      }
    }
  } finally {
    clearTimeout(deadline);
    ctl.abort();
  }
  assert.ok(newer, 'a line written after the snapshot arrived on the follow stream');
  assert.equal(newer.node, started.node);
});

test('an unknown service is 404 naming it, on every route', { skip }, async () => {
  const ghost = `no-such-service-${sfx}`;
  const calls: [string, string, unknown?][] = [
    ['GET', ''], ['DELETE', ''], ['GET', '/tasks'], ['GET', '/logs'], ['GET', '/logs?follow=true'], ['GET', '/converge'],
    ['POST', '/scale', { replicas: 2 }], ['POST', '/rollback', {}], ['POST', '/update', { version: 1, image: busybox2 }],
  ];
  for (const [method, suffix, body] of calls) {
    const r = await bed.admin.request(method, `${bed.base}/services/${ghost}${suffix}`, body);
    assert.equal(r.status, 404, `${method} ${suffix}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.message, `service "${ghost}" not found in cluster "${bed.cluster}"`, `${method} ${suffix}`);
  }
});

test('a bad spec is 400 naming the field, before it reaches the engine; a global service cannot be scaled', { skip }, async () => {
  const name = svcName('bad');
  const cases: [Record<string, unknown>, string][] = [
    [{ name, image: busybox1, replicas: -1 }, 'body.replicas'],
    [{ name, image: busybox1, replicas: 1.5 }, 'body.replicas'],
    [{ name }, 'body.image'],
    [{ name: 'not a name!', image: busybox1 }, 'body.name'],
    [{ name, image: busybox1, mode: 'global', replicas: 2 }, 'body.replicas'],
    [{ name, image: busybox1, ports: [{ target: 70000 }] }, 'body.ports.0.target'],
    [{ name, image: busybox1, updateConfig: { delay: 'soon' } }, 'body.updateConfig.delay'],
    [{ spec: { Name: name, TaskTemplate: { ContainerSpec: { Image: busybox1 } }, Mode: { Replicated: { Replicas: -3 } } } }, 'body.spec.Mode.Replicated.Replicas'],
    [{ spec: { Name: name, TaskTemplate: { ContainerSpec: {} } } }, 'body.spec.TaskTemplate.ContainerSpec.Image'],
  ];
  for (const [body, field] of cases) {
    const r = await create(bed.admin, body, '');
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, field, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await bed.admin.get(`${bed.base}/services/${name}`)).status, 404, 'nothing was created');

  const global = svcName('global');
  const made = await create(bed.admin, { name: global, image: busybox1, command: TICKER, mode: 'global', endpointMode: 'dnsrr', stopGracePeriod: '1s' });
  converged(made, 'global create');
  assert.ok(made.body.convergence.desired >= 1 && made.body.convergence.running === made.body.convergence.desired, JSON.stringify(made.body));
  const scaled = await bed.admin.post(`${bed.base}/services/${global}/scale`, { replicas: 2 });
  assert.equal(scaled.status, 400, JSON.stringify(scaled.body));
  assert.match(scaled.body.message, /is global .* only a replicated service can be scaled/);
});

test('an operator may create and scale services, a viewer may only read (403)', { skip }, async () => {
  const name = svcName('op');
  converged(await create(operator, { name, image: busybox1, command: TICKER, replicas: 1, endpointMode: 'dnsrr', stopGracePeriod: '1s' }), 'operator create');
  const denied = await create(viewer, { name: svcName('viewer'), image: busybox1 }, '');
  assert.equal(denied.status, 403, JSON.stringify(denied.body));
  assert.equal((await viewer.post(`${bed.base}/services/${name}/scale`, { replicas: 2 })).status, 403);
  assert.equal((await viewer.request('DELETE', `${bed.base}/services/${name}`)).status, 403);
  const seen = await viewer.get(`${bed.base}/services/${name}`);
  assert.equal(seen.status, 200);
  assert.equal(seen.body.replicas, 1, 'the viewer\'s scale changed nothing');
  assert.equal((await viewer.get(`${bed.base}/services/${name}/tasks`)).status, 200);
  assert.equal((await operator.post(`${bed.base}/services/${name}/scale`, { replicas: 2 })).status, 200);
});

test('admin-only rule: a non-admin\'s service may not bind a host path (403, either form); an admin\'s may, and an operator may still scale it', { skip }, async () => {
  const bind = { type: 'bind', source: '/usr/share', target: '/host-share', readOnly: true };
  const opName = svcName('opbind');
  const refused = await create(operator, { name: opName, image: busybox1, command: TICKER, replicas: 0, mounts: [bind] }, '');
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.error, 'forbidden');
  assert.match(refused.body.message, /^only an admin may create or update a service that mounts the host path \/usr\/share/);
  const engineForm = await create(operator, { spec: { Name: opName, TaskTemplate: { ContainerSpec: { Image: busybox1, Mounts: [{ Type: 'bind', Source: '/usr/share', Target: '/h' }] } }, Mode: { Replicated: { Replicas: 0 } } } }, '');
  assert.equal(engineForm.status, 403, JSON.stringify(engineForm.body));
  assert.equal((await bed.admin.get(`${bed.base}/services/${opName}`)).status, 404, 'nothing was created');

  const adminName = svcName('adminbind');
  const mine = await create(bed.admin, { name: adminName, image: busybox1, command: TICKER, replicas: 1, endpointMode: 'dnsrr', stopGracePeriod: '1s', mounts: [bind] });
  converged(mine, 'admin bind service');
  const tasks = await currentTasks(adminName);
  assert.equal(tasks[0]?.state, 'running');
  // Scaling keeps the binds the service has: still the operator's to do.
  converged(await operator.post(`${bed.base}/services/${adminName}/scale?wait=true`, { replicas: 2 }), 'operator scales the admin\'s service');
  // A new bind on the operator's own service is refused.
  const plain = svcName('opplain');
  converged(await create(operator, { name: plain, image: busybox1, command: TICKER, replicas: 0, endpointMode: 'dnsrr' }), 'operator plain');
  const v = (await operator.get(`${bed.base}/services/${plain}`)).body.version;
  const added = await operator.post(`${bed.base}/services/${plain}/update`, { version: v, mounts: [bind] });
  assert.equal(added.status, 403, JSON.stringify(added.body));
  assert.deepEqual((await operator.get(`${bed.base}/services/${plain}`)).body.spec.TaskTemplate.ContainerSpec.Mounts, undefined, 'the refused update changed nothing');
});

test('an update whose tasks fail is rolled back by the engine, and the wait reports rolled_back', { skip }, async () => {
  const name = svcName('auto');
  converged(await create(bed.admin, {
    name, image: busybox1, command: TICKER, replicas: 1, endpointMode: 'dnsrr', stopGracePeriod: '1s',
    updateConfig: { ...QUICK, failureAction: 'rollback' }, rollbackConfig: QUICK,
  }), 'create');
  const v = (await bed.admin.get(`${bed.base}/services/${name}`)).body.version;
  // The new tasks exit at once with an error: the update fails and the engine goes back.
  const r = await bed.admin.post(`${bed.base}/services/${name}/update?wait=true&waitTimeout=90`, { version: v, command: ['sh', '-c', 'exit 3'], restartCondition: 'none' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.convergence.outcome, 'rolled_back', JSON.stringify(r.body));
  const now = (await bed.admin.get(`${bed.base}/services/${name}`)).body;
  assert.deepEqual(now.spec.TaskTemplate.ContainerSpec.Command, TICKER, 'the service is back on its previous spec');
});
