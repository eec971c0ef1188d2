// Pure logic of cluster health and of which manager errors mean "try the next one".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeHealth, describeHealth, hasQuorum, serviceShortfalls } from '../../src/swarm/health.ts';
import { managerFailure } from '../../src/swarm/manager-router.ts';
import { summarizeStacks } from '../../src/swarm/stacks.ts';
import { DockerApiError, HostTimeout, HostUnreachable, NotFound, Conflict } from '../../src/errors.ts';
import type { SwarmNode, SwarmService, SwarmTask } from '../../src/docker/swarm.ts';

const node = (id: string, host: string, opts: { manager?: 'reachable' | 'unreachable'; leader?: boolean; state?: 'ready' | 'down'; availability?: 'active' | 'drain' | 'pause' } = {}): SwarmNode => ({
  ID: id, Version: { Index: 1 }, Spec: { Role: opts.manager ? 'manager' : 'worker', Availability: opts.availability ?? 'active' },
  Description: { Hostname: host }, Status: { State: opts.state ?? 'ready' },
  ...(opts.manager ? { ManagerStatus: { Reachability: opts.manager, Addr: `${host}:2377`, Leader: opts.leader } } : {}),
});
const service = (id: string, name: string, mode: 'global' | number, labels: Record<string, string> = {}): SwarmService => ({
  ID: id, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '',
  Spec: { Name: name, Labels: labels, TaskTemplate: {}, Mode: mode === 'global' ? { Global: {} } : { Replicated: { Replicas: mode } } },
});
const task = (svc: string, state: string, desired = 'running'): SwarmTask => ({ ID: `${svc}-${Math.random()}`, ServiceID: svc, DesiredState: desired, Status: { State: state, Message: '' }, Spec: {} });

test('quorum is a strict majority of managers', () => {
  assert.equal(hasQuorum(2, 3), true);
  assert.equal(hasQuorum(1, 3), false);
  assert.equal(hasQuorum(2, 4), false);
  assert.equal(hasQuorum(3, 5), true);
  assert.equal(hasQuorum(0, 0), false);
});

test('health counts managers, the leader, nodes down or drained, and services short of their tasks', () => {
  const nodes = [
    node('m1', 'h1', { manager: 'reachable', leader: true }), node('m2', 'h2', { manager: 'reachable' }), node('m3', 'h3', { manager: 'unreachable', state: 'down' }),
    node('w1', 'h4', { availability: 'drain' }), node('w2', 'h5'),
  ];
  const services = [service('s1', 'web', 3), service('s2', 'agent', 'global'), service('s3', 'ok', 1)];
  const tasks = [
    task('s1', 'running'), task('s1', 'running'), task('s1', 'failed', 'shutdown'), task('s1', 'preparing'),
    task('s2', 'running'), task('s2', 'pending'), task('s3', 'running'),
  ];
  const h = computeHealth(nodes, services, tasks);
  assert.deepEqual(h.managers, { total: 3, reachable: 2, unreachable: ['h3'], leader: { nodeId: 'm1', hostname: 'h1' } });
  assert.equal(h.quorum, true);
  assert.deepEqual(h.nodes, { total: 5, ready: 4, down: ['h3'], drained: ['h4'], paused: [] });
  assert.deepEqual(h.services.belowDesired, [
    { id: 's1', name: 'web', desired: 3, running: 2 },
    { id: 's2', name: 'agent', desired: 2, running: 1 },
  ]);
  assert.equal(describeHealth(h), '2 of 3 managers reachable; leader h1; nodes down: h3; drained: h4; services below desired: web 2/3, agent 1/2');
});

test('a service scaled to zero is not below its desired count', () => {
  assert.deepEqual(serviceShortfalls([service('s', 'idle', 0)], []), []);
});

test('stacks group services by com.docker.stack.namespace', () => {
  const services = [service('a', 'shop_web', 2, { 'com.docker.stack.namespace': 'shop' }), service('b', 'shop_db', 1, { 'com.docker.stack.namespace': 'shop' }), service('c', 'lone', 1)];
  const stacks = summarizeStacks(services, [task('a', 'running'), task('a', 'running'), task('b', 'pending')]);
  assert.deepEqual(stacks, [{ name: 'shop', services: ['shop_db', 'shop_web'], tasks: { running: 2, desired: 3 }, belowDesired: ['shop_db'] }]);
});

test('which failures pass a call on to the next manager, and which are the caller\'s', () => {
  assert.equal(managerFailure(new HostUnreachable('m', 'refused')), 'unreachable');
  assert.equal(managerFailure(new HostTimeout('m', 'slow')), 'unreachable');
  assert.equal(managerFailure(new DockerApiError(500, 'rpc error: code = Unknown desc = The swarm does not have a leader. It\'s possible that too few managers are online.')), 'no_leader');
  assert.equal(managerFailure(new DockerApiError(503, 'This node is not a swarm manager. Worker nodes can\'t be used to view or modify cluster state.')), 'not_manager');
  assert.equal(managerFailure(new NotFound('service x not found')), undefined);
  assert.equal(managerFailure(new Conflict('update out of sequence')), undefined);
  assert.equal(managerFailure(new DockerApiError(400, 'invalid spec')), undefined);
  assert.equal(managerFailure(new DockerApiError(500, 'some other internal error')), undefined, 'an engine fault that is not about leadership is the answer');
});
