// The converter against the real thing: one Compose file deployed with the real
// `docker stack deploy` (28.x) on the lab swarm, through a recording proxy, so we
// compare convertStack's plan with the exact bodies the CLI sent (networks,
// secrets, configs, services), then with what the engine stored (`docker service
// inspect`). Each difference allowed is named where it is normalised.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { convertStack } from '../../src/stacks/convert/index.ts';
import type { StackPlan } from '../../src/stacks/types.ts';
import { labState } from '../lab/fixture.ts';
import { waitFor } from '../helpers/wait.ts';

type Json = Record<string, unknown>;
interface Recorded { method: string; path: string; body: Json }

const DOCKER = '/usr/local/bin/docker';
const stack = `cvc${process.pid % 100000}`;
const hostPort = 20000 + (process.pid % 10000);

function composeFile(image: string): string {
  return `
services:
  api:
    image: ${image}
    command: sh -c "mkdir -p /srv && echo ok > /srv/index.html && exec httpd -f -p 8080 -h /srv"
    environment: { MODE: production, EMPTY: "", B_SECOND: "2" }
    working_dir: /srv
    user: root
    hostname: "api-{{.Task.Slot}}"
    stop_grace_period: 1m30s
    stop_signal: SIGTERM
    init: true
    labels: { tier: backend }
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 2s
      timeout: 1500ms
      retries: 3
      start_period: 1s
    ports:
      - { target: 8080, published: ${hostPort}, protocol: tcp, mode: host }
    networks:
      front: { aliases: [backend] }
      back:
    secrets:
      - { source: db_password, target: db_pw, mode: 0o400 }
    configs:
      - { source: app_conf, target: /etc/app.conf }
    volumes:
      - data:/data
      - { type: tmpfs, target: /cache, tmpfs: { size: 1048576 } }
    ulimits: { nofile: { soft: 1024, hard: 2048 }, nproc: 512 }
    cap_add: [NET_ADMIN]
    cap_drop: [mknod]
    extra_hosts: ["db.local:10.0.0.5"]
    dns_search: [example.internal]
    logging: { driver: json-file, options: { max-size: 1m } }
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      labels: { team: core }
      resources:
        limits: { cpus: "0.25", memory: 64M }
        reservations: { memory: 16M }
      restart_policy: { condition: on-failure, delay: 1s, max_attempts: 3, window: 30s }
      update_config: { parallelism: 2, delay: 1s, order: start-first, failure_action: rollback, monitor: 5s, max_failure_ratio: 0.1 }
      rollback_config: { parallelism: 0, order: stop-first }
      placement:
        constraints: [node.role == manager]
        preferences: [{ spread: node.id }]
        max_replicas_per_node: 1
  worker:
    image: ${image}
    entrypoint: ["sh", "-c"]
    command: ["echo started; exec sleep 3600"]
    environment: { API_URL: "http://api:8080" }
    secrets: [db_password]
    restart: on-failure:2
    deploy:
      mode: global
      endpoint_mode: dnsrr
      placement: { constraints: ["node.role == worker"] }
networks:
  front: { driver: overlay, labels: { purpose: edge }, attachable: true }
  back: { driver_opts: { com.docker.network.driver.mtu: "1400" } }
volumes:
  data: { labels: { backup: daily } }
secrets:
  db_password: { file: ./db_password.txt, labels: { kind: password } }
configs:
  app_conf: { file: ./app.conf }
`;
}

/** A unix-socket proxy to the manager that keeps every write request's JSON body. */
function recordingProxy(listenPath: string, upstream: string): Promise<{ server: http.Server; calls: Recorded[] }> {
  const calls: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && body.length > 0) calls.push({ method: req.method, path: (req.url ?? '').replace(/^\/v[\d.]+/, '').split('?')[0]!, body: JSON.parse(body.toString()) as Json });
      const up = http.request({ socketPath: upstream, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', (err) => res.destroy(err));
      up.end(body);
    });
  });
  return new Promise((resolve) => server.listen(listenPath, () => resolve({ server, calls })));
}

