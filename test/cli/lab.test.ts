// The CLI's container, image, network and volume commands against a real
// engine of the lab (node test/lab/cli.ts up), through a real server started
// here. Skipped, with the reason "lab not up", when the lab state file is absent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { DockerClient } from '../../src/docker/client.ts';
import { tagImage } from '../../src/docker/images.ts';
import { createTransport } from '../../src/transports/index.ts';
import { labState, type LabState } from '../lab/fixture.ts';
import { BIN, collect, ok, parseJson, startTestServer, uniqueName, waitFor, type CliResult, type TestServer } from './helpers.ts';

// Under scripts/test.sh (FLOTILLA_REQUIRE_LAB=1) a missing lab fails instead of skipping.
const lab: LabState | undefined = process.env.FLOTILLA_REQUIRE_LAB === '1' ? await labState() : await labState().catch(() => undefined);
const skip = lab ? false : 'lab not up';

type Cleanup = { after: (fn: () => Promise<void>) => void };

let ts: TestServer;
const host = uniqueName('node');
const image = lab?.images.busybox1 ?? '';

before(async () => {
  if (!lab) return;
  ts = await startTestServer({ admin: true });
  ok(await ts.cli(['host', 'add', host, lab.nodes[0]!.unix, '--environment', 'development']));
  ok(await ts.cli(['host', 'sync', host]));
});
after(async () => {
  await ts?.close();
});

/** Creates (and starts) a container running `cmd`; removed with --force when the test ends. */
async function runContainer(t: Cleanup, cmd: string[]): Promise<string> {
  const name = uniqueName('c');
  ok(await ts.cli(['container', 'create', host, '--image', image, '--name', name, '--start', '-e', 'GREETING=hi', '-l', 'flotilla.test=cli', '--', ...cmd]));
  t.after(async () => {
    await ts.cli(['container', 'rm', host, name, '--force']);
  });
  return name;
}

test('image pull shows per-layer progress on stderr and ends with the image id', { skip }, async () => {
  const r = ok(await ts.cli(['image', 'pull', host, image], { timeoutMs: 120_000 }));
  assert.match(r.stdout, new RegExp(`pulled ${image.replace(/[.]/g, '\\.')} on ${host}: sha256:[0-9a-f]{64}`));
  assert.match(r.stderr, /Status: |Pull complete|Already exists|up to date/);
  const json = parseJson<{ id: string }>(ok(await ts.cli(['image', 'pull', host, image, '--json'], { timeoutMs: 120_000 })));
  assert.match(json.id, /^sha256:/);
});

