// The fleet endpoint under bad input: malformed bodies, API versions it does not
// speak, oversized headers, hosts that do not exist, clients that hang up in the
// middle of a stream, an engine that stops answering during a merged list. Each
// gets a Docker-style {"message": …} error with the right status, nothing leaks,
// and the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { Agent, fetch as undiciFetch, type Pool } from 'undici';
import { lab, sharedNodes, type LabNode, type LabState } from '../lab/fixture.ts';
import { waitFor } from '../helpers/server.ts';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import type { AgentProcess } from '../helpers/agent-process.ts';
import { engineConnections } from '../helpers/engine-sockets.ts';

let al: AgentLab;
let labSt: LabState;
let agent: AgentProcess;
let port: number;
let ca: string;
let token: string;
let dispatcher: Agent;
let direct: LabNode;
let agentNode: LabNode;
let agentHostId: string;
const sfx = crypto.randomBytes(3).toString('hex');
const cleanup: { host: string; id: string }[] = [];

before(async () => {
  al = await agentLab({ FLOTILLA_DOCKER_FANOUT_TIMEOUT: '2s', FLOTILLA_DOCKER_BODY_IDLE_TIMEOUT: '1s' });
  labSt = al.lab;
  [direct, agentNode] = sharedNodes(labSt) as [LabNode, LabNode];
  await al.srv.admin.post('/api/v1/hosts', { name: 'd1', endpoint: direct.unix });
  agent = al.startAgent(agentNode, 'a2', { FLOTILLA_ENROLL_TOKEN: await al.token() });
  agentHostId = (await al.waitConnected('a2')).id;
  await waitFor('hosts connected', async () => ((await al.srv.admin.get('/api/v1/hosts')).body as any[]).every((h) => h.status === 'connected'));
  port = al.srv.handle.docker!.port;
  ca = al.srv.handle.cluster!.ca.certPem;
  token = al.srv.admin.token;
  dispatcher = new Agent({ connect: { ca } });
});
after(async () => {
  for (const c of cleanup) await call('DELETE', `/v1.41/containers/${c.id}?force=1`, { target: c.host }).catch(() => undefined);
  await dispatcher?.close();
  await agent?.kill();
  await al?.srv.close();
});

async function call(method: string, path: string, opts: { target?: string; body?: string; headers?: Record<string, string> } = {}) {
  const res = await undiciFetch(`https://127.0.0.1:${port}${path}`, {
    method, dispatcher, body: opts.body,
    headers: { authorization: `Bearer ${token}`, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.target ? { 'x-flotilla-target': opts.target } : {}), ...opts.headers },
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A Docker-style error: the status, JSON content, and a message matching `pattern`. */
function dockerError(r: Awaited<ReturnType<typeof call>>, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.text.slice(0, 300));
  assert.match(r.headers.get('content-type') ?? '', /application\/json/, r.text);
  assert.equal(typeof r.json?.message, 'string', r.text);
  assert.match(r.json.message, pattern);
}

/** The endpoint still answers a real call (not only _ping): a targeted list. */
async function stillServing(): Promise<void> {
  const r = await call('GET', '/v1.41/containers/json?limit=1', { target: 'd1' });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.ok(Array.isArray(r.json));
}

/**
 * One raw TLS connection: write `request`, collect everything until the server closes or `until` matches.
 * `received()` keeps growing after that (a hijacked stream).
 */
function rawExchange(request: string | Buffer, until?: RegExp): Promise<{ text: string; closed: boolean; socket: tls.TLSSocket; received(): string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      resolve({ text, closed, socket, received: () => text });
    };
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (until?.test(text)) finish(false);
    });
    socket.on('error', (err) => (done ? undefined : text ? finish(true) : reject(err)));
    socket.on('close', () => finish(true));
    socket.once('secureConnect', () => socket.write(request));
  });
}

