// `flotilla stack …` and `flotilla deployment …` end to end: the real CLI reads a
// Compose file and the files it names next to it, takes ${VAR} from --env-file
// and the shell (only the variables the file uses), streams the deploy's steps,
// and the deployments can be listed, diffed and deployed again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ok, parseJson, runCli, type CliResult } from './helpers.ts';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from '../swarm/swarm-lab.ts';

const skip = await noSharedSwarm();
let bed: SwarmBed;
let env: NodeJS.ProcessEnv;
let dir: string;
const STACK = `cs${process.pid % 100000}`;
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCli(args, { env: { ...env, ...extra }, timeoutMs: 180_000 });

before(async () => {
  if (skip) return;
  bed = await sharedSwarmBed();
  env = { FLOTILLA_URL: bed.srv.url, FLOTILLA_TOKEN: bed.admin.token, FLOTILLA_CLI_CONFIG: path.join(os.tmpdir(), `flotilla-cli-${STACK}`, 'none.json') };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-cli-'));
  const pin = bed.hosts.find((h) => h.kind === 'agent')!.node.hostname;
  fs.writeFileSync(path.join(dir, 'stack.yml'), `services:
  app:
    image: \${IMAGE}
    command: ["sh", "-c", "cat /run/secrets/key; sleep 3600"]
    env_file: ./app.env
    secrets: [key]
    deploy:
      endpoint_mode: dnsrr
      placement:
        constraints: [node.hostname == ${pin}]
secrets:
  key:
    file: ./key.txt
`);
  fs.writeFileSync(path.join(dir, 'app.env'), 'MODE=one\n');
  fs.writeFileSync(path.join(dir, 'key.txt'), 'key-content\n');
  fs.writeFileSync(path.join(dir, 'vars.env'), `IMAGE=${bed.lab.images.busybox1}\n`);
});

after(async () => {
  if (skip) return;
  await bed.admin.request('DELETE', `${bed.base}/stacks/${STACK}`).catch(() => undefined);
  await bed?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('stack deploy reads the file, its env_file and secret next to it, and shows each step', { skip }, async () => {
  const r = ok(await cli(['stack', 'deploy', bed.cluster, STACK, '-c', path.join(dir, 'stack.yml'), '--env-file', path.join(dir, 'vars.env'), '--resolve-image', 'never'],
    { SECRET_TOKEN: 'never-sent' }));
  assert.match(r.stderr, new RegExp(`Created network ${STACK}_default`));
  assert.match(r.stderr, new RegExp(`Created secret ${STACK}_key`));
  assert.match(r.stderr, new RegExp(`Created service ${STACK}_app`));
  assert.match(r.stderr, new RegExp(`${STACK}_app: converged`));
  assert.match(r.stdout, new RegExp(`deployment [0-9a-f-]+ of ${STACK}: succeeded`));
  const ls = ok(await cli(['stack', 'ls', bed.cluster, '--json']));
  assert.ok(parseJson<{ name: string }[]>(ls).some((s) => s.name === STACK));
  const services = ok(await cli(['stack', 'services', bed.cluster, STACK]));
  assert.match(services.stdout, new RegExp(`${STACK}_app\\s+replicated\\s+1/1`));
  const shown = (await bed.admin.get(`${bed.base}/deployments?stack=${STACK}`)).body[0];
  const full = (await bed.admin.get(`${bed.base}/deployments/${shown.id}`)).body;
  assert.deepEqual(Object.keys(full.env), ['IMAGE'], 'only the variables the file uses are sent');
});

test('a change, its diff, and deployment redeploy to roll back', { skip }, async () => {
  fs.writeFileSync(path.join(dir, 'app.env'), 'MODE=two\n');
  ok(await cli(['stack', 'deploy', bed.cluster, STACK, '-c', path.join(dir, 'stack.yml'), '--env-file', path.join(dir, 'vars.env'), '--resolve-image', 'never']));
  const list = parseJson<{ id: string; status: string }[]>(ok(await cli(['deployment', 'ls', bed.cluster, '--stack', STACK, '--json'])));
  assert.equal(list.length, 2);
  const diff = ok(await cli(['deployment', 'diff', bed.cluster, list[1]!.id, list[0]!.id]));
  assert.match(diff.stdout, new RegExp(`changed\\s+${STACK}_app[\\s\\S]*TaskTemplate.ContainerSpec.Env`));
  const back = ok(await cli(['deployment', 'redeploy', bed.cluster, list[1]!.id]));
  assert.match(back.stderr, new RegExp(`Kept secret ${STACK}_key`), 'the secret as it is in the cluster (its content was never stored)');
  assert.match(back.stdout, /succeeded/);
  const env2 = (await bed.admin.get(`${bed.base}/services/${STACK}_app`)).body;
  assert.ok(JSON.stringify(env2).includes('MODE=one'));
});

test('bad input: a missing file and a schema error are named; exit 1', { skip }, async () => {
  const missing = await cli(['stack', 'deploy', bed.cluster, STACK, '-c', path.join(dir, 'nope.yml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--compose-file .*nope\.yml: no such file/);
  fs.writeFileSync(path.join(dir, 'bad.yml'), 'services:\n  app:\n    image: x\n    deploy:\n      replicas: lots\n');
  const bad = await cli(['stack', 'deploy', bed.cluster, STACK, '-c', path.join(dir, 'bad.yml')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /services\.app\.deploy\.replicas/);
  const usage = await cli(['stack', 'deploy', bed.cluster, STACK]);
  assert.equal(usage.code, 2, usage.stderr);
  const steps = await cli(['stack', 'deploy', bed.cluster, STACK, '-c', path.join(dir, 'stack.yml'), '--strategy', 'canary', '--steps', '10,50']);
  assert.equal(steps.code, 2);
  assert.match(steps.stderr, /--steps .*ending at 100/);
  const strategy = await cli(['stack', 'deploy', bed.cluster, STACK, '-c', path.join(dir, 'stack.yml'), '--strategy', 'purple']);
  assert.equal(strategy.code, 2);
  assert.match(strategy.stderr, /--strategy/);
});

test('stack rm removes its services, network and secret', { skip }, async () => {
  const r = ok(await cli(['stack', 'rm', bed.cluster, STACK]));
  assert.match(r.stdout, new RegExp(`Removing service ${STACK}_app`));
  assert.match(r.stdout, new RegExp(`Removing secret ${STACK}_key`));
  assert.match(r.stdout, new RegExp(`Removing network ${STACK}_default`));
});
