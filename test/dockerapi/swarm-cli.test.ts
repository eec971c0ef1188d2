// The real docker CLI (28.x) against the fleet endpoint for Swarm: nodes,
// services (create, ls, ps, logs, logs -f, update, rollback, rm), secrets and
// configs on the shared lab swarm (3 managers, 2 workers, node5 an agent host).
// Calls go to a manager through the ManagerRouter; nothing names a host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from '../swarm/swarm-lab.ts';
import { dockerCli, type DockerCli } from '../helpers/docker-cli.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = await noSharedSwarm();
let bed: SwarmBed;
let cli: DockerCli;
const sfx = crypto.randomBytes(3).toString('hex');
const svc = `cli-${sfx}`;
const secret = `sec-${sfx}`;
const config = `cfg-${sfx}`;

before(async () => {
  if (skip) return;
  bed = await sharedSwarmBed();
  cli = dockerCli({ port: bed.srv.handle.docker!.port, caPem: bed.srv.handle.cluster!.ca.certPem, token: bed.admin.token });
});
after(async () => {
  if (skip || !cli) return bed?.close();
  // Whatever a failed test left behind (each is a no-op when already gone).
  await cli.run(['service', 'rm', svc]);
  await cli.run(['secret', 'rm', secret]);
  await cli.run(['config', 'rm', config]);
  await bed.close();
});

