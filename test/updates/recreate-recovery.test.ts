// Interrupted updates put right by recoverInterruptedUpdates: the engine killed
// between stop and start (a real dockerd SIGKILL on a node of our own), and the
// updating process killed in the health gate or in the cleanup.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DockerClient } from '../../src/docker/client.ts';
import { createContainer, inspectContainer, startContainer } from '../../src/docker/containers.ts';
import type { ContainerInspect } from '../../src/docker/container-types.ts';
import { createNetwork } from '../../src/docker/networks.ts';
import { removeVolume } from '../../src/docker/volumes.ts';
import { FileUpdateJournal, recoverInterruptedUpdates, updateContainer } from '../../src/updates/recreate/index.ts';
import type { UpdateStep } from '../../src/updates/recreate/index.ts';
import { lab, labState, sharedNodes } from '../lab/fixture.ts';
import type { LabNode, LabState } from '../lab/fixture.ts';
import {
  buildUpdateImages, clientOf, deferrer, containersNamed, ignoreNotFound, inspectOrUndefined, pull, randomSubnet, removeContainersNamed, uniqueName,
} from './update-images.ts';
import type { UpdateImages } from './update-images.ts';

type Defer = ReturnType<typeof deferrer>;

let st: LabState;
let node5: LabNode;
let images: UpdateImages;
let journalRoot: string;

before(async () => {
  st = await labState();
  const shared = sharedNodes(st);
  node5 = shared.find((n) => n.name === 'node5') ?? shared.at(-1)!;
  images = await buildUpdateImages(st, shared.find((n) => n.name === 'node4') ?? shared[0]!, [node5]);
  journalRoot = await fsp.mkdtemp(path.join(os.tmpdir(), 'upd-journal-'));
});

after(async () => {
  await images?.remove();
  await fsp.rm(journalRoot, { recursive: true, force: true });
});

/** A running container from healthy1, removed (with its anonymous volumes) when the test ends. */
async function runOld(docker: DockerClient, defer: Defer, networkMode?: string): Promise<ContainerInspect> {
  await pull(docker, images.ref('healthy1'));
  const name = uniqueName('rec');
  const { Id } = await createContainer(docker, name, {
    Image: images.ref('healthy1'),
    Env: ['APP_MODE=custom'],
    HostConfig: { RestartPolicy: { Name: 'unless-stopped' }, ...(networkMode === undefined ? {} : { NetworkMode: networkMode }) },
  });
  defer(async () => {
    const holders = [await inspectOrUndefined(docker, Id), await inspectOrUndefined(docker, name)];
    await removeContainersNamed(docker, name);
    for (const m of holders.flatMap((c) => c?.Mounts ?? []).filter((m) => m.Type === 'volume')) await ignoreNotFound(removeVolume(docker, m.Name ?? '', { force: true }));
  });
  await startContainer(docker, Id);
  return inspectContainer(docker, Id);
}

async function assertOldBack(docker: DockerClient, old: ContainerInspect): Promise<void> {
  const now = await inspectContainer(docker, old.Name.slice(1));
  assert.equal(now.Id, old.Id);
  assert.equal(now.State.Running, true);
  assert.deepEqual(now.Config, old.Config);
  // A restarted 20.10 engine reports the unset Dns, DnsOptions and DnsSearch as [] instead of null.
  const unsetAsNull = (h: object) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) && v.length === 0 ? null : v]));
  assert.deepEqual(unsetAsNull(now.HostConfig), unsetAsNull(old.HostConfig));
  assert.deepEqual(await containersNamed(docker, old.Name.slice(1)), [old.Name.slice(1)]);
}

test('the engine killed between stop and start: after it returns, recovery restores the old container, running', async (t) => {
  const defer = deferrer(t);
  const mine = await lab().addNode(`updk${process.pid % 100_000}`);
  defer(() => lab().removeNode(mine.name));
  const docker = clientOf(mine);
  defer(() => docker.close());
  const range = randomSubnet();
  const network = uniqueName('net');
  await createNetwork(docker, { Name: network, IPAM: { Config: [{ Subnet: range.subnet }] } });
  const old = await runOld(docker, defer, network);
  const journal = new FileUpdateJournal(path.join(journalRoot, 'engine-kill'));
  let killed = false;
  const result = await updateContainer(docker, { containerId: old.Id, image: images.ref('healthy2') }, {
    journal,
    onStep: async (e) => {
      if (e.step === 'create' && !killed) {
        killed = true;
        await lab().killEngine(mine.name);
      }
    },
  });
  assert.equal(result.outcome, 'failed');
  assert.match(result.reason ?? '', /^create failed: .*; rollback failed: .*; the journal keeps it/);
  const [record, ...others] = await journal.list();
  assert.equal(others.length, 0);
  assert.equal(record?.containerName, old.Name.slice(1));
  const t0 = Date.now();
  await lab().startEngine(mine.name);
  const recovered = await recoverInterruptedUpdates(docker, journal);
  console.log(`# engine restart ${Date.now() - t0} ms incl. recovery; recovery ${recovered[0]?.durationMs} ms`);
  assert.deepEqual(recovered.map((r) => r.outcome), ['rolled_back'], recovered[0]?.reason);
  assert.deepEqual(await journal.list(), []);
  await assertOldBack(docker, old);
});

