// `flotilla node …`, `flotilla secret …` and `flotilla config …` against a real
// server with the lab's shared swarm registered (node1 manager, node4 worker).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DockerClient } from '../../src/docker/client.ts';
import { listSwarmData, removeSwarmData } from '../../src/docker/secrets.ts';
import { createService, listTasks, removeService } from '../../src/docker/swarm.ts';
import { createTransport } from '../../src/transports/index.ts';
import { labState, sharedNodes, type LabState } from '../lab/fixture.ts';
import { noSharedSwarm } from '../swarm/swarm-lab.ts';
import { ADMIN_PASSWORD, ok, parseJson, startTestServer, waitFor, type CliResult, type TestServer } from './helpers.ts';

const skip = await noSharedSwarm();

describe('flotilla node, secret and config', { skip }, () => {
  let ts: TestServer;
  let lab: LabState;
  let mgr: DockerClient;
  const tag = crypto.randomBytes(3).toString('hex');

  /** The CLI signed in by a token (FLOTILLA_URL / FLOTILLA_TOKEN), as a script would run it. */
  let cli: (args: string[], options?: { input?: string }) => Promise<CliResult>;

  before(async () => {
    lab = await labState();
    ts = await startTestServer();
    const setup = await fetch(`${ts.url}/api/v1/setup`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ setupCode: ts.server.setupCode, username: 'admin', password: ADMIN_PASSWORD }),
    });
    assert.equal(setup.status, 201);
    const { token } = await ts.server.store.users.createToken((await ts.server.store.users.get('admin'))!.id, 'cli-test', undefined);
    cli = (args, options = {}) => ts.cli(args, { ...options, env: { FLOTILLA_URL: ts.url, FLOTILLA_TOKEN: token } });
    const nodes = sharedNodes(lab);
    for (const name of ['node1', 'node4']) ok(await cli(['host', 'add', name, nodes.find((n) => n.name === name)!.unix]));
    await ts.server.swarm.register({ host: 'node1', name: 'lab' });
    mgr = new DockerClient(createTransport({ url: nodes.find((n) => n.name === 'node1')!.unix, label: 'node1' }));
  });

  after(async () => {
    if (!mgr) return void (await ts?.close());
    for (const s of await mgr.json<{ ID: string; Spec: { Name: string } }[]>('GET', '/services')) if (s.Spec.Name.includes(tag)) await removeService(mgr, s.ID).catch(() => undefined);
    for (const kind of ['secrets', 'configs'] as const) {
      for (const o of await listSwarmData(mgr, kind)) {
        if (o.Spec.Name.includes(tag)) await waitFor(`${o.Spec.Name} removed`, () => removeSwarmData(mgr, kind, o.ID).then(() => true), 30_000, 500).catch(() => undefined);
      }
    }
    await mgr?.close();
    await ts?.close();
  });

  test('node ls, inspect and update labels', async () => {
    // node4's first sync (which records its node ID) may still be under way.
    const list = await waitFor('node1 and node4 linked to their nodes', async () => {
      const l = parseJson<{ host: string | null; role: string; leader: boolean }[]>(ok(await cli(['node', 'ls', 'lab', '--json'])));
      return l.filter((n) => n.host).length === 2 && l;
    }, 30_000, 200);
    assert.equal(list.length, 5);
    assert.deepEqual(list.filter((n) => n.host).map((n) => n.host).sort(), ['node1', 'node4']);
    const table = ok(await cli(['node', 'ls', 'lab'])).stdout;
    assert.match(table, /MANAGER STATUS/);
    assert.match(table, /Leader/);
    assert.match(table, /node4/);

    const key = `flt-cli-${tag}`;
    const added = parseJson<{ labels: Record<string, string> }>(ok(await cli(['node', 'update', 'lab', 'node4', '--label-add', `${key}=1`, '--json'])));
    assert.equal(added.labels[key], '1');
    const shown = ok(await cli(['node', 'inspect', 'lab', 'node4'])).stdout;
    assert.match(shown, new RegExp(`${key}=1`));
    assert.match(shown, /Host:\s+node4/);
    const removed = parseJson<{ labels: Record<string, string> }>(ok(await cli(['node', 'update', 'lab', 'node4', '--label-rm', key, '--json'])));
    assert.equal(removed.labels[key], undefined);

    const nothing = await cli(['node', 'update', 'lab', 'node4']);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /nothing to change/);
    const unknown = await cli(['node', 'inspect', 'lab', 'nope']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /node "nope" not found/);
  });

  test('secret create from stdin, rotate with progress, rm refused while in use; the value is never printed', async () => {
    const name = `flt-cli-sec-${tag}`;
    const first = `v1-${crypto.randomBytes(8).toString('hex')}`;
    const second = `v2-${crypto.randomBytes(8).toString('hex')}`;
    const created = ok(await cli(['secret', 'create', 'lab', name, '-'], { input: first }));
    const id = created.stdout.trim();
    assert.match(id, /^[a-z0-9]{25}$/);
    const { ID: serviceId } = await createService(mgr, {
      Name: `flt-cli-svc-${tag}`,
      TaskTemplate: {
        ContainerSpec: { Image: lab.images.busybox1, Command: ['sleep', '3600'], StopGracePeriod: 1_000_000_000, Secrets: [{ File: { Name: 'token', UID: '0', GID: '0', Mode: 0o400 }, SecretID: id, SecretName: name }] },
      },
      Mode: { Replicated: { Replicas: 1 } },
      UpdateConfig: { Monitor: 1_000_000_000 },
      EndpointSpec: { Mode: 'dnsrr' },
    });
    await waitFor('the service task running', async () => (await listTasks(mgr, { filters: { service: [serviceId] } })).some((t) => t.Status.State === 'running'), 60_000, 250);

    const inspect = ok(await cli(['secret', 'inspect', 'lab', name])).stdout;
    assert.match(inspect, new RegExp(`flt-cli-svc-${tag} \\(token 0:0 0400\\)`));
    const rm = await cli(['secret', 'rm', 'lab', name]);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /in use/);

    const rotated = ok(await cli(['secret', 'rotate', 'lab', name, '-'], { input: second }));
    assert.match(rotated.stderr, new RegExp(`created secret ${name}-v2`));
    assert.match(rotated.stderr, /converging 1\/1 running with the new secret/);
    assert.match(rotated.stderr, /: moved/);
    assert.match(rotated.stdout, new RegExp(`rotated secret ${name} → ${name}-v2`));
    assert.match(rotated.stdout, new RegExp(`removed ${name}\\b`));
    const ls = parseJson<{ name: string; rotation: { of: string; version: number } | null }[]>(ok(await cli(['secret', 'ls', 'lab', '--json'])));
    assert.deepEqual(ls.find((s) => s.name === `${name}-v2`)?.rotation, { of: name, version: 2 });
    assert.equal(ls.some((s) => s.name === name), false);
    for (const out of [created, rotated]) for (const v of [first, second]) assert.ok(!out.stdout.includes(v) && !out.stderr.includes(v), 'the value is never printed');
    await removeService(mgr, serviceId);
  });

  test('config create from a file and rotate --json with no service using it', async () => {
    const name = `flt-cli-cfg-${tag}`;
    const file = `${ts.dir}/app.conf`;
    await fsp.writeFile(file, 'a=1\n');
    ok(await cli(['config', 'create', 'lab', name, file, '--label', 'app=web']));
    await fsp.writeFile(file, 'a=2\n');
    const r = parseJson<{ ok: boolean; to: { name: string }; services: unknown[]; oldRemoved: boolean }>(ok(await cli(['config', 'rotate', 'lab', name, file, '--json'])));
    assert.equal(r.ok, true);
    assert.equal(r.to.name, `${name}-v2`);
    assert.deepEqual(r.services, []);
    assert.equal(r.oldRemoved, true);
    const shown = parseJson<{ labels: Record<string, string> }>(ok(await cli(['config', 'inspect', 'lab', `${name}-v2`, '--json'])));
    assert.equal(shown.labels.app, 'web');
    assert.equal(JSON.stringify(shown).includes(Buffer.from('a=2\n').toString('base64')), false);
    ok(await cli(['config', 'rm', 'lab', `${name}-v2`]));
  });
});