function engineGet<T>(socketPath: string, urlPath: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath, path: urlPath }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as T) : reject(new Error(`${urlPath}: ${res.statusCode} ${text}`))));
    }).on('error', reject);
  });
}

function docker(host: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(DOCKER, ['-H', host, ...args], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, DOCKER_CONFIG: path.join(cwd, '.docker') } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/**
 * Go marshals zero values of fields without omitempty (`"TTY": false`, `"Env": null`,
 * `"Parallelism": 0`, `"Labels": {}` …) where we leave the field out; the engine reads
 * absent and zero alike. Empty objects are kept: a present-but-empty Placement or
 * Resources is a different spec from an absent one.
 */
function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune);
  if (v && typeof v === 'object') {
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null || x === false || x === 0 || x === '' || (Array.isArray(x) && x.length === 0)) continue;
      out[k] = prune(x);
    }
    return out;
  }
  return v;
}

/** Paths where `sub` differs from `full`, reading only what `sub` sets (the engine adds its defaults). */
function notContained(sub: unknown, full: unknown, at = ''): string[] {
  if (Array.isArray(sub)) {
    if (!Array.isArray(full) || full.length !== sub.length) return [`${at}: ${JSON.stringify(sub)} vs ${JSON.stringify(full)}`];
    return sub.flatMap((x, i) => notContained(x, full[i], `${at}[${i}]`));
  }
  if (sub && typeof sub === 'object') {
    if (!full || typeof full !== 'object') return [`${at}: ${JSON.stringify(sub)} vs ${JSON.stringify(full)}`];
    return Object.entries(sub).flatMap(([k, x]) => notContained(x, (full as Json)[k], `${at}.${k}`));
  }
  return sub === full ? [] : [`${at}: ${JSON.stringify(sub)} vs ${JSON.stringify(full)}`];
}

let skip: string | false = false;
let sock = '';
let dir = '';
let proxy: { server: http.Server; calls: Recorded[] } | undefined;
let plan: StackPlan;
let deployOut = '';