test('pulling an image the registry does not have fails with exit 1 and the engine\'s error', { skip }, async () => {
  const missing = `${lab!.registry.lab}/flotilla-no-such-image:${uniqueName('t')}`;
  const r = await ts.cli(['image', 'pull', host, missing], { timeoutMs: 120_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^flotilla: .*(not found|unknown|manifest)/im);
});

test('image rm takes a reference with a registry port and slashes (URL-encoded in the path)', { skip }, async () => {
  const docker = new DockerClient(createTransport({ url: lab!.nodes[0]!.unix, label: 'cli-test' }));
  const alias = `${lab!.registry.lab}/busybox:${uniqueName('tag')}`;
  try {
    await tagImage(docker, image, alias);
    const listed = ok(await ts.cli(['image', 'ls', host]));
    assert.ok(listed.stdout.includes(alias.slice(alias.lastIndexOf(':') + 1)), listed.stdout);
    const removed = parseJson<Array<{ Untagged?: string }>>(ok(await ts.cli(['image', 'rm', host, alias, '--json'])));
    assert.ok(removed.some((i) => i.Untagged === alias), JSON.stringify(removed));
  } finally {
    await docker.close();
  }
});

test('container create --start, ls on one host and on every host, inspect, stop, rm', { skip }, async (t) => {
  const name = await runContainer(t, ['sleep', '300']);
  const one = parseJson<Array<{ Names: string[]; State: string }>>(ok(await ts.cli(['container', 'ls', host, '--json'])));
  assert.equal(one.find((c) => c.Names.includes(`/${name}`))?.State, 'running');
  const table = ok(await ts.cli(['container', 'ls'])).stdout;
  assert.match(table, /^HOST\s+CONTAINER ID\s+NAME/);
  assert.ok(table.split('\n').some((l) => l.startsWith(host) && l.includes(name)), table);

  const inspected = parseJson<{ Config: { Env: string[]; Labels: Record<string, string> } }>(ok(await ts.cli(['container', 'inspect', host, name, '--json'])));
  assert.ok(inspected.Config.Env.includes('GREETING=hi'));
  assert.equal(inspected.Config.Labels['flotilla.test'], 'cli');

  ok(await ts.cli(['container', 'stop', host, name, '-t', '0']));
  const stopped = parseJson<Array<{ Names: string[] }>>(ok(await ts.cli(['container', 'ls', host, '--json'])));
  assert.ok(!stopped.some((c) => c.Names.includes(`/${name}`)), 'a stopped container is listed without --all');
  const all = parseJson<Array<{ Names: string[] }>>(ok(await ts.cli(['container', 'ls', host, '--all', '--json'])));
  assert.ok(all.some((c) => c.Names.includes(`/${name}`)));

  ok(await ts.cli(['container', 'rm', host, name]));
  assert.match((await ts.cli(['container', 'inspect', host, name])).stderr, /no such container/i);
});

test('container exec prints stdout and stderr and exits with the command\'s exit code', { skip }, async (t) => {
  const name = await runContainer(t, ['sleep', '300']);
  const r = await ts.cli(['container', 'exec', host, name, '--', 'sh', '-c', 'echo hello $GREETING; echo oops >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'hello hi\n');
  assert.equal(r.stderr, 'oops\n');
});

test('container logs sends stderr lines to stderr; --follow streams until the container stops', { skip }, async (t) => {
  const name = await runContainer(t, ['sh', '-c', 'echo one; echo two >&2; sleep 1; echo three']);
  const followed = ok(await ts.cli(['container', 'logs', host, name, '--follow'], { timeoutMs: 30_000 }));
  assert.equal(followed.stdout, 'one\nthree\n');
  assert.equal(followed.stderr, 'two\n');
  const tail = ok(await ts.cli(['container', 'logs', host, name, '--tail', '1', '--timestamps']));
  assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\S+ three\n$/);
});

test('container logs --follow stops cleanly on Ctrl-C', { skip }, async (t) => {
  const name = await runContainer(t, ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done']);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_')));
  const child = spawn(BIN, ['container', 'logs', host, name, '-f'], { env: { ...env, FLOTILLA_CLI_CONFIG: ts.configFile } });
  let seen = '';
  child.stdout.on('data', (b: Buffer) => (seen += b.toString()));
  const done: Promise<CliResult> = collect(child);
  await waitFor('two log lines', () => (/tick 1\n/.test(seen) ? true : undefined));
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130);
  assert.equal(r.stderr, '');
});

test('container stats shows CPU and memory', { skip }, async (t) => {
  const name = await runContainer(t, ['sleep', '300']);
  assert.match(ok(await ts.cli(['container', 'stats', host, name])).stdout, /^CPU:\s+\d+\.\d\d%$/m);
  assert.equal(typeof parseJson<{ cpu_percent: number }>(ok(await ts.cli(['container', 'stats', host, name, '--json']))).cpu_percent, 'number');
});

test('network create, connect, disconnect, ls and rm', { skip }, async (t) => {
  const container = await runContainer(t, ['sleep', '300']);
  const net = uniqueName('net');
  ok(await ts.cli(['network', 'create', host, net]));
  t.after(async () => {
    await ts.cli(['network', 'rm', host, net]);
  });
  assert.ok(parseJson<Array<{ Name: string }>>(ok(await ts.cli(['network', 'ls', host, '--json']))).some((n) => n.Name === net));
  ok(await ts.cli(['network', 'connect', host, net, container]));
  const inspected = parseJson<{ NetworkSettings: { Networks: Record<string, unknown> } }>(ok(await ts.cli(['container', 'inspect', host, container, '--json'])));
  assert.ok(net in inspected.NetworkSettings.Networks);
  ok(await ts.cli(['network', 'disconnect', host, net, container]));
  ok(await ts.cli(['network', 'rm', host, net]));
  assert.ok(!parseJson<Array<{ Name: string }>>(ok(await ts.cli(['network', 'ls', host, '--json']))).some((n) => n.Name === net));
});

test('volume create, ls and rm', { skip }, async (t) => {
  const vol = uniqueName('vol');
  ok(await ts.cli(['volume', 'create', host, vol]));
  t.after(async () => {
    await ts.cli(['volume', 'rm', host, vol, '--force']);
  });
  assert.match(ok(await ts.cli(['volume', 'ls', host])).stdout, new RegExp(`^${vol}\\s+local`, 'm'));
  assert.deepEqual(parseJson(ok(await ts.cli(['volume', 'rm', host, vol, '--json']))), { host, removed: vol });
});