const CHILD = `
import { DockerClient } from ${JSON.stringify(path.resolve(fileURLToPath(import.meta.url), '../../../src/docker/client.ts'))};
import { createTransport } from ${JSON.stringify(path.resolve(fileURLToPath(import.meta.url), '../../../src/transports/index.ts'))};
import { FileUpdateJournal, updateContainer } from ${JSON.stringify(path.resolve(fileURLToPath(import.meta.url), '../../../src/updates/recreate/index.ts'))};
const args = JSON.parse(process.env.UPDATE_ARGS);
const docker = new DockerClient(createTransport({ url: args.url, label: args.label }));
await updateContainer(docker, args.plan, {
  journal: new FileUpdateJournal(args.journal),
  onStep: async (e) => {
    process.stdout.write(JSON.stringify(e) + '\\n');
    if (e.step === args.stopAt) await new Promise(() => {}); // held here until the parent kills us
  },
});
`;

/** Runs an update in a child process and SIGKILLs it once it reports `stopAt` (where it then waits). */
async function updateAndDie(plan: object, journalDir: string, stopAt: UpdateStep): Promise<void> {
  const script = path.join(journalRoot, `child-${stopAt}.mjs`);
  await fsp.writeFile(script, CHILD);
  const env = { ...process.env, UPDATE_ARGS: JSON.stringify({ url: node5.unix, label: node5.name, plan, journal: journalDir, stopAt }) };
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      if (buffered.split('\n').some((line) => line !== '' && (JSON.parse(line) as { step: string }).step === stopAt)) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`the update process exited (${code}) before ${stopAt}: ${err}`)));
  });
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve)));
}

test('the updating process killed in the health gate: recovery removes the new container and restores the old one', async (t) => {
  const defer = deferrer(t);
  const docker = clientOf(node5);
  defer(() => docker.close());
  const old = await runOld(docker, defer);
  const dir = path.join(journalRoot, 'process-kill');
  await updateAndDie({ containerId: old.Id, image: images.ref('healthy2') }, dir, 'health');
  const journal = new FileUpdateJournal(dir);
  const [record] = await journal.list();
  assert.equal(record?.phase, 'health');
  assert.ok(record.newContainerId);
  assert.equal((await fsp.stat(path.join(dir, `${record.id}.json`))).mode & 0o777, 0o600);
  assert.equal((await inspectContainer(docker, old.Name.slice(1))).Id, record.newContainerId, 'the new container holds the name');
  const [result] = await recoverInterruptedUpdates(docker, journal);
  assert.equal(result?.outcome, 'rolled_back', result?.reason);
  assert.equal(await inspectOrUndefined(docker, record.newContainerId), undefined);
  assert.deepEqual(await journal.list(), []);
  await assertOldBack(docker, old);
});

test('the updating process killed in the cleanup: recovery finishes the update', async (t) => {
  const defer = deferrer(t);
  const docker = clientOf(node5);
  defer(() => docker.close());
  const old = await runOld(docker, defer);
  const dir = path.join(journalRoot, 'cleanup-kill');
  await updateAndDie({ containerId: old.Id, image: images.ref('healthy2') }, dir, 'cleanup');
  const journal = new FileUpdateJournal(dir);
  const [result] = await recoverInterruptedUpdates(docker, journal);
  assert.equal(result?.outcome, 'updated', result?.reason);
  const now = await inspectContainer(docker, old.Name.slice(1));
  assert.equal(now.Id, result.newContainerId);
  assert.equal(now.State.Running, true);
  assert.equal(await inspectOrUndefined(docker, old.Id), undefined, 'the backup is removed');
  assert.deepEqual(await journal.list(), []);
});
