// Swarm basics on the lab's manager: swarm, nodes, services, tasks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createService, inspectNode, inspectService, inspectSwarm, listNodes, listServices, listTasks,
  removeService, updateNode, updateService,
} from '../../src/docker/swarm.ts';
import type { ServiceSpec } from '../../src/docker/swarm.ts';
import { NotFound } from '../../src/errors.ts';
import { noLab, labState } from './engines.ts';
import { listContainers } from '../../src/docker/containers.ts';
import { clientFor, deferrer, ignoreNotFound, lab, shScript, uniqueName, waitFor } from './helpers.ts';

const noSwarm = noLab || ((labState()?.swarm?.managers.length ?? 0) === 0 ? 'lab has no swarm' : false);

function manager() {
  const name = lab().swarm!.managers[0];
  const found = lab().nodes.find((n) => n.name === name);
  assert.ok(found, `manager ${name} is not a lab node`);
  return found;
}

describe('swarm', { skip: noSwarm, concurrency: true }, () => {
  test('swarm and node inspection, and a node label update', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(manager(), 'unix', defer);
    const swarm = await inspectSwarm(docker);
    assert.match(swarm.JoinTokens.Worker, /^SWMTKN-/);
    const nodes = await listNodes(docker);
    assert.deepEqual(nodes.map((n) => n.Description.Hostname).sort(), lab().nodes.map((n) => n.hostname).sort());
    assert.ok(nodes.every((n) => n.Status.State === 'ready'));

    const self = nodes.find((n) => n.Description.Hostname === manager().hostname);
    assert.ok(self);
    const key = `flotilla.test.${uniqueName('label')}`;
    const before = await inspectNode(docker, self.ID);
    await updateNode(docker, self.ID, before.Version.Index, { ...before.Spec, Labels: { ...before.Spec.Labels, [key]: 'yes' } });
    defer(async () => {
      const now = await inspectNode(docker, self.ID);
      const { [key]: _removed, ...labels } = now.Spec.Labels ?? {};
      await updateNode(docker, self.ID, now.Version.Index, { ...now.Spec, Labels: labels });
    });
    assert.equal((await inspectNode(docker, self.ID)).Spec.Labels?.[key], 'yes');
  });

  test('service create, inspect, update, tasks and remove', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(manager(), 'unix', defer);
    const name = uniqueName('svc');
    const spec: ServiceSpec = {
      Name: name,
      Labels: { 'flotilla.test': name },
      TaskTemplate: {
        // Trap TERM and a short grace period, so the task container goes away quickly after removal.
        ContainerSpec: { Image: lab().images.busybox1, Command: shScript('sleep 3600 & wait'), StopGracePeriod: 1e9 },
        RestartPolicy: { Condition: 'none' },
      },
      Mode: { Replicated: { Replicas: 1 } },
    };
    const { ID } = await createService(docker, spec);
    defer(() => ignoreNotFound(removeService(docker, ID)));
    assert.deepEqual((await listServices(docker, { filters: { label: `flotilla.test=${name}` } })).map((s) => s.ID), [ID]);

    const tasks = await waitFor('a running task', async () => {
      const found = await listTasks(docker, { filters: { service: name, 'desired-state': 'running' } });
      return found.some((task) => task.Status.State === 'running') ? found : undefined;
    }, 20_000);
    assert.equal(tasks[0].ServiceID, ID);

    const current = await inspectService(docker, ID);
    await updateService(docker, ID, current.Version.Index, { ...current.Spec, Labels: { ...current.Spec.Labels, stage: 'two' } });
    const updated = await inspectService(docker, name);
    assert.equal(updated.Spec.Labels?.stage, 'two');
    assert.ok(updated.Version.Index > current.Version.Index);

    await removeService(docker, ID);
    await assert.rejects(inspectService(docker, ID), NotFound);
    // The engine removes task containers asynchronously; leave the lab as we found it.
    const everyNode = lab().nodes.map((labNode) => clientFor(labNode, 'unix', defer));
    await waitFor('task containers to go', async () => {
      for (const client of everyNode) {
        if ((await listContainers(client, { all: true, filters: { label: `com.docker.swarm.service.id=${ID}` } })).length > 0) return undefined;
      }
      return true;
    }, 20_000);
  });
});