before(async () => {
  let st;
  try {
    st = await labState();
  } catch (err) {
    skip = (err as Error).message;
    return;
  }
  const manager = st.nodes.find((n) => n.name === st.swarm?.managers[0]);
  if (!manager) {
    skip = 'the lab has no swarm';
    return;
  }
  sock = manager.unix.replace(/^unix:\/\//, '');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convert-vs-cli-'));
  const compose = composeFile(st.images.busybox1);
  const files = { './db_password.txt': 's3cret-value\n', './app.conf': 'listen = 8080\n' };
  fs.writeFileSync(path.join(dir, 'stack.yml'), compose);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  // What the loader hands over: the parsed document with environment as a mapping already.
  plan = convertStack({ project: parse(compose), warnings: [], files }, stack);
  proxy = await recordingProxy(path.join(dir, 'proxy.sock'), sock);
  const res = await docker(`unix://${path.join(dir, 'proxy.sock')}`, ['stack', 'deploy', '--detach=true', '--resolve-image', 'never', '-c', 'stack.yml', stack], dir);
  deployOut = res.out;
  assert.equal(res.code, 0, res.out);
});

after(async () => {
  proxy?.server.close();
  if (skip || !sock) return;
  await docker(`unix://${sock}`, ['stack', 'rm', stack], dir);
  const filter = encodeURIComponent(JSON.stringify({ label: [`com.docker.stack.namespace=${stack}`] }));
  for (const kind of ['services', 'networks', 'secrets', 'configs']) {
    await waitFor(`the stack's ${kind} to be gone`, async () => (await engineGet<unknown[]>(sock, `/${kind}?filters=${filter}`)).length === 0, 90_000, 500);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function sent(kind: string): Recorded[] {
  return proxy!.calls.filter((c) => c.path === `/${kind}/create`);
}

test('the networks, secrets and configs are the ones the CLI creates, body for body', (t) => {
  if (skip) return t.skip(skip);
  const byName = (calls: Recorded[]) => Object.fromEntries(calls.map((c) => [c.body.Name as string, prune(c.body)]));
  // The CLI's client adds CheckDuplicate to network create bodies for old engines; the deploy step sends its own.
  const networks = byName(sent('networks'));
  for (const n of Object.values(networks)) delete (n as Json).CheckDuplicate;
  assert.deepEqual(networks, Object.fromEntries(plan.networks.filter((n) => !n.external).map((n) => [n.name, prune(n.spec)])));
  assert.deepEqual(byName(sent('secrets')), Object.fromEntries(plan.secrets.map((s) => [s.name, prune(s.spec)])));
  assert.deepEqual(byName(sent('configs')), Object.fromEntries(plan.configs.map((c) => [c.name, prune(c.spec)])));
});

/** Our spec with the IDs the engine gave the stack's secrets and configs (the deploy step's job). */
async function withIds(spec: Json): Promise<Json> {
  const copy = structuredClone(spec) as { TaskTemplate: { ContainerSpec: { Secrets?: Json[]; Configs?: Json[] } } };
  const secrets = await engineGet<{ ID: string; Spec: { Name: string } }[]>(sock, '/secrets');
  const configs = await engineGet<{ ID: string; Spec: { Name: string } }[]>(sock, '/configs');
  for (const s of copy.TaskTemplate.ContainerSpec.Secrets ?? []) s.SecretID = secrets.find((x) => x.Spec.Name === s.SecretName)?.ID;
  for (const c of copy.TaskTemplate.ContainerSpec.Configs ?? []) c.ConfigID = configs.find((x) => x.Spec.Name === c.ConfigName)?.ID;
  return copy as unknown as Json;
}

test('each service spec is the one the CLI sends, field for field', async (t) => {
  if (skip) return t.skip(skip);
  const bodies = Object.fromEntries(sent('services').map((c) => [c.body.Name as string, prune(c.body)]));
  assert.deepEqual(Object.keys(bodies).sort(), plan.services.map((s) => s.name));
  for (const svc of plan.services) {
    assert.deepEqual(prune(await withIds(svc.spec as Json)), bodies[svc.name], svc.name);
  }
});

test('the engine stores what the plan says (docker service inspect)', async (t) => {
  if (skip) return t.skip(skip);
  const networks = await engineGet<{ Id: string; Name: string }[]>(sock, '/networks');
  for (const svc of plan.services) {
    const [inspected] = await engineGet<{ Spec: Json }[]>(sock, `/services?filters=${encodeURIComponent(JSON.stringify({ name: [svc.name] }))}`);
    const ours = (await withIds(svc.spec as Json)) as { TaskTemplate: { Networks: { Target: string }[] } };
    // The engine keeps network attachments by ID; the CLI (and we) name them.
    for (const n of ours.TaskTemplate.Networks) n.Target = networks.find((x) => x.Name === n.Target)?.Id ?? n.Target;
    // Everything we set is stored as set; the engine adds only defaults of its own (UpdateConfig.FailureAction, Mode.Replicated…).
    assert.deepEqual(notContained(prune(ours), inspected!.Spec), [], svc.name);
  }
});

test('the stack runs: every service converges on the lab swarm', async (t) => {
  if (skip) return t.skip(skip);
  for (const svc of plan.services) {
    const filter = encodeURIComponent(JSON.stringify({ service: [svc.name], 'desired-state': ['running'] }));
    await waitFor(`${svc.name} running`, async () => {
      const tasks = await engineGet<{ Status: { State: string; Err?: string } }[]>(sock, `/tasks?filters=${filter}`);
      return tasks.length > 0 && tasks.every((x) => x.Status.State === 'running');
    }, 90_000, 500);
  }
  assert.match(deployOut, /Creating service/);
});
