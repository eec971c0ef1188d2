// The updater's stdout protocol and the small rules of self-update, without an engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerInspect } from '../../src/docker/container-types.ts';
import type { InFlightUpdate, UpdateResult } from '../../src/updates/recreate/index.ts';
import {
  dockerSocketBind, isSelfContainer, needsSelfUpdate, parseUpdaterOutput, SelfUpdateRefused, updaterNameFor,
} from '../../src/updates/self-update/index.ts';
import { errorLine, journalLine, resultLine, stepLine } from '../../src/updates/self-update/protocol.ts';

const record: InFlightUpdate = {
  id: 'u1', containerName: 'flotilla-agent', oldContainerId: 'a'.repeat(64), backupName: 'flotilla-agent-flotilla-old-aaaaaaaaaaaa',
  wasRunning: true, phase: 'stop', startedAt: 1, host: 'local engine', oldImageId: 'sha256:old', newImageId: 'sha256:new',
};
const result: UpdateResult = {
  outcome: 'updated', containerName: 'flotilla-agent', oldContainerId: 'a'.repeat(64), newContainerId: 'b'.repeat(64),
  oldImageId: 'sha256:old', newImageId: 'sha256:new', steps: [{ step: 'inspect', at: 1, message: 'inspecting' }], durationMs: 12,
};

test('the result is the last result line; steps are collected; other stdout lines are skipped', () => {
  const out = parseUpdaterOutput([
    'some library wrote this', stepLine({ step: 'inspect', at: 1, message: 'inspecting' }), journalLine(record),
    journalLine({ ...record, phase: 'health' }), journalLine(null), resultLine(result), '',
  ]);
  assert.deepEqual(out.result, result);
  assert.equal(out.error, undefined);
  assert.equal(out.inFlight, undefined, 'the record was cleared');
  assert.equal(out.steps.length, 1);
});

test('an updater that died mid-update leaves its last journal record and no result', () => {
  const out = parseUpdaterOutput([journalLine(record), journalLine({ ...record, phase: 'health', newContainerId: 'c'.repeat(64) })]);
  assert.equal(out.result, undefined);
  assert.equal(out.inFlight?.phase, 'health');
  assert.equal(out.inFlight?.newContainerId, 'c'.repeat(64));
});

test('an error line says why nothing was changed', () => {
  const out = parseUpdaterOutput([errorLine({ code: 'update_refused', reason: 'swarm_task', message: 'a Swarm task' })]);
  assert.deepEqual(out.error, { code: 'update_refused', reason: 'swarm_task', message: 'a Swarm task' });
});

test('a line of ours that does not parse is an error naming its key', () => {
  assert.throws(() => parseUpdaterOutput(['{"flotillaSelfUpdate":{"outcome":"maybe"}}']), /"flotillaSelfUpdate" line that is not valid/);
});

test('the agent container is the one labelled flotilla.self=true, never an updater', () => {
  assert.equal(isSelfContainer({ 'flotilla.self': 'true' }), true);
  assert.equal(isSelfContainer({ 'flotilla.self': 'false' }), false);
  assert.equal(isSelfContainer({ 'flotilla.self': 'true', 'flotilla.updater': 'true' }), false);
  assert.equal(isSelfContainer(null), false);
});

test('an agent whose version differs from the server needs a self-update; one without a version does not', () => {
  assert.equal(needsSelfUpdate('0.1.0-lab1', '0.1.0-lab2'), true);
  assert.equal(needsSelfUpdate('0.2.0', '0.1.0'), true, 'agents follow a server that was rolled back');
  assert.equal(needsSelfUpdate('0.1.0', '0.1.0'), false);
  assert.equal(needsSelfUpdate('', '0.1.0'), false);
  assert.equal(needsSelfUpdate(undefined, '0.1.0'), false);
});

test('the updater is named from the update id', () => {
  assert.equal(updaterNameFor('3f1c2a4b-1234-4321-9abc-def012345678'), 'flotilla-self-update-3f1c2a4b1234');
  assert.throws(() => updaterNameFor('../x'), /update id/);
});

function agentInspect(env: string[], mounts: Array<{ Source: string; Destination: string; Type?: string }>): ContainerInspect {
  return {
    Id: 'a'.repeat(64), Name: '/flotilla-agent', Config: { Env: env }, HostConfig: {},
    Mounts: mounts.map((m) => ({ Type: 'bind', RW: true, ...m })),
  } as unknown as ContainerInspect;
}

test('the updater gets the agent\'s socket: the bind at FLOTILLA_DOCKER_HOST\'s path, else /var/run/docker.sock', () => {
  assert.deepEqual(dockerSocketBind(agentInspect([], [{ Source: '/run/docker.sock', Destination: '/var/run/docker.sock' }])),
    { source: '/run/docker.sock', target: '/var/run/docker.sock' });
  assert.deepEqual(dockerSocketBind(agentInspect(['FLOTILLA_DOCKER_HOST=unix:///engine/docker.sock'], [
    { Source: '/x', Destination: '/var/run/docker.sock' }, { Source: '/srv/d.sock', Destination: '/engine/docker.sock' },
  ])), { source: '/srv/d.sock', target: '/engine/docker.sock' });
  assert.throws(() => dockerSocketBind(agentInspect([], [{ Source: 'vol', Destination: '/var/run/docker.sock', Type: 'volume' }])),
    (e: unknown) => e instanceof SelfUpdateRefused && /no bind mount of the Docker socket at \/var\/run\/docker.sock/.test(e.message));
});
