// `flotilla service …` end to end: the real CLI against a real server with the
// shared lab swarm registered. A service is created (progress while it
// converges), listed, its tasks shown with their nodes, updated, rolled back,
// its logs followed, removed; usage errors exit 2, server errors exit 1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BIN, collect, ok, parseJson, runCli, type CliResult } from './helpers.ts';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from '../swarm/swarm-lab.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = await noSharedSwarm();
let bed: SwarmBed;
let env: NodeJS.ProcessEnv;
const name = `w3cli-${crypto.randomBytes(3).toString('hex')}`;
const TICKER = ['sh', '-c', 'trap "exit 0" TERM; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done'];

before(async () => {
  if (skip) return;
  bed = await sharedSwarmBed();
  env = { FLOTILLA_URL: bed.srv.url, FLOTILLA_TOKEN: bed.admin.token, FLOTILLA_CLI_CONFIG: path.join(os.tmpdir(), `flotilla-cli-${name}`, 'none.json') };
});

after(async () => {
  if (skip) return;
  await bed.admin.request('DELETE', `${bed.base}/services/${name}`);
  await bed?.close();
});

const cli = (args: string[]): Promise<CliResult> => runCli(args, { env, timeoutMs: 180_000 });

test('service create shows progress until converged; ls, ps, update, rollback, inspect and rm work on it', { skip }, async () => {
  const made = ok(await cli(['service', 'create', bed.cluster, name, '--image', bed.lab.images.busybox1, '--replicas', '2', '--endpoint-mode', 'dnsrr',
    '--stop-grace-period', '1s', '--update-parallelism', '0', '--update-monitor', '1s', '--rollback-monitor', '1s', '--', ...TICKER]));
  assert.match(made.stdout, new RegExp(`^created service ${name} \\(\\w+\\)`));
  assert.match(made.stderr, /tasks running/, 'progress lines while converging');
  assert.match(made.stderr, new RegExp(`${name}: converged, 2/2 tasks running`));

  const rows = parseJson<{ name: string; running: number; desired: number; endpointMode: string }[]>(ok(await cli(['service', 'ls', bed.cluster, '--json'])));
  const row = rows.find((r) => r.name === name);
  assert.deepEqual(row && [row.running, row.desired, row.endpointMode], [2, 2, 'dnsrr']);
  const table = ok(await cli(['service', 'ls', bed.cluster])).stdout;
  assert.match(table, /^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS\s+UPDATE$/m);
  assert.match(table, new RegExp(`${name}\\s+replicated\\s+2/2\\s+`));

  const ps = ok(await cli(['service', 'ps', bed.cluster, name, '--current'])).stdout;
  const hostnames = bed.hosts.map((h) => h.node.hostname);
  const lines = ps.trimEnd().split('\n').slice(1);
  assert.equal(lines.length, 2, ps);
  for (const l of lines) assert.ok(hostnames.some((h) => l.includes(h)) && l.includes('running'), `a running task on a lab node: ${l}`);

  const updated = ok(await cli(['service', 'update', bed.cluster, name, '--image', bed.lab.images.busybox2]));
  assert.match(updated.stdout, /updated service .* \(version \d+ → \d+\)/);
  assert.match(updated.stderr, /converged, 2\/2 tasks running/);
  const back = parseJson<{ image: string; convergence: { outcome: string } }>(ok(await cli(['service', 'rollback', bed.cluster, name, '--json'])));
  assert.deepEqual([back.image, back.convergence.outcome], [bed.lab.images.busybox1, 'converged']);
  const view = parseJson<{ image: string; previousImage: string; running: number }>(ok(await cli(['service', 'inspect', bed.cluster, name, '--json'])));
  assert.deepEqual([view.image, view.previousImage, view.running], [bed.lab.images.busybox1, bed.lab.images.busybox2, 2]);
  assert.match(ok(await cli(['service', 'inspect', bed.cluster, name])).stdout, /^Update config:\s+parallelism 0, delay 0s, on failure pause, monitor 1s/m);

  // logs -f prints new lines as service.slot.task@node until Ctrl-C (exit 130).
  const child = spawn(BIN, ['service', 'logs', bed.cluster, name, '-f', '--tail', '0'], { env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_'))), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const result = collect(child, { timeoutMs: 60_000 });
  let out = '';
  child.stdout!.on('data', (s: string) => (out += s));
  await waitFor('a followed log line', () => new RegExp(`^${name}\\.[12]\\.\\w{12}@\\S+\\s+\\| tick \\d+$`, 'm').test(out), 30_000, 100);
  child.kill('SIGINT');
  assert.equal((await result).code, 130);

  const rm = ok(await cli(['service', 'rm', bed.cluster, name]));
  assert.match(rm.stdout, new RegExp(`removed ${name}`));
  const gone = await cli(['service', 'inspect', bed.cluster, name]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`service "${name}" not found in cluster "${bed.cluster}"`));
});

test('usage errors exit 2 and name what is wrong', { skip }, async () => {
  const scale = await cli(['service', 'scale', bed.cluster, name, 'many']);
  assert.equal(scale.code, 2, scale.stderr);
  assert.match(scale.stderr, /replicas.*must be a whole number/);
  const global = await cli(['service', 'create', bed.cluster, name, '--image', bed.lab.images.busybox1, '--mode', 'global', '--replicas', '2']);
  assert.equal(global.code, 2, global.stderr);
  assert.match(global.stderr, /--replicas cannot be used with --mode global/);
  const nothing = await cli(['service', 'update', bed.cluster, name]);
  assert.equal(nothing.code, 2, nothing.stderr);
  assert.match(nothing.stderr, /nothing to change/);
  const port = await cli(['service', 'create', bed.cluster, name, '--image', bed.lab.images.busybox1, '-p', '99999:80']);
  assert.equal(port.code, 2, port.stderr);
  assert.match(port.stderr, /published must be a port/);
  const noImage = await cli(['service', 'create', bed.cluster, name]);
  assert.equal(noImage.code, 2);
  assert.match(noImage.stderr, /--image/);
  assert.equal((await bed.admin.get(`${bed.base}/services/${name}`)).status, 404, 'nothing was created');
});
