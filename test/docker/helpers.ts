// Shared by the Docker client tests: clients for lab nodes, unique names, polling, cleanup.
import { randomBytes } from 'node:crypto';
import { DockerClient } from '../../src/docker/client.ts';
import { removeContainer, createContainer, startContainer } from '../../src/docker/containers.ts';
import type { ContainerCreateBody } from '../../src/docker/containers.ts';
import { NotFound } from '../../src/errors.ts';
import { createTransport } from '../../src/transports/index.ts';
import { labState } from './engines.ts';
import type { LabNode, LabState } from './engines.ts';

export function lab(): LabState {
  const state = labState();
  if (state === undefined) throw new Error('lab is not up');
  return state;
}

export function node(index = 0): LabNode {
  const found = lab().nodes[index];
  if (found === undefined) throw new Error(`lab has no node #${index + 1}`);
  return found;
}

/** Cleanup that runs last-in first-out (node:test runs `after` hooks in registration order). */
export type Defer = (fn: () => Promise<unknown>) => void;

export function deferrer(t: { after: (fn: () => Promise<void>) => void }): Defer {
  const stack: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const fn of stack.reverse()) await fn();
  });
  return (fn) => stack.push(fn);
}

/** A client for a lab node, closed when the test ends (after everything deferred later). */
export function clientFor(labNode: LabNode, via: 'unix' | 'tcp', defer: Defer): DockerClient {
  const docker = new DockerClient(createTransport({ url: labNode[via], label: labNode.name }));
  defer(() => docker.close());
  return docker;
}

/** Unique per test run, so tests can run in parallel against one lab. */
export function uniqueName(prefix: string): string {
  return `flt-test-${prefix}-${randomBytes(4).toString('hex')}`;
}

export { waitFor } from '../helpers/wait.ts';

export async function ignoreNotFound(action: Promise<unknown>): Promise<void> {
  try {
    await action;
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
}

/** `sh` as PID 1 ignores SIGTERM; the trap makes stop/restart fast without -t games. */
export function shScript(script: string): string[] {
  return ['sh', '-c', `trap 'exit 0' TERM; ${script}`];
}

/** Creates and starts a container and registers its forced removal with `after`. */
export async function runContainer(
  docker: DockerClient,
  body: Omit<ContainerCreateBody, 'Image'> & { Image?: string },
  defer: Defer,
  options: { start?: boolean; name?: string } = {},
): Promise<{ id: string; name: string }> {
  const name = options.name ?? uniqueName('ctr');
  const { Id } = await createContainer(docker, name, { Image: lab().images.busybox1, ...body });
  defer(() => ignoreNotFound(removeContainer(docker, Id, { force: true })));
  if (options.start !== false) await startContainer(docker, Id);
  return { id: Id, name };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
