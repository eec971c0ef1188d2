// Request latency through an agent: GET /containers/json and container inspect on
// lab node1, (a) directly on the engine's unix socket, (b) through the agent tunnel
// with Flotilla's own Docker client, (c) through the REST API over that tunnel.
// Prints p50/p95 and ratios against (a). Needs the lab: node test/lab/cli.ts up 3
// BENCH_N=300 requests per row, BENCH_AGENT=inproc|child (where the agent runs).
import { Client } from 'undici';
import { labState } from '../test/lab/fixture.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { inspectContainer, listContainers } from '../src/docker/containers.ts';
import { DockerClient } from '../src/docker/client.ts';
import { createDuplexTransport } from '../src/transports/index.ts';
import { fmt, printTable, ratio, sample, summarize } from './stats.ts';
import { LabEngine } from './helpers/lab-engine.ts';
import { startLabAgent, type AgentMode } from './helpers/lab-agent.ts';

const N = Number(process.env.BENCH_N ?? 300);
const WARMUP = 20;
const CONTAINERS = 10;
const MODE = (process.env.BENCH_AGENT ?? 'inproc') as AgentMode;

const lab = await labState();
const node = lab.nodes[0]!;
const engine = await LabEngine.open(node);
const srv = await startTestServer({ FLOTILLA_AGENT_LISTEN_HOST: '127.0.0.1', FLOTILLA_AGENT_HEARTBEAT: '10s' });
const hostName = `bench-agent-${process.pid}`;
let agent: Awaited<ReturnType<typeof startLabAgent>> | undefined;
try {
  const ids: string[] = [];
  for (let i = 0; i < CONTAINERS; i++) ids.push(await engine.run(`bench-lat-${process.pid}-${i}`, lab.images.busybox1, ['sleep', '600']));
  agent = await startLabAgent(srv, hostName, node, MODE);
  const { docker, host } = await srv.handle.fleet.docker(hostName);
  const rest = new Client(srv.url);
  const auth = { authorization: `Bearer ${srv.admin.token}` };
  const target = ids[0]!;
  const direct = async (path: string) => {
    const res = await engine.client.request({ method: 'GET', path: `/v${engine.apiVersion}${path}` });
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode}`);
    await res.body.arrayBuffer();
  };
  const viaRest = async (path: string) => {
    const res = await rest.request({ method: 'GET', path, headers: auth });
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${await res.body.text()}`);
    await res.body.arrayBuffer();
  };
  // A tunnel opened for every call: what a request costs when no pooled tunnel is idle.
  const coldInspect = async () => {
    const cold = new DockerClient(createDuplexTransport({
      label: hostName, endpoint: host.endpoint, openStream: () => srv.handle.cluster!.openTunnel(host.id, hostName),
    }), { apiVersion: docker.apiVersion ?? engine.apiVersion });
    await inspectContainer(cold, target);
    await cold.close();
  };

  const rows: [string, string, number[]][] = [];
  rows.push(['GET /containers/json', 'direct socket', await sample(N, WARMUP, () => direct('/containers/json'))]);
  rows.push(['', 'tunnel (Docker client)', await sample(N, WARMUP, async () => void await listContainers(docker))]);
  rows.push(['', 'REST over tunnel', await sample(N, WARMUP, () => viaRest(`/api/v1/hosts/${hostName}/containers?all=false`))]);
  rows.push(['GET /containers/{id}/json', 'direct socket', await sample(N, WARMUP, () => direct(`/containers/${target}/json`))]);
  rows.push(['', 'tunnel (Docker client)', await sample(N, WARMUP, async () => void await inspectContainer(docker, target))]);
  rows.push(['', 'REST over tunnel', await sample(N, WARMUP, () => viaRest(`/api/v1/hosts/${hostName}/containers/${target}`))]);
  rows.push(['', 'tunnel, new tunnel per call', await sample(Math.min(N, 100), 5, coldInspect)]);

  console.log(`agent-latency: ${N} sequential requests per row after ${WARMUP} warm-up, ${CONTAINERS} running containers on ${node.name}, `
    + `engine API ${engine.apiVersion}, agent ${MODE === 'inproc' ? 'in the benchmark process' : 'in a child process'}, server in-process, `
    + `gRPC mTLS over loopback; ratios against the direct socket`);
  let baseline = summarize(rows[0]![2]);
  printTable(['call', 'path', 'p50', 'p95', 'ratio p50', 'ratio p95'], rows.map(([call, path, s]) => {
    if (call) baseline = summarize(s);
    const x = summarize(s);
    return [call, path, fmt(x.p50), fmt(x.p95), ratio(x.p50, baseline.p50), ratio(x.p95, baseline.p95)];
  }));
  await rest.close();
} finally {
  await agent?.stop();
  await srv.close();
  await engine.close();
}