async function runContainer(host: string, cmd: string[]): Promise<string> {
  const created = await call('POST', `/v1.41/containers/create?name=bi-${host}-${crypto.randomBytes(3).toString('hex')}-${sfx}`, {
    target: host, body: JSON.stringify({ Image: labSt.images.busybox1, Cmd: cmd, OpenStdin: false }),
  });
  assert.equal(created.status, 201, created.text);
  cleanup.push({ host, id: created.json.Id });
  const started = await call('POST', `/v1.41/containers/${created.json.Id}/start`, { target: host });
  assert.equal(started.status, 204, started.text);
  return created.json.Id as string;
}

test('malformed JSON bodies on container, network and volume create: 400 with a message, and the server keeps serving', async () => {
  for (const path of ['/v1.41/containers/create', '/v1.41/networks/create', '/v1.41/volumes/create']) {
    for (const body of ['{"Name": ', 'not json at all', '{"Name": "x",}']) {
      const r = await call('POST', path, { target: 'd1', body });
      dockerError(r, 400, /JSON/i);
      assert.doesNotMatch(r.json.message, /internal error/);
    }
    // Untargeted: placed on a host, and refused the same way.
    dockerError(await call('POST', path, { body: '{"Name": ' }), 400, /JSON/i);
  }
  // An empty or non-object container config is the client's mistake too, not the engine's 500.
  dockerError(await call('POST', '/v1.41/containers/create', { target: 'd1', body: '' }), 400, /config cannot be empty|JSON/i);
  dockerError(await call('POST', '/v1.41/containers/create', { target: 'd1', body: 'null' }), 400, /JSON object|config cannot be empty/i);
  dockerError(await call('POST', '/v1.41/containers/create', { target: 'd1', body: '[1]' }), 400, /JSON object/i);
  dockerError(await call('POST', '/v1.41/containers/create', { target: 'd1', body: '{}', headers: { 'content-type': 'text/plain' } }), 400, /Content-Type .*application\/json/);
  await stillServing();
});

test('an operator cannot smuggle a host-owning container past the policy with odd JSON; wrong field types are a 400', async () => {
  const operator = (await al.srv.userWithRole('operator')).token;
  const create = async (body: unknown) => {
    const r = await call('POST', '/v1.41/containers/create', { target: 'd1', body: JSON.stringify(body), headers: { authorization: `Bearer ${operator}` } });
    if (r.status === 201) cleanup.push({ host: 'd1', id: r.json.Id });
    return r;
  };
  const image = labSt.images.busybox1;
  // dockerd reads field names case-insensitively (Go's encoding/json), and a later duplicate overrides an earlier one.
  for (const body of [
    { Image: image, hostconfig: { privileged: true } },
    { Image: image, HOSTCONFIG: { Privileged: true } },
    { Image: image, ['Ho\u017Ftconfig']: { Privileged: true } },
    JSON.parse(`{"Image":"${image}","hostconfig":{"Privileged":true},"HostConfig":{}}`),
    { Image: image, HostConfig: { binds: ['/.:/host'] } },
    { Image: image, HostConfig: { Binds: ['/run/../var/run/docker.sock:/s'] } },
    { Image: image, HostConfig: { mounts: [{ type: 'bind', source: '/' , target: '/h' }] } },
    { Image: image, hostConfig: { pidmode: 'host' } },
  ]) {
    dockerError(await create(body), 403, /only an admin may create a container that/);
  }
  dockerError(await create({ Image: image, HostConfig: { Binds: [1] } }), 400, /HostConfig\.Binds\[0\] must be a string/);
  dockerError(await create({ Image: image, HostConfig: { CapAdd: 'SYS_ADMIN' } }), 400, /HostConfig\.CapAdd must be an array/);
  dockerError(await create({ Image: image, HostConfig: { Mounts: [null] } }), 400, /HostConfig\.Mounts\[0\] must be an object/);
  dockerError(await create({ Image: image, HostConfig: 'privileged' }), 400, /HostConfig must be an object/);
  await stillServing();
});

