// `flotilla token …` (enrollment tokens), `enroll`, `agent` and the agent host
// actions (`host pause|resume|ping|revoke`) against a real server; the agent
// runs as a real `flotilla agent` process on the lab's node1 engine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { labState, sharedNodes } from '../lab/fixture.ts';
import { BIN, collect, ok, parseJson, runCli, startTestServer, uniqueName, waitFor, type TestServer } from './helpers.ts';

const TOKEN = /FLT1-[0-9a-f]{64}-[0-9a-f]{64}/;

let ts: TestServer;
let agentAddr: string;

before(async () => {
  ts = await startTestServer({ admin: true });
  agentAddr = `127.0.0.1:${ts.server.cluster!.port}`;
});
after(async () => {
  await ts.close();
});

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-cli-agent-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'identity');
}

async function newToken(...args: string[]): Promise<string> {
  return ok(await ts.cli(['token', 'create', '--quiet', ...args])).stdout.trim();
}

test('token create prints the enrollment token once with the docker run and flotilla agent lines', async () => {
  const r = ok(await ts.cli(['token', 'create', '--label', 'rack 4']));
  const token = TOKEN.exec(r.stdout)?.[0];
  assert.ok(token, r.stdout);
  const lines = r.stdout.split('\n').map((l) => l.trim());
  const docker = lines.find((l) => l.startsWith('docker run '));
  const agent = lines.find((l) => l.endsWith(' flotilla agent'));
  assert.ok(docker?.includes(`FLOTILLA_ENROLL_TOKEN=${token}`) && docker.includes(`FLOTILLA_SERVER_ADDR=${agentAddr}`), r.stdout);
  assert.ok(agent?.includes(`FLOTILLA_ENROLL_TOKEN=${token}`) && agent.startsWith(`FLOTILLA_SERVER_ADDR=${agentAddr} `), r.stdout);
  assert.match(r.stdout, /shown only now/);

  // --quiet: the token alone, for scripts; --json: the whole answer.
  assert.match(await newToken(), new RegExp(`^${TOKEN.source}$`));
  const json = parseJson<{ token: string; info: { id: string }; commands: { docker: string; agent: string } }>(ok(await ts.cli(['token', 'create', '--json'])));
  assert.match(json.token, TOKEN);
  assert.ok(json.commands.docker.includes(json.token));

  const table = ok(await ts.cli(['token', 'ls'])).stdout;
  const listed = ok(await ts.cli(['token', 'ls', '--json'])).stdout;
  for (const out of [table, listed]) assert.ok(!out.includes(token.slice(-64)) && !out.includes(json.token.slice(-64)), 'token ls shows a secret');
  assert.match(table, /^ID\s+KIND\s+USES LEFT\s+EXPIRES\s+LABEL\s+CREATED BY/);
  assert.ok(table.includes('rack 4'), table);

  ok(await ts.cli(['token', 'rm', json.info.id]));
  const again = await ts.cli(['token', 'rm', json.info.id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not found/);
});

test('token create --fleet takes uses, ttl and label; wrong values are usage errors naming the flag', async () => {
  const t = parseJson<{ info: { kind: string; uses_total: number; expires_at: string; label: string }; commands: { docker: string } }>(
    ok(await ts.cli(['token', 'create', '--fleet', '--uses', '5', '--ttl', '2h', '--label', 'swarm-a', '--json'])),
  );
  assert.equal(t.info.kind, 'fleet');
  assert.equal(t.info.uses_total, 5);
  assert.equal(t.info.label, 'swarm-a');
  const ttl = Date.parse(t.info.expires_at) - Date.now();
  assert.ok(ttl > 7100_000 && ttl <= 7200_000, `ttl ${ttl}`);
  assert.match(t.commands.docker, /^docker service create --mode global /);

  const single = await ts.cli(['token', 'create', '--uses', '5']);
  assert.equal(single.code, 2);
  assert.match(single.stderr, /--uses 5' needs --fleet/);
  const short = await ts.cli(['token', 'create', '--ttl', '10s']);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /--ttl/);
  const junk = await ts.cli(['token', 'create', '--ttl', 'soon']);
  assert.equal(junk.code, 2);
  assert.match(junk.stderr, /--ttl/);
});

test('api-token still creates API tokens, which are not enrollment tokens', async () => {
  const r = ok(await ts.cli(['api-token', 'create', uniqueName('api')]));
  assert.match(r.stdout.trim(), /^flt_[0-9a-f]{64}$/);
});

test('flotilla agent with a bad FLOTILLA_SERVER_ADDR exits 2 naming the variable', async () => {
  const r = await runCli(['agent'], { env: { FLOTILLA_SERVER_ADDR: 'not an address' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /FLOTILLA_SERVER_ADDR/);
  const missing = await runCli(['agent']);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /FLOTILLA_SERVER_ADDR/);
});

test('flotilla enroll with a real token writes the identity; the used token then fails with the server\'s message', async (t) => {
  const dir = tempDir(t);
  const token = await newToken();
  const name = uniqueName('enr');
  const r = ok(await runCli(['enroll', '--server', agentAddr, '--token-stdin', '--name', name, '--dir', dir], { input: `${token}\n` }));
  assert.match(r.stdout, new RegExp(`enrolled as host ${name}`));
  assert.ok(r.stdout.includes(dir), r.stdout);
  for (const f of ['ca.pem', 'agent.pem', 'agent-key.pem', 'host-id']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  assert.equal(fs.statSync(path.join(dir, 'agent-key.pem')).mode & 0o777, 0o600);
  const hostId = fs.readFileSync(path.join(dir, 'host-id'), 'utf8').trim();
  const host = parseJson<{ id: string; kind: string }>(ok(await ts.cli(['host', 'show', name, '--json'])));
  assert.equal(host.id, hostId);
  assert.equal(host.kind, 'agent');
  assert.ok(!fs.readdirSync(dir).some((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes(token.slice(-64))), 'the token was stored');

  const otherDir = tempDir(t);
  const used = await runCli(['enroll', '--server', agentAddr, '--token', token, '--name', uniqueName('enr2'), '--dir', otherDir]);
  assert.equal(used.code, 1, used.stderr);
  assert.match(used.stderr, /^flotilla: enrollment refused: enrollment token has already been used/m);
  assert.ok(!fs.existsSync(path.join(otherDir, 'host-id')));

  const again = await runCli(['enroll', '--server', agentAddr, '--token', await newToken(), '--dir', dir]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds the identity/);
  ok(await ts.cli(['host', 'rm', name]));
});

test('flotilla enroll without a token and without a terminal says how to give one; bad flags exit 2', async (t) => {
  const r = await runCli(['enroll', '--server', agentAddr, '--dir', tempDir(t)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no enrollment token: pass --token-stdin/);
  const bad = await runCli(['enroll', '--server', 'nowhere', '--token', 'x', '--dir', tempDir(t)]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--server/);
  const noServer = await runCli(['enroll', '--token', 'x']);
  assert.equal(noServer.code, 2);
  assert.match(noServer.stderr, /--server/);
});

test('a flotilla agent process connects; host ls shows its kind; ping, pause, resume, revoke; SIGTERM stops it', async (t) => {
  const node1 = sharedNodes(await labState())[0]!;
  const dir = tempDir(t);
  const name = uniqueName('agt');
  const env = { FLOTILLA_SERVER_ADDR: agentAddr, FLOTILLA_ENROLL_TOKEN: await newToken(), FLOTILLA_HOST_NAME: name, FLOTILLA_CLUSTER_DIR: dir, FLOTILLA_DOCKER_HOST: node1.unix, FLOTILLA_LOG_LEVEL: 'info' };
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_')));
  const child = spawn(BIN, ['agent'], { env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = collect(child, { timeoutMs: 10 * 60_000 }); // a long-lived agent: the default 60 s deadline would SIGKILL it on a loaded machine
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  type Host = { name: string; kind: string; status: string; agent: { state: string } | null };
  await waitFor('the agent host connected', async () => {
    const hosts = parseJson<Host[]>(ok(await ts.cli(['host', 'ls', '--json'])));
    return hosts.find((h) => h.name === name && h.status === 'connected');
  }, 30_000);
  const row = ok(await ts.cli(['host', 'ls'])).stdout.split('\n').find((l) => l.startsWith(name));
  assert.match(row!, new RegExp(`^${name}\\s+agent\\s+connected`));

  assert.match(ok(await ts.cli(['host', 'ping', name])).stdout, new RegExp(`^${name}: pong in [\\d.]+ ms`));
  assert.equal(parseJson<{ agent: { state: string } }>(ok(await ts.cli(['host', 'pause', name, '--json']))).agent.state, 'paused');
  assert.match(ok(await ts.cli(['host', 'ls'])).stdout, new RegExp(`^${name}\\s+agent\\s+connected \\(paused\\)`, 'm'));
  assert.match(ok(await ts.cli(['host', 'resume', name])).stdout, /agent active/);
  assert.match(ok(await ts.cli(['host', 'show', name])).stdout, /^Agent state:\s+active$/m);

  ok(await ts.cli(['host', 'revoke', name]));
  const gone = await ts.cli(['host', 'show', name]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /not found/);

  child.kill('SIGTERM');
  const r = await exited;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"msg":"agent stopping"/);
  assert.ok(!r.stdout.includes(env.FLOTILLA_ENROLL_TOKEN.slice(-64)), 'the agent logged its token');
});

test('pause, resume, revoke and ping of a direct host fail with the server\'s message', async () => {
  const name = uniqueName('direct');
  ok(await ts.cli(['host', 'add', name, 'tcp://127.0.0.1:1']));
  try {
    for (const action of ['pause', 'resume', 'revoke', 'ping']) {
      const r = await ts.cli(['host', action, name]);
      assert.equal(r.code, 1, action);
      assert.match(r.stderr, new RegExp(`${action} applies to agent hosts`));
    }
  } finally {
    await ts.cli(['host', 'rm', name]);
  }
});

test('FLOTILLA_MODE=agent with no command runs the agent (headless start, SPEC A2)', async () => {
  const res = await runCli([], { env: { FLOTILLA_MODE: 'agent', FLOTILLA_SERVER_ADDR: 'not an address' } });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /invalid agent configuration[\s\S]*FLOTILLA_SERVER_ADDR/);
});
