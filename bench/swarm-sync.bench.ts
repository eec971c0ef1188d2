// Cluster sync on the lab Swarm (3 managers, 2 workers; node5 an agent host):
// a full cluster inventory read through Flotilla (POST …/sync: the same seven
// calls through the ManagerRouter, stored, health computed) vs. the same calls
// made directly on the leader's unix socket, in the same process; and a service
// list with BENCH_SERVICES (50) services: direct GET /services on the leader vs.
// REST …/services (live, with task counts) vs. the fleet Docker endpoint's GET /services.
// Needs the lab: node test/lab/cli.ts up 5 --swarm --managers 3
import { Agent, Client } from 'undici';
import { sharedSwarmBed } from '../test/swarm/swarm-lab.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { DockerClient } from '../src/docker/client.ts';
import { createTransport } from '../src/transports/index.ts';
import { createService, listServices, listTasks, removeService } from '../src/docker/swarm.ts';
import { takeClusterSnapshot } from '../src/swarm/cluster-snapshot.ts';
import { fmt, printTable, sample, summarize } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 40);
const SERVICES = Number(process.env.BENCH_SERVICES ?? 50);

const bed = await sharedSwarmBed();
const view = (await bed.admin.get(bed.base)).body as { leaderNodeId: string; hosts: { name: string; nodeId: string }[] };
const leader = bed.hosts.find((h) => h.name === view.hosts.find((x) => x.nodeId === view.leaderNodeId)!.name)!;
const docker = new DockerClient(createTransport({ url: leader.node.unix, label: leader.name }));
const ids: string[] = [];
try {
  for (let i = 0; i < SERVICES; i++) {
    const { ID } = await createService(docker, {
      Name: `bench-${process.pid}-${i}`, Labels: { 'com.docker.stack.namespace': `bench${process.pid}` },
      TaskTemplate: { ContainerSpec: { Image: bed.lab.images.busybox1, Command: ['sleep', '3600'] } },
      Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Mode: 'dnsrr' },
    });
    ids.push(ID);
  }
  await waitFor(`${SERVICES} tasks running`, async () => (await listTasks(docker, { filters: { 'desired-state': ['running'] } }))
    .filter((t) => ids.includes(t.ServiceID) && t.Status.State === 'running').length === SERVICES, 240_000, 1000);
  const tasks = (await listTasks(docker)).length;
  const api = new Client(bed.srv.url);
  const auth = { authorization: `Bearer ${bed.admin.token}` };
  const rest = async (method: 'GET' | 'POST', path: string) => {
    const res = await api.request({ method, path, headers: auth });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${text.slice(0, 300)}`);
  };
  const endpoint = new Agent({ connect: { ca: bed.srv.handle.cluster!.ca.certPem, rejectUnauthorized: true, servername: 'localhost' } });
  const dockerPort = bed.srv.handle.docker!.port;
  const version = docker.apiVersion!;
  const viaEndpoint = async (path: string) => {
    const res = await endpoint.request({ origin: `https://localhost:${dockerPort}`, method: 'GET', path, headers: auth });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${text.slice(0, 300)}`);
  };

  const rows: [string, number[], number[]][] = [];
  rows.push(['full cluster inventory (7 calls)',
    await sample(N, 5, async () => { await takeClusterSnapshot(docker, AbortSignal.timeout(30_000)); }),
    await sample(N, 5, () => rest('POST', `${bed.base}/sync`))]);
  const directList = await sample(N, 5, async () => { await listServices(docker); });
  rows.push([`service list, ${SERVICES} services: REST (+ task counts)`, directList, await sample(N, 5, () => rest('GET', `${bed.base}/services`))]);
  rows.push([`service list, ${SERVICES} services: fleet endpoint`, directList, await sample(N, 5, () => viaEndpoint(`/v${version}/services`))]);

  console.log(`swarm-sync: ${N} sequential runs each after 5 warm-up; ${SERVICES} services, ${tasks} tasks, 5 nodes; baseline: the leader's unix socket (${leader.name})`);
  printTable(['what', 'direct p50', 'p95', 'flotilla p50', 'p95', 'ratio p50', 'p95'], rows.map(([what, d, f]) => {
    const a = summarize(d);
    const b = summarize(f);
    return [what, fmt(a.p50), fmt(a.p95), fmt(b.p50), fmt(b.p95), `${(b.p50 / a.p50).toFixed(2)}x`, `${(b.p95 / a.p95).toFixed(2)}x`];
  }));
  await api.close();
  await endpoint.close();
} finally {
  for (const id of ids) await removeService(docker, id).catch(() => undefined);
  await docker.close();
  await bed.close();
}