async function ok(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await cli.run(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The images of the service's running tasks, as `docker service ps` shows them. */
async function runningImages(): Promise<string[]> {
  const out = await ok(['service', 'ps', svc, '--filter', 'desired-state=running', '--format', '{{.Image}} {{.CurrentState}}']);
  return out.trim().split('\n').filter((l) => /\sRunning\b/.test(l)).map((l) => l.split(' ')[0]!).sort();
}

test('docker node ls lists the five nodes of the swarm, the leader marked', { skip }, async () => {
  const out = await ok(['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}} {{.Status}}']);
  const lines = out.trim().split('\n').sort();
  assert.equal(lines.length, 5, out);
  const hostnames = bed.hosts.map((h) => h.node.hostname);
  for (const l of lines) assert.ok(hostnames.includes(l.split(' ')[0]!), l);
  assert.equal(lines.filter((l) => / Leader /.test(l)).length, 1, out);
  assert.equal(lines.filter((l) => / Reachable /.test(l)).length, 2, out);
  assert.ok(lines.every((l) => l.endsWith(' Ready')), out);
});

test('docker service create, ls, ps, logs (and -f), update, rollback, rm', { skip }, async () => {
  const { busybox1, busybox2 } = bed.lab.images;
  // Not --detach: the CLI follows convergence through the endpoint (service inspect and task lists, repeatedly).
  const create = await cli.run(['service', 'create', '--name', svc, '--endpoint-mode', 'dnsrr', '--replicas', '2', '--update-delay', '0s',
    busybox1, 'sh', '-c', 'i=0; while true; do echo "tick-$i from $(hostname)"; i=$((i+1)); sleep 0.5; done'], { timeoutMs: 120_000 });
  try {
    assert.equal(create.code, 0, create.stderr);
    // The CLI pins the image by digest through GET /distribution/{image}/json, as against one engine.
    assert.doesNotMatch(create.stderr, /could not be accessed on a registry/);
    const pinned = JSON.parse(await ok(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Image}}', svc]));
    assert.match(pinned, new RegExp(`^${esc(busybox1)}@sha256:[0-9a-f]{64}$`));
    const ls = await ok(['service', 'ls', '--filter', `name=${svc}`, '--format', '{{.Name}} {{.Mode}} {{.Replicas}} {{.Image}}']);
    assert.equal(ls.trim(), `${svc} replicated 2/2 ${busybox1}`);
    assert.deepEqual(await runningImages(), [busybox1, busybox1]);

    const logs = await waitFor('two tasks logging', async () => {
      const out = await ok(['service', 'logs', '--raw', svc]);
      const from = new Set(out.split('\n').map((l) => / from (\S+)$/.exec(l)?.[1]).filter(Boolean));
      return from.size === 2 && out;
    }, 30_000, 500);
    assert.match(logs, /^tick-0 from /m);

    // Followed: lines written after the call began keep arriving until the client is killed.
    const since = (await ok(['service', 'logs', '--raw', svc])).split('\n').length;
    const follow = await cli.run(['service', 'logs', '-f', '--raw', svc], { timeoutMs: 4_000 });
    assert.equal(follow.code, null, `killed while following, not ended: ${follow.stderr}`);
    assert.ok(follow.stdout.split('\n').length > since + 4, `follow kept streaming (${follow.stdout.split('\n').length} lines, ${since} before)`);

    await ok(['service', 'update', '--image', busybox2, svc], { timeoutMs: 120_000 });
    assert.deepEqual(await runningImages(), [busybox2, busybox2]);
    const spec = JSON.parse(await ok(['service', 'inspect', '--format', '{{json .}}', svc]));
    assert.match(spec.Spec.TaskTemplate.ContainerSpec.Image, new RegExp(`^${esc(busybox2)}@sha256:`));
    assert.match(spec.PreviousSpec.TaskTemplate.ContainerSpec.Image, new RegExp(`^${esc(busybox1)}@sha256:`));

    await ok(['service', 'rollback', svc], { timeoutMs: 120_000 });
    assert.deepEqual(await runningImages(), [busybox1, busybox1], 'the previous image runs again');
    // The tasks themselves (GET /tasks/{id} through the endpoint), not just the CLI's table.
    const ids = (await ok(['service', 'ps', '-q', '--filter', 'desired-state=running', svc])).trim().split('\n');
    const states = (await ok(['inspect', '--type', 'task', '--format', '{{.Spec.ContainerSpec.Image}} {{.Status.State}}', ...ids])).trim().split('\n');
    assert.equal(states.length, 2);
    for (const s of states) assert.match(s, new RegExp(`^${esc(busybox1)}@sha256:[0-9a-f]{64} running$`));
  } finally {
    await ok(['service', 'rm', svc]);
  }
  const gone = await ok(['service', 'ls', '--filter', `name=${svc}`, '-q']);
  assert.equal(gone.trim(), '');
  const inspect = await cli.run(['service', 'inspect', svc]);
  assert.notEqual(inspect.code, 0);
  assert.match(inspect.stderr, new RegExp(`no such service: ${svc}`, 'i'));
});

test('docker secret create (stdin), ls, inspect without the value, rm', { skip }, async () => {
  const value = `s3cr3t-${crypto.randomBytes(8).toString('hex')}`;
  const id = (await ok(['secret', 'create', '--label', `t=${sfx}`, secret, '-'], { input: value })).trim();
  assert.match(id, /^[a-z0-9]{25}$/);
  try {
    const ls = await ok(['secret', 'ls', '--filter', `label=t=${sfx}`, '--format', '{{.ID}} {{.Name}}']);
    assert.equal(ls.trim(), `${id} ${secret}`);
    const raw = await ok(['secret', 'inspect', secret]);
    const [inspected] = JSON.parse(raw);
    assert.equal(inspected.ID, id);
    assert.equal(inspected.Spec.Name, secret);
    assert.equal(inspected.Spec.Data, undefined, 'a secret\'s value is never returned');
    assert.ok(!raw.includes(value) && !raw.includes(Buffer.from(value).toString('base64')), raw);
  } finally {
    await ok(['secret', 'rm', secret]);
  }
  assert.equal((await ok(['secret', 'ls', '--filter', `name=${secret}`, '-q'])).trim(), '');
});

test('docker config create (file), ls, inspect with its data, rm', { skip }, async () => {
  const content = `listen 8080; # ${sfx}\n`;
  const id = (await ok(['config', 'create', '--label', `t=${sfx}`, config, '-'], { input: content })).trim();
  assert.match(id, /^[a-z0-9]{25}$/);
  try {
    const ls = await ok(['config', 'ls', '--filter', `label=t=${sfx}`, '--format', '{{.ID}} {{.Name}}']);
    assert.equal(ls.trim(), `${id} ${config}`);
    const [inspected] = JSON.parse(await ok(['config', 'inspect', config]));
    assert.equal(inspected.Spec.Name, config);
    assert.equal(Buffer.from(inspected.Spec.Data, 'base64').toString(), content, 'a config (not a secret) keeps its data');
    const pretty = await ok(['config', 'inspect', '--pretty', config]);
    assert.match(pretty, /listen 8080;/);
  } finally {
    await ok(['config', 'rm', config]);
  }
  assert.equal((await ok(['config', 'ls', '--filter', `name=${config}`, '-q'])).trim(), '');
});
