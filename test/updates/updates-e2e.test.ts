// Image updates end to end through the REST API, on the lab's five engines
// (four direct hosts, one agent host) and the lab registry: a re-pushed tag is
// detected everywhere with one registry check per image reference for the
// whole fleet (counted in the registry's own access log), policies resolve
// label > override > default, a manual update on a direct host and on the
// agent host (run by the agent) moves to the new digest, a failing healthcheck
// rolls back, `auto` containers are updated by a check, and a signed webhook
// tells about it.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sharedSwarmBed, noSharedSwarm, type SwarmBed } from '../swarm/swarm-lab.ts';
import { buildUpdateImages, clientOf, pull, removeContainersNamed, type UpdateImages } from './update-images.ts';
import { createContainer, inspectContainer, startContainer } from '../../src/docker/containers.ts';
import { verifyWebhookSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER } from '../../src/updates/notify/index.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await noSharedSwarm();
const TAG = `u${process.pid % 100000}`;
const SECRET = 'webhook-signing-secret-for-the-test';

describe('image updates end to end', { skip, concurrency: false }, () => {
  let bed: SwarmBed;
  let images: UpdateImages;
  let receiver: http.Server;
  const received: { event: string; notices: { kind: string; container?: { name: string }; reason?: string }[]; valid: boolean }[] = [];
  const created: { node: SwarmBed['hosts'][number]['node']; name: string }[] = [];
  let direct: SwarmBed['hosts'][number];
  let agent: SwarmBed['hosts'][number];

  const repoPath = () => images.repository.slice(images.repository.indexOf('/') + 1);
  /** Manifest requests Flotilla made for this test's repository, as the lab registry logged them. */
  const registryChecks = async (tag?: string) => {
    const log = await fsp.readFile(path.join(bed.lab.dir, 'registry', 'registry-lab.log'), 'utf8');
    const re = new RegExp(`"(HEAD|GET) /v2/${repoPath().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/manifests/${tag ?? '[^ ]+'} HTTP/1.1" \\d+ \\d+ "[^"]*" "flotilla"`, 'g');
    return (log.match(re) ?? []).length;
  };
  const run = async (host: SwarmBed['hosts'][number], name: string, image: string, labels: Record<string, string> = {}, start = true) => {
    const d = clientOf(host.node);
    const { Id } = await createContainer(d, name, { Image: image, Labels: labels, Env: ['KEEP=me'] });
    if (start) await startContainer(d, Id);
    created.push({ node: host.node, name });
    return Id;
  };
  const sync = async (hosts: string[]) => {
    for (const h of hosts) assert.equal((await bed.admin.post(`/api/v1/hosts/${h}/sync`)).status, 200);
  };
  const checks = async (names: string[]) => {
    const all = (await bed.admin.get('/api/v1/updates')).body as { container: string; status: string; policy: string; policySource: string; warning: string | null; availableDigest: string | null }[];
    return new Map(all.filter((r) => names.includes(r.container)).map((r) => [r.container, r]));
  };

  before(async () => {
    bed = await sharedSwarmBed();
    direct = bed.hosts.find((h) => h.kind === 'direct' && h.role === 'worker') ?? bed.hosts.find((h) => h.kind === 'direct')!;
    agent = bed.hosts.find((h) => h.kind === 'agent')!;
    images = await buildUpdateImages(bed.lab, direct.node, bed.hosts.map((h) => h.node));
    const reg = await bed.admin.post('/api/v1/registries', { host: bed.lab.registry.lab, insecure: true });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const valid = verifyWebhookSignature({
          secret: SECRET, body, signature: String(req.headers[SIGNATURE_HEADER.toLowerCase()] ?? ''),
          timestamp: String(req.headers[TIMESTAMP_HEADER.toLowerCase()] ?? ''), deliveryId: String(req.headers[DELIVERY_HEADER.toLowerCase()] ?? ''),
        });
        const parsed = JSON.parse(body) as { event: string; notices: never[] };
        received.push({ event: parsed.event, notices: parsed.notices, valid });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    const target = await bed.admin.post('/api/v1/notifications', { name: `wh-${TAG}`, kind: 'webhook', url: `http://127.0.0.1:${port}/hook?token=abc`, secret: SECRET });
    assert.equal(target.status, 201, JSON.stringify(target.body));
    assert.equal(target.body.hasSecret, true);
    assert.doesNotMatch(JSON.stringify(target.body), /token=abc|webhook-signing-secret/);
  });

  after(async () => {
    for (const c of created) await removeContainersNamed(clientOf(c.node), c.name).catch(() => undefined);
    await images?.remove().catch(() => undefined);
    await new Promise((r) => receiver?.close(r));
    await bed?.close();
  });

  test('100 containers on 5 hosts using 3 images: 3 registry checks, every container up to date', async () => {
    const refs = await Promise.all([images.publish('healthy1', `${TAG}a`), images.publish('healthy2', `${TAG}b`), images.publish('exits', `${TAG}c`)]);
    for (const h of bed.hosts) for (const r of refs) await pull(clientOf(h.node), r);
    const names: string[] = [];
    for (let i = 0; i < 100; i++) {
      const host = bed.hosts[i % bed.hosts.length]!;
      const name = `${TAG}-many-${i}`;
      await run(host, name, refs[i % 3]!, {}, false);
      names.push(name);
    }
    await sync(bed.hosts.map((h) => h.name));
    const before = await registryChecks();
    const started = Date.now();
    const summary = await bed.admin.post('/api/v1/updates/check', { hosts: bed.hosts.map((h) => h.name), autoUpdate: false });
    assert.equal(summary.status, 200, JSON.stringify(summary.body));
    const made = (await registryChecks()) - before;
    process.stdout.write(`# fleet check: ${summary.body.containers} containers, ${summary.body.remoteChecks} remote checks, ${made} manifest requests for the test's 3 tags at the registry, ${Date.now() - started} ms\n`);
    assert.equal(made, 3, 'one manifest request per tag for the whole fleet');
    const rows = await checks(names);
    assert.equal(rows.size, 100);
    for (const r of rows.values()) assert.equal(r.status, 'up_to_date', JSON.stringify(r));
  });

  test('a re-pushed tag is an update on direct and agent hosts; label over override over default; bad label is manual with a warning', async () => {
    const ref = await images.publish('healthy1', TAG);
    for (const h of [direct, agent]) await pull(clientOf(h.node), ref);
    await run(direct, `${TAG}-d`, ref);
    await run(agent, `${TAG}-a`, ref);
    await run(direct, `${TAG}-pin`, ref, { 'flotilla.policy': 'pinned' });
    await run(direct, `${TAG}-bad`, ref, { 'flotilla.policy': 'sometimes' });
    await run(agent, `${TAG}-auto`, ref);
    assert.equal((await bed.admin.request('PUT', `/api/v1/updates/policies/containers/${TAG}-auto`, { policy: 'auto' })).status, 204);
    await sync([direct.name, agent.name]);
    await bed.admin.post('/api/v1/updates/check', { hosts: [direct.name, agent.name], autoUpdate: false });
    const names = [`${TAG}-d`, `${TAG}-a`, `${TAG}-pin`, `${TAG}-bad`, `${TAG}-auto`];
    let rows = await checks(names);
    for (const n of names) assert.equal(rows.get(n)?.status, 'up_to_date', JSON.stringify(rows.get(n)));
    assert.deepEqual([rows.get(`${TAG}-pin`)!.policy, rows.get(`${TAG}-pin`)!.policySource], ['pinned', 'label']);
    assert.deepEqual([rows.get(`${TAG}-bad`)!.policy, rows.get(`${TAG}-bad`)!.policySource], ['manual', 'label']);
    assert.match(rows.get(`${TAG}-bad`)!.warning ?? '', /flotilla\.policy.*sometimes/);
    assert.deepEqual([rows.get(`${TAG}-auto`)!.policy, rows.get(`${TAG}-auto`)!.policySource], ['auto', 'override']);
    assert.deepEqual([rows.get(`${TAG}-d`)!.policy, rows.get(`${TAG}-d`)!.policySource], ['manual', 'default']);

    await images.publish('healthy2', TAG); // the same tag, new content
    const before = await registryChecks(TAG);
    await bed.admin.post('/api/v1/updates/check', { hosts: [direct.name, agent.name], autoUpdate: false });
    assert.equal((await registryChecks(TAG)) - before, 1, 'one check of the tag for five containers on two hosts');
    rows = await checks(names);
    for (const n of [`${TAG}-d`, `${TAG}-a`, `${TAG}-bad`, `${TAG}-auto`]) assert.equal(rows.get(n)?.status, 'update_available', JSON.stringify(rows.get(n)));
    assert.equal(rows.get(`${TAG}-pin`)?.status, 'pinned');
    const notice = await waitFor('update_available webhook', async () => received.find((r) => r.event === 'update_available' && r.notices.some((n) => n.container?.name === `${TAG}-d`)));
    assert.equal(notice.valid, true, 'the webhook is signed with the target\'s secret');
    const pinned = await bed.admin.post(`/api/v1/hosts/${direct.name}/containers/${TAG}-pin/update`, {});
    assert.equal(pinned.status, 409);
    assert.match(pinned.body.message, /pinned/);
  });

  test('a manual update on a direct host and on the agent host moves to the new digest with the configuration kept', async () => {
    for (const [host, name] of [[direct, `${TAG}-d`], [agent, `${TAG}-a`]] as const) {
      const d = clientOf(host.node);
      const old = await inspectContainer(d, name);
      const started = Date.now();
      const res = await bed.admin.post(`/api/v1/hosts/${host.name}/containers/${name}/update`, {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'updated', JSON.stringify(res.body));
      process.stdout.write(`# update on ${host.kind} host ${host.name}: ${Date.now() - started} ms (${res.body.durationMs} ms on the host)\n`);
      assert.ok((res.body.steps as { step: string }[]).some((s) => s.step === 'health'), JSON.stringify(res.body.steps));
      const now = await inspectContainer(d, name);
      assert.notEqual(now.Id, old.Id);
      assert.notEqual(now.Image, old.Image, 'runs the new image');
      assert.ok(now.Config.Env?.includes('KEEP=me'));
      assert.equal(now.State.Running, true);
      const history = (await bed.admin.get(`/api/v1/updates/runs?host=${host.name}&container=${name}`)).body as { id: string; status: string }[];
      assert.equal(history[0]?.id, res.body.id);
    }
    await sync([direct.name, agent.name]);
    await bed.admin.post('/api/v1/updates/check', { hosts: [direct.name, agent.name], autoUpdate: false });
    const rows = await checks([`${TAG}-d`, `${TAG}-a`]);
    assert.equal(rows.get(`${TAG}-d`)?.status, 'up_to_date');
    assert.equal(rows.get(`${TAG}-a`)?.status, 'up_to_date');
    const audit = (await bed.admin.get('/api/v1/audit?limit=200')).body as { action: string; target: string; result: string }[] | { items: { action: string; target: string }[] };
    const items = Array.isArray(audit) ? audit : audit.items;
    assert.ok(items.some((a) => a.action === 'container update' && a.target === `${agent.name}/${TAG}-a`), 'one audit record per update');
  });

  test('an image whose healthcheck fails is rolled back on the agent host: the old container runs again under its name', async () => {
    await images.publish('unhealthy', TAG);
    const d = clientOf(agent.node);
    const old = await inspectContainer(d, `${TAG}-a`);
    const res = await bed.admin.post(`/api/v1/hosts/${agent.name}/containers/${TAG}-a/update`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'rolled_back', JSON.stringify(res.body));
    assert.match(res.body.reason, /health/i);
    const now = await inspectContainer(d, `${TAG}-a`);
    assert.equal(now.Id, old.Id, 'the old container itself, renamed back');
    assert.equal(now.State.Running, true);
    assert.equal(now.Image, old.Image);
    const notice = await waitFor('rolled_back webhook', async () => received.find((r) => r.event === 'rolled_back'));
    assert.equal(notice.valid, true);
    assert.match(notice.notices[0]?.reason ?? '', /health/i);
  });

  test('a check updates an auto container and leaves manual ones waiting', async () => {
    await images.publish('healthy2', TAG);
    const d = clientOf(agent.node);
    const auto = await inspectContainer(d, `${TAG}-auto`);
    const bad = await inspectContainer(clientOf(direct.node), `${TAG}-bad`);
    await bed.admin.post('/api/v1/updates/check', { hosts: [direct.name, agent.name] });
    const now = await inspectContainer(d, `${TAG}-auto`);
    assert.notEqual(now.Id, auto.Id, 'the auto container was updated');
    assert.equal((await inspectContainer(clientOf(direct.node), `${TAG}-bad`)).Id, bad.Id, 'a manual container is not');
    const runs = (await bed.admin.get(`/api/v1/updates/runs?container=${TAG}-auto`)).body as { trigger: string; status: string }[];
    assert.equal(runs[0]?.trigger, 'auto');
    assert.equal(runs[0]?.status, 'updated');
  });
});
