// The server goes away: the agent journals what it sees (to disk, surviving its
// own restart), turns autonomous after the grace period, and on reconnect
// replays the journal once and clears it only after the server acknowledged it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { labState } from '../lab/fixture.ts';
import { apiClient, ADMIN_PASSWORD, waitFor } from '../helpers/server.ts';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { signIn } from '../helpers/sign-in.ts';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.ts';
import { DockerClient } from '../../src/docker/client.ts';
import { createTransport } from '../../src/transports/index.ts';
import { createContainer, removeContainer, startContainer } from '../../src/docker/containers.ts';
import { OfflineJournal } from '../../src/agent/journal.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const journalLines = (dir: string) => {
  const f = path.join(dir, 'offline-journal.jsonl');
  // Entries only: after a clear the file keeps one line with the sequence high-water mark.
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.includes('"seq"')) : [];
};

test('offline journal: survives an agent restart, replayed once on reconnect, cleared after the ack', async () => {
  const lab = await labState();
  const node = lab.nodes[2]!;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'srv-journal-'));
  const agentPort = await freePort();
  const serverEnv = { FLOTILLA_DATA_DIR: dataDir, FLOTILLA_AGENT_PORT: String(agentPort), FLOTILLA_DOCKER_PORT: '0', FLOTILLA_AGENT_HEARTBEAT: '1s' };
  let server: ServerProcess = await startServerProcess({ ...serverEnv, FLOTILLA_TEST_ENROLL_TOKEN: '1' });
  cleanups.push(() => server.kill(), async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const anon = apiClient(server.url, undefined);
  assert.equal((await anon.post('/api/v1/setup', { setupCode: server.setupCode, username: 'admin', password: ADMIN_PASSWORD })).status, 201);

  const agentEnv = {
    FLOTILLA_SERVER_ADDR: `${lab.net}.0.1:${agentPort}`, FLOTILLA_HOST_NAME: 'journaler', FLOTILLA_DOCKER_HOST: node.unix,
    FLOTILLA_GRACE_PERIOD_OFFLINE: '2s',
  };
  let agent: AgentProcess = spawnAgent({ netns: node.netns, env: { ...agentEnv, FLOTILLA_ENROLL_TOKEN: server.token! } });
  cleanups.push(() => agent.kill());
  await agent.seen('connected');

  // The server dies mid-stream.
  await server.kill('SIGKILL');
  await agent.seen('disconnected');
  const autonomous = await agent.next('autonomous', 15_000);
  assert.equal(autonomous.on, true);

  // Things happen on the engine while nobody is watching but the agent.
  const docker = new DockerClient(createTransport({ url: node.unix, label: node.name }));
  cleanups.push(() => docker.close());
  const name = `offline-${crypto.randomBytes(3).toString('hex')}`;
  const { Id } = await createContainer(docker, name, { Image: lab.images.busybox1, Cmd: ['true'] });
  await startContainer(docker, Id);
  await removeContainer(docker, Id, { force: true });
  await waitFor('events journaled', async () => journalLines(agent.dir).some((l) => l.includes(Id) && l.includes('"destroy')));
  const before = journalLines(agent.dir).length;
  assert.equal(journalLines(agent.dir).filter((l) => l.includes(Id) && l.includes('"destroy')).length, 1, 'journaled once');

  // The agent itself is killed, hard, and comes back still offline: nothing journaled is lost.
  await agent.kill('SIGKILL');
  const journal = await OfflineJournal.open(agent.dir);
  assert.equal(journal.size, before);
  assert.ok(journal.pending().some((e) => e.kind === 'autonomous_enter'));
  // While the agent is down, the engine goes on; the restarted agent resumes its event stream where the journal stops.
  const { Id: downId } = await createContainer(docker, `${name}-down`, { Image: lab.images.busybox1, Cmd: ['true'] });
  await removeContainer(docker, downId, { force: true });
  agent = spawnAgent({ netns: node.netns, env: agentEnv, dir: agent.dir });
  await agent.seen('started');
  await waitFor('events from the agent\'s downtime journaled', async () => journalLines(agent.dir).some((l) => l.includes(downId) && l.includes('"destroy')));
  assert.equal(journalLines(agent.dir).filter((l) => l.includes(Id) && l.includes('"destroy')).length, 1, 'nothing journaled twice');

  // The server returns on the same address with the same data.
  server = await startServerProcess(serverEnv);
  await agent.next('connected', 40_000);
  await waitFor('journal cleared after the ack', async () => journalLines(agent.dir).length === 0, 20_000);
  const admin = await signIn(server.url);
  const replayed = await waitFor('replayed events', async () => {
    const rows = (await admin.get('/api/v1/events?type=journal&limit=1000')).body as any[];
    return rows.some((r) => JSON.stringify(r.data).includes(Id) && r.action === 'event') && rows;
  });
  const destroyEvents = replayed.filter((r: any) => r.data?.data?.Action === 'destroy' && r.data?.data?.Actor?.ID === Id);
  assert.equal(destroyEvents.length, 1, `replayed exactly once: ${JSON.stringify(destroyEvents.map((r: any) => ({ id: r.id, seq: r.data.seq, at: r.at, t: r.data.data.timeNano })))}`);
  assert.ok(replayed.some((r: any) => r.action === 'autonomous_enter'));

  // Reconnecting again replays nothing more.
  await agent.kill();
  agent = spawnAgent({ netns: node.netns, env: agentEnv, dir: agent.dir });
  await agent.seen('connected', 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  const again = (await admin.get('/api/v1/events?type=journal&limit=1000')).body as any[];
  assert.equal(again.filter((r: any) => r.data?.data?.Action === 'destroy' && r.data?.data?.Actor?.ID === Id).length, 1);
});

test('a torn last line (agent killed mid-write) is ignored, earlier entries kept', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'journal-torn-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const j = await OfflineJournal.open(dir);
  await j.append('event', { n: 1 });
  await j.append('event', { n: 2 });
  fs.appendFileSync(path.join(dir, 'offline-journal.jsonl'), '{"seq":3,"atMs":1,"kind":"ev');
  const reopened = await OfflineJournal.open(dir);
  assert.deepEqual(reopened.pending().map((e) => e.seq), [1, 2]);
  const next = await reopened.append('event', { n: 3 });
  assert.equal(next.seq, 3);
  await reopened.clearThrough(2);
  assert.deepEqual((await OfflineJournal.open(dir)).pending().map((e) => e.seq), [3]);
  // Numbering survives a full clear and a restart, so the server's de-duplication never drops new entries.
  const j2 = await OfflineJournal.open(dir);
  await j2.clearThrough(3);
  assert.equal((await (await OfflineJournal.open(dir)).append('event', {})).seq, 4);
});
