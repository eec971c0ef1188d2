// The same stack file deployed natively by Flotilla (POST …/stacks, which
// answers once every service has converged) vs. the real `docker stack deploy`
// against the same cluster (then polled every 100 ms until every task runs):
// time until converged, BENCH_RUNS runs each (alternating), medians and the ratio.
// Needs the lab: node test/lab/cli.ts up 5 --swarm --managers 3
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sharedSwarmBed } from '../test/swarm/swarm-lab.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { median, printTable } from './stats.ts';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const bed = await sharedSwarmBed();
const manager = bed.hosts.find((h) => h.role === 'manager')!.node.unix;
const docker = (...args: string[]) => run('docker', ['-H', manager, ...args], { timeout: 300_000 });
const compose = ['web', 'api', 'worker'].map((s) => `  ${s}:
    image: ${bed.lab.images.busybox1}
    command: ["sh", "-c", "echo ${s}; sleep 3600"]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
`).join('');
const file = `version: "3.8"\nservices:\n${compose}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-bench-'));
fs.writeFileSync(path.join(dir, 'stack.yml'), file);

async function converged(stack: string): Promise<void> {
  await waitFor(`${stack} converged`, async () => {
    const out = (await docker('stack', 'services', stack, '--format', '{{.Replicas}}')).stdout.trim().split('\n').filter(Boolean);
    return out.length === 3 && out.every((r) => /^(\d+)\/\1\b/.test(r));
  }, 300_000, 100);
}

async function removed(stack: string): Promise<void> {
  await docker('stack', 'rm', stack).catch(() => undefined);
  await waitFor(`${stack} gone`, async () => {
    const [svc, net, tasks] = await Promise.all([
      docker('service', 'ls', '--filter', `label=com.docker.stack.namespace=${stack}`, '-q'),
      docker('network', 'ls', '--filter', `label=com.docker.stack.namespace=${stack}`, '-q'),
      docker('ps', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`),
    ]);
    return !svc.stdout.trim() && !net.stdout.trim() && !tasks.stdout.trim();
  }, 120_000, 250);
}

const native: number[] = [];
const cli: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const a = `bn${process.pid % 10000}n${i}`;
    let t = performance.now();
    const res = await bed.admin.post(`${bed.base}/stacks`, { name: a, compose: file, resolveImage: 'always' });
    if (res.body.status !== 'succeeded') throw new Error(`native deploy: ${JSON.stringify(res.body)}`);
    native.push(performance.now() - t);
    await removed(a);
    const b = `bn${process.pid % 10000}c${i}`;
    t = performance.now();
    await docker('stack', 'deploy', '-c', path.join(dir, 'stack.yml'), '--resolve-image', 'always', b);
    await converged(b);
    cli.push(performance.now() - t);
    await removed(b);
  }
  const n = median(native);
  const c = median(cli);
  console.log(`stack-deploy: 3 services × 2 replicas on the lab swarm (5 nodes), resolve-image always, ${RUNS} runs each, alternating; median time until every service has converged`);
  printTable(['how', 'runs (s)', 'median'], [
    ['docker stack deploy (CLI), polled every 100 ms', cli.map((x) => (x / 1000).toFixed(2)).join(', '), `${(c / 1000).toFixed(2)} s`],
    ['Flotilla native (answers when converged)', native.map((x) => (x / 1000).toFixed(2)).join(', '), `${(n / 1000).toFixed(2)} s`],
    ['ratio (goal ≤ 1.0)', '', `${(n / c).toFixed(2)}x`],
  ]);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  await bed.close();
}
