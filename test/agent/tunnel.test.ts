// Everything the foundation does on a direct host works the same on an agent
// host, through the tunnel: lifecycle, logs follow, exec, attach; and a
// followed log does not hold up the control channel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import { waitFor } from '../helpers/server.ts';
import { readNdjson } from '../helpers/ndjson.ts';
import type { AgentProcess } from '../helpers/agent-process.ts';
import { attachContainer } from '../../src/docker/container-attach.ts';
import { createContainer, startContainer, removeContainer, waitContainer } from '../../src/docker/containers.ts';

let al: AgentLab;
let agent: AgentProcess;
const sfx = crypto.randomBytes(3).toString('hex');
const api = (p: string) => `/api/v1/hosts/tun/${p}`;

before(async () => {
  al = await agentLab();
  agent = al.startAgent(al.lab.nodes[2]!, 'tun', { FLOTILLA_ENROLL_TOKEN: await al.token() });
  await al.waitConnected('tun');
});
after(async () => {
  await agent?.kill();
  await al?.srv.close();
});

test('full container lifecycle, exec and stats through the agent', async () => {
  const name = `tl-${sfx}`;
  const created = await al.srv.admin.post(api('containers'), { name, start: true, config: { Image: al.lab.images.busybox1, Cmd: ['sh', '-c', 'echo hi-there; exec sleep 300'] } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.Id;
  try {
    assert.equal((await al.srv.admin.get(api(`containers/${id}`))).body.State.Running, true);
    const logs = await waitFor('logs', async () => {
      const r = await al.srv.admin.get(api(`containers/${id}/logs?tail=5`));
      return r.body.lines?.some((l: any) => l.line === 'hi-there') && r.body;
    });
    assert.equal(logs.lines[0].stream, 'stdout');
    const exec = await al.srv.admin.post(api(`containers/${id}/exec`), { cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    assert.deepEqual(exec.body, { exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    assert.equal((await al.srv.admin.get(api(`containers/${id}/stats`))).status, 200);
    assert.equal((await al.srv.admin.post(api(`containers/${id}/restart?t=1`))).status, 204);
    // Events come over the channel and keep the inventory current.
    await waitFor('container in inventory', async () =>
      ((await al.srv.admin.get(api('containers?source=inventory'))).body as any[]).some((c) => c.Id === id));
    const ev = await waitFor('events stored', async () => {
      const r = (await al.srv.admin.get('/api/v1/events?host=tun&limit=200')).body as any[];
      return r.some((e) => e.action === 'restart' || e.action === 'start') && r;
    });
    assert.ok(ev.length > 0);
  } finally {
    assert.equal((await al.srv.admin.request('DELETE', api(`containers/${id}?force=true`))).status, 204);
  }
  assert.equal((await al.srv.admin.get(api(`containers/${id}`))).status, 404);
});

test('logs follow streams through the tunnel while the channel keeps answering', async () => {
  const name = `tf-${sfx}`;
  await al.srv.admin.post(api('containers'), { name, start: true, config: { Image: al.lab.images.busybox1, Cmd: ['sh', '-c', 'i=0; while [ $i -lt 10 ]; do i=$((i+1)); echo n-$i; sleep 0.3; done'] } });
  try {
    const res = await fetch(`${al.srv.url}${api(`containers/${name}/logs?follow=true&tail=0`)}`, { headers: { authorization: `Bearer ${al.srv.admin.token}` } });
    assert.equal(res.status, 200);
    const row = await al.srv.handle.fleet.getHostRow('tun');
    const lines: string[] = [];
    const pings: number[] = [];
    for await (const item of readNdjson(res)) {
      lines.push(item.line);
      // A command round trip on the control channel while the log is streaming.
      const t = performance.now();
      const r = await al.srv.handle.cluster!.sessions.command(row.id, row.name, { $case: 'ping', value: { serverTimeMs: Date.now() } }, 5000);
      assert.equal(r.ok, true);
      pings.push(performance.now() - t);
    }
    assert.ok(lines.length >= 3, JSON.stringify(lines));
    assert.equal(lines.at(-1), 'n-10');
    assert.ok(pings.every((ms) => ms < 2000), `pings during the follow: ${pings.map((p) => p.toFixed(1)).join(', ')} ms`);
  } finally {
    await al.srv.admin.request('DELETE', api(`containers/${name}?force=true`));
  }
});

test('attach (a hijacked connection) works through the tunnel, binary-safe', async () => {
  const { docker } = await al.srv.handle.fleet.docker('tun');
  const { Id } = await createContainer(docker, `ta-${sfx}`, { Image: al.lab.images.busybox1, Cmd: ['cat'], OpenStdin: true, StdinOnce: true, Tty: false, AttachStdin: true, AttachStdout: true });
  try {
    const socket = await attachContainer(docker, Id, { stdin: true, stdout: true, stderr: true });
    await startContainer(docker, Id);
    const payload = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0x1b]);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.end(payload);
    await waitContainer(docker, Id);
    await waitFor('output', async () => Buffer.concat(received).length >= payload.length + 8, 5000, 50);
    const all = Buffer.concat(received);
    // One stdout frame: 8-byte header then the bytes we sent, unchanged.
    assert.equal(all[0], 1);
    assert.deepEqual(all.subarray(8, 8 + payload.length), payload);
  } finally {
    await removeContainer(docker, Id, { force: true });
  }
});

test('an unreachable agent is a clear 502, not a hang', async () => {
  await agent.kill();
  await waitFor('tun disconnected', async () => (await al.srv.admin.get('/api/v1/hosts/tun')).body.status === 'disconnected');
  const started = Date.now();
  const res = await al.srv.admin.get(api('containers'));
  assert.equal(res.status, 502);
  assert.match(res.body.message, /host "tun": .*agent is not connected/);
  assert.ok(Date.now() - started < 3000);
  const host = (await al.srv.admin.get('/api/v1/hosts/tun')).body;
  assert.equal(host.agent.disconnectReason, 'network');
});
