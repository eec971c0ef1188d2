// Legacy link removal through the fleet endpoint: `docker rm --link /web/db`
// sends DELETE /containers/web/db?link=1, whose two segments are the link
// (parent/alias), not host/name. On a targeted host (header or base path) and
// routed by the parent's name, the engine removes the link as it does when asked
// directly, and answers its own errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { labState, sharedNodes, type LabState } from '../lab/fixture.ts';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { dockerCli, type DockerCli } from '../helpers/docker-cli.ts';
import { splitHostPrefix } from '../../src/dockerapi/host-prefix.ts';

let srv: TestServer;
let lab: LabState;
let cli: DockerCli;
const sfx = crypto.randomBytes(3).toString('hex');
const hosts = ['lk1', 'lk2'];
const made: { host: string; name: string }[] = [];

before(async () => {
  lab = await labState();
  srv = await startTestServer();
  const nodes = sharedNodes(lab);
  for (const [i, host] of hosts.entries()) assert.equal((await srv.admin.post('/api/v1/hosts', { name: host, endpoint: nodes[i + 3]!.unix })).status, 201);
  await waitFor('hosts connected', async () => ((await srv.admin.get('/api/v1/hosts')).body as { status: string }[]).every((h) => h.status === 'connected'));
  cli = dockerCli({ port: srv.handle.docker!.port, caPem: srv.handle.cluster!.ca.certPem, token: srv.admin.token });
});
after(async () => {
  for (const c of made.reverse()) await cli.run(['rm', '-f', c.name], { target: c.host });
  await srv?.close();
});

/** db and web (linked to db as "db") on the default bridge of `host`; returns their names. */
async function linkedPair(host: string, tag: string): Promise<{ web: string; db: string }> {
  const db = `lkdb-${tag}-${sfx}`;
  const web = `lkweb-${tag}-${sfx}`;
  for (const [name, extra] of [[db, []], [web, ['--link', `${db}:db`]]] as const) {
    const r = await cli.run(['run', '-d', '--name', name, ...extra, lab.images.busybox1, 'sleep', '300'], { target: host });
    assert.equal(r.code, 0, r.stderr);
    made.push({ host, name });
  }
  assert.deepEqual(await links(host, web), [`/${db}:/${web}/db`]);
  return { web, db };
}

async function links(host: string, name: string): Promise<string[] | null> {
  const r = await cli.run(['inspect', '--format', '{{json .HostConfig.Links}}', name], { target: host });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function running(host: string, name: string): Promise<boolean> {
  const r = await cli.run(['inspect', '--format', '{{.State.Running}}', name], { target: host });
  return r.stdout.trim() === 'true';
}

test('docker rm --link on a host named by X-Flotilla-Target removes the link, both containers stay', async () => {
  const { web, db } = await linkedPair('lk1', 'hdr');
  const rm = await cli.run(['rm', '--link', `/${web}/db`], { target: 'lk1' });
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(rm.stdout.trim(), `/${web}/db`, 'the CLI names what it removed');
  assert.equal(await links('lk1', web), null);
  assert.ok((await running('lk1', web)) && (await running('lk1', db)));
  // A second removal of the same link: the engine's own 404.
  const again = await cli.run(['rm', '--link', `/${web}/db`], { target: 'lk1' });
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, new RegExp(`No such container: ${web}/db`));
});

test('docker rm --link by the /hosts/<name> base path removes the link', async () => {
  const { web } = await linkedPair('lk2', 'base');
  const rm = await cli.run(['rm', '--link', `${web}/db`], { basePath: '/hosts/lk2' });
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(await links('lk2', web), null);
});

test('docker rm --link without a target goes to the host that has the parent; host/parent/alias works too', async () => {
  const a = await linkedPair('lk1', 'route');
  const byName = await cli.run(['rm', '--link', `/${a.web}/db`]);
  assert.equal(byName.code, 0, byName.stderr);
  assert.equal(await links('lk1', a.web), null);
  const b = await linkedPair('lk2', 'pfx');
  const byPrefix = await cli.run(['rm', '--link', `lk2/${b.web}/db`]);
  assert.equal(byPrefix.code, 0, byPrefix.stderr);
  assert.equal(await links('lk2', b.web), null);
});

test('the splitter: link=1 makes DELETE /containers/a/b a link, not host/name', () => {
  const isHost = (n: string) => n === 'lk1';
  assert.equal(splitHostPrefix('DELETE', '/containers/lk1/db', isHost, '?link=1'), undefined, 'parent named like a host is still the parent');
  assert.equal(splitHostPrefix('DELETE', '/containers/web/db', isHost, '?link=true'), undefined);
  assert.deepEqual(splitHostPrefix('DELETE', '/containers/lk1/web/db', isHost, '?link=1'), { host: 'lk1', path: '/containers/web/db' });
  // link=0 / false is an ordinary remove: host/name as before.
  assert.deepEqual(splitHostPrefix('DELETE', '/containers/lk1/web', isHost, '?link=0&force=1'), { host: 'lk1', path: '/containers/web' });
  assert.deepEqual(splitHostPrefix('DELETE', '/containers/lk1/web', isHost, '?link=false'), { host: 'lk1', path: '/containers/web' });
});