test('API versions the fleet does not speak are refused as dockerd refuses them', async () => {
  const max = (await call('GET', '/version')).json.ApiVersion as string;
  dockerError(await call('GET', '/v9.99/containers/json'), 400, new RegExp(`^client version 9\\.99 is too new\\. Maximum supported API version is ${max.replace('.', '\\.')}$`));
  dockerError(await call('GET', '/v1.12/containers/json', { target: 'd1' }), 400, /^client version 1\.12 is too old\. Minimum supported API version is 1\.24, please upgrade your client to a newer version$/);
  dockerError(await call('GET', '/v1/containers/json'), 400, /^client version 1 is too old\. Minimum supported API version is 1\.24/);
  dockerError(await call('POST', '/v1.2.3/containers/create', { target: 'd1', body: '{}' }), 400, /client version 1\.2\.3 is too old/);
  // Not a version at all: no such route, as dockerd answers.
  dockerError(await call('GET', '/vabc/containers/json'), 404, /^page not found$/);
  dockerError(await call('GET', '/v1.41x/containers/json', { target: 'd1' }), 404, /^page not found$/);
  // The hijacked calls check it too.
  const upgrade = await rawExchange(`POST /v9.99/exec/${'0'.repeat(64)}/start HTTP/1.1\r\nHost: fleet\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
  assert.match(upgrade.text, /^HTTP\/1\.1 400 /);
  assert.match(upgrade.text, /"message":"client version 9\.99 is too new/);
  // The lowest version we accept and the fleet's own still work.
  assert.equal((await call('GET', '/v1.24/containers/json', { target: 'd1' })).status, 200);
  assert.equal((await call('GET', `/v${max}/containers/json`)).status, 200);
});

test('a path with a malformed percent-encoding is a 400, not a crash', async () => {
  for (const path of ['/v1.41/containers/%E0%A4%A/json', '/hosts/%ZZ/v1.41/containers/json', '/v1.41/containers/d1%2/x/logs', '/v1.41/volumes/%']) {
    dockerError(await call('GET', path), 400, /malformed|percent/i);
  }
  const upgrade = await rawExchange(`POST /v1.41/containers/%E0%A4%A/attach?stream=1 HTTP/1.1\r\nHost: fleet\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
  assert.match(upgrade.text, /^HTTP\/1\.1 400 /);
  await stillServing();
});

test('request headers over 64 KiB: 431 on that connection, and the server keeps serving', async () => {
  const big = 'x'.repeat(70 * 1024);
  const r = await rawExchange(`GET /v1.41/containers/json HTTP/1.1\r\nHost: fleet\r\nAuthorization: Bearer ${token}\r\nX-Padding: ${big}\r\n\r\n`);
  assert.match(r.text, /^HTTP\/1\.1 431 /, r.text.slice(0, 200));
  assert.match(r.text, /\r\n\r\n\{"message":"[^"]*headers[^"]*64 KiB/);
  assert.ok(r.closed, 'the connection is closed after the refusal');
  // Many small headers add up the same way.
  const many = Array.from({ length: 1500 }, (_, i) => `X-H${i}: ${'y'.repeat(50)}\r\n`).join('');
  const r2 = await rawExchange(`GET /v1.41/containers/json HTTP/1.1\r\nHost: fleet\r\nAuthorization: Bearer ${token}\r\n${many}\r\n`);
  assert.match(r2.text, /^HTTP\/1\.1 431 /);
  await stillServing();
});

test('a request body that stalls before its end: 408 after the idle timeout, its engine call and connection closed', async () => {
  const id = await runContainer('d1', ['sleep', '300']);
  const baseline = await inUse('d1');
  const auth = `Host: fleet\r\nAuthorization: Bearer ${token}\r\n`;
  // A body we read ourselves: 100 bytes declared, 9 sent.
  const read = await rawExchange(`POST /v1.41/containers/create HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Image":`);
  assert.match(read.text, /^HTTP\/1\.1 408 /, read.text.slice(0, 200));
  assert.match(read.text, /"message":"the request body stalled: no data for 1 s/);
  assert.ok(read.closed);
  // A body streamed to the engine (an archive upload): the engine call ends with it.
  const streamed = await rawExchange(Buffer.concat([
    Buffer.from(`PUT /v1.41/containers/${id}/archive?path=/tmp HTTP/1.1\r\n${auth}Content-Type: application/x-tar\r\nContent-Length: 10240\r\n\r\n`),
    Buffer.alloc(512),
  ]));
  assert.match(streamed.text, /^HTTP\/1\.1 408 /, streamed.text.slice(0, 200));
  assert.ok(streamed.closed);
  await waitFor('nothing left open', async () => noMoreThan(await inUse('d1'), baseline), 15_000)
    .catch(async (err: Error) => assert.fail(`${err.message}: baseline ${JSON.stringify(baseline)}, now ${JSON.stringify(await inUse('d1'))}`));
  // A slow body that keeps coming (2.5 s in all, never 1 s silent) is not cut.
  const body = Buffer.from(JSON.stringify({ Image: labSt.images.busybox1, Cmd: ['true'] }));
  const slow = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (/\r\n\r\n\{[\s\S]*\}/.test(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.once('secureConnect', async () => {
      socket.write(`POST /v1.41/containers/create HTTP/1.1\r\n${auth}X-Flotilla-Target: d1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      const step = Math.ceil(body.length / 5);
      for (let i = 0; i < body.length; i += step) {
        await new Promise((r) => setTimeout(r, 500));
        socket.write(body.subarray(i, i + step));
      }
    });
  });
  assert.match(slow, /^HTTP\/1\.1 201 /, slow.slice(0, 300));
  cleanup.push({ host: 'd1', id: (JSON.parse(slow.slice(slow.indexOf('\r\n\r\n') + 4)) as { Id: string }).Id });
  await stillServing();
});

test('a target host that does not exist: 404 naming it, by header, base path and on an upgrade', async () => {
  const ghost = `nohost-${sfx}`;
  dockerError(await call('GET', '/v1.41/containers/json', { target: ghost }), 404, new RegExp(`no such host: ${ghost}`));
  dockerError(await call('POST', '/v1.41/containers/create', { target: ghost, body: '{"Image":"x"}' }), 404, new RegExp(`no such host: ${ghost}`));
  dockerError(await call('GET', `/hosts/${ghost}/v1.41/info`), 404, new RegExp(`no such host: ${ghost}`));
  const upgrade = await rawExchange(`POST /hosts/${ghost}/v1.41/exec/${'0'.repeat(64)}/start HTTP/1.1\r\nHost: fleet\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
  assert.match(upgrade.text, /^HTTP\/1\.1 404 /);
  assert.match(upgrade.text, new RegExp(`"message":"no such host: ${ghost}"`));
  await stillServing();
});

/** What a leak would leave behind, per host kind; idle keep-alive connections in the engine pools do not count. */
/** The endpoint's connection pool to one host's engine. */
async function pool(host: string): Promise<Pool> {
  return (await al.srv.handle.docker!.endpoint.resolver.docker(host)).transport.dispatcher as Pool;
}

async function inUse(host: string, node: LabNode = direct): Promise<Record<string, number>> {
  const transport = (await al.srv.handle.docker!.endpoint.resolver.docker(host)).transport;
  // An agent host's transport is a kept-open sync tunnel beside a pool (src/fleet/connections.ts): it counts its own idle ones.
  const idle = transport.idleConnections?.() ?? (await pool(host)).stats.free;
  if (host !== 'a2') return { endpoint: al.srv.handle.docker!.endpoint.openConnections(), engine: (await engineConnections(node)) - idle };
  return {
    endpoint: al.srv.handle.docker!.endpoint.openConnections(),
    tunnels: al.srv.handle.cluster!.sessions.openTunnels(agentHostId) - idle,
    agentEngine: (await engineConnections(agentNode, { pid: agent.child.pid!, netns: agentNode.netns })) - idle,
  };
}

function noMoreThan(now: Record<string, number>, baseline: Record<string, number>): boolean {
  return Object.keys(baseline).every((k) => now[k]! <= baseline[k]!);
}

for (const host of ['d1', 'a2'] as const) {
  test(`an abandoned hijacked exec and a logs follow cut mid-way leak nothing on ${host === 'd1' ? 'a direct host' : 'an agent host'}`, async () => {
    const id = await runContainer(host, ['sh', '-c', 'while true; do echo tick; sleep 0.2; done']);
    const baseline = await inUse(host);
    for (let i = 0; i < 3; i++) {
      // Exec: the stream is upgraded, stdin echoed back, then the client vanishes without a word.
      const exec = await call('POST', `/v1.41/containers/${id}/exec`, { body: JSON.stringify({ AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['cat'] }) });
      assert.equal(exec.status, 201, exec.text);
      const body = '{"Detach":false,"Tty":false}';
      const hijacked = await rawExchange(`POST /v1.41/exec/${exec.json.Id}/start HTTP/1.1\r\nHost: fleet\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`, /101 UPGRADED[\s\S]*\r\n\r\n/);
      hijacked.socket.write(`echo-${i}\n`);
      await waitFor('stdin echoed', () => hijacked.received().includes(`echo-${i}`), 10_000);
      // Logs follow: a few frames arrive, then the client is gone.
      const ctl = new AbortController();
      const logs = await undiciFetch(`https://127.0.0.1:${port}/v1.41/containers/${id}/logs?follow=1&stdout=1&tail=1`, { dispatcher, signal: ctl.signal, headers: { authorization: `Bearer ${token}` } });
      assert.equal(logs.status, 200);
      const reader = logs.body!.getReader();
      assert.ok((await reader.read()).value);
      const during = await inUse(host);
      for (const k of Object.keys(baseline)) assert.ok(during[k]! > baseline[k]!, `the streams are counted in ${k}: ${JSON.stringify({ baseline, during })}`);
      hijacked.socket.destroy();
      ctl.abort();
      await reader.cancel().catch(() => undefined);
    }
    await waitFor('nothing left open', async () => noMoreThan(await inUse(host), baseline), 15_000)
      .catch(async (err: Error) => assert.fail(`${err.message}: baseline ${JSON.stringify(baseline)}, now ${JSON.stringify(await inUse(host))}`));
    await stillServing();
  });
}

/** Sends a request and keeps the connection open without reading anything. */
function sendAndHold(request: string): Promise<tls.TLSSocket> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    socket.on('error', () => undefined);
    socket.once('secureConnect', () => socket.write(request, () => resolve(socket)));
  });
}

function hangUpAfterSending(request: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    socket.on('error', () => undefined);
    // The request, and at once the end of what this client sends: its stdin closed, then it is gone.
    socket.once('secureConnect', () => socket.end(request, () => {
      socket.destroy();
      resolve();
    }));
  });
}

for (const host of ['d1', 'a2'] as const) {
  test(`a client that hangs up right after sending its request leaves nothing open on ${host === 'd1' ? 'a direct host' : 'an agent host'} (logs -f, exec start, events, fleet events)`, async () => {
    const id = await runContainer(host, ['sh', '-c', 'while true; do echo tick; sleep 0.2; done']);
    const baseline = await inUse(host);
    const auth = `Host: fleet\r\nAuthorization: Bearer ${token}\r\n`;
    for (let i = 0; i < 5; i++) {
      // The request is in, the client is gone before any answer: the streams it asked for must not be opened for nobody.
      await hangUpAfterSending(`GET /v1.41/containers/${id}/logs?follow=1&stdout=1 HTTP/1.1\r\n${auth}\r\n`);
      await hangUpAfterSending(`GET /v1.41/events HTTP/1.1\r\n${auth}X-Flotilla-Target: ${host}\r\n\r\n`);
      await hangUpAfterSending(`GET /v1.41/events HTTP/1.1\r\n${auth}\r\n`);
      const exec = await call('POST', `/v1.41/containers/${id}/exec`, { body: JSON.stringify({ AttachStdin: true, AttachStdout: true, Cmd: ['cat'] }) });
      assert.equal(exec.status, 201, exec.text);
      const body = '{"Detach":false,"Tty":false}';
      await hangUpAfterSending(`POST /v1.41/exec/${exec.json.Id}/start HTTP/1.1\r\n${auth}Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
    await waitFor('nothing left open', async () => noMoreThan(await inUse(host), baseline), 15_000)
      .catch(async (err: Error) => assert.fail(`${err.message}: baseline ${JSON.stringify(baseline)}, now ${JSON.stringify(await inUse(host))}`));
    await stillServing();
  });
}

test('an engine that stops answering: a merged list names it as late and comes back without it; clients that leave meanwhile leave nothing open', async () => {
  const name = `bi${sfx}`;
  const node = await lab().addNode(name);
  try {
    await al.srv.admin.post('/api/v1/hosts', { name, endpoint: node.unix, syncIntervalSeconds: 3600 });
    await waitFor(`${name} connected`, async () => (await al.srv.admin.get(`/api/v1/hosts/${name}`)).body.status === 'connected');
    const before = await call('GET', '/v1.41/containers/json');
    assert.equal(before.status, 200);
    assert.equal(before.headers.get('x-flotilla-partial'), null, 'complete while the engine answers');
    const id = await runContainer(name, ['sh', '-c', 'while true; do echo tick; sleep 0.2; done']);
    const onD1 = await runContainer('d1', ['sleep', '300']);
    const exec = await call('POST', `/v1.41/containers/${id}/exec`, { body: JSON.stringify({ AttachStdin: true, AttachStdout: true, Cmd: ['cat'] }) });
    assert.equal(exec.status, 201, exec.text);
    const baseline = await inUse(name, node);
    const running = (await pool(name)).stats.running;
    const pid = Number(fs.readFileSync(node.pidfile, 'utf8').trim());
    process.kill(pid, 'SIGSTOP');
    try {
      // The engine still accepts connections (the kernel does) but never answers.
      const r = await call('GET', '/v1.41/containers/json?all=1');
      assert.equal(r.status, 200, r.text.slice(0, 300));
      assert.match(r.headers.get('x-flotilla-partial') ?? '', new RegExp(`(^|; )${name}=timeout(;|$)`));
      assert.ok((r.json as any[]).some((c) => c.Id === onD1 && c.Labels['flotilla.host'] === 'd1'), 'the other hosts are listed');
      assert.ok(!(r.json as any[]).some((c) => c.Labels['flotilla.host'] === name));
      // Still stopped now: the answer did not wait for it.
      assert.equal(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0], 'T');
      const volumes = await call('GET', '/v1.41/volumes');
      assert.equal(volumes.status, 200);
      assert.ok((volumes.json.Warnings as string[]).some((w) => w.includes(name)), JSON.stringify(volumes.json.Warnings));
      await stillServing();
      // A logs follow and an exec start wait on the stopped engine; their clients give up and leave.
      const auth = `Host: fleet\r\nAuthorization: Bearer ${token}\r\n`;
      const body = '{"Detach":false,"Tty":false}';
      const logs = await sendAndHold(`GET /v1.41/containers/${id}/logs?follow=1&stdout=1 HTTP/1.1\r\n${auth}\r\n`);
      // The exec client closes its stdin with the request and is gone before any answer.
      (await sendAndHold(`POST /v1.41/exec/${exec.json.Id}/start HTTP/1.1\r\n${auth}Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)).destroy();
      // Both requests are out to the engine (in flight in its connection pool); the logs client leaves too.
      await waitFor('both waiting on the engine', async () => (await pool(name)).stats.running >= running + 2);
      logs.destroy();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Once the engine answers again, nothing is left open on its side for the clients that left.
    await waitFor('nothing left open', async () => noMoreThan(await inUse(name, node), baseline), 15_000)
      .catch(async (err: Error) => assert.fail(`${err.message}: baseline ${JSON.stringify(baseline)}, now ${JSON.stringify(await inUse(name, node))}`));
    const after = await waitFor('complete again', async () => {
      const r = await call('GET', '/v1.41/containers/json');
      return r.headers.get('x-flotilla-partial') === null && r;
    });
    assert.equal(after.status, 200);
  } finally {
    await al.srv.admin.request('DELETE', `/api/v1/hosts/${name}`);
    await lab().removeNode(name);
  }
});
