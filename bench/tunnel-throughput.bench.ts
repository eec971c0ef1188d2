// Stream throughput through an agent: a finished container on lab node1 with a big
// log (and a big file in its filesystem); GET /containers/{id}/logs?stdout=1 and
// GET /containers/{id}/export read as raw bytes, directly on the engine's unix
// socket vs. through the agent tunnel (Flotilla's Docker client, body bytes
// counted), with the agent in this process and in a child process.
// BENCH_LOG_MB=200 (log and file size), BENCH_RUNS=3. Needs the lab: node test/lab/cli.ts up 3
import { labState } from '../test/lab/fixture.ts';
import { startTestServer, type TestServer } from '../test/helpers/server.ts';
import type { DockerClient } from '../src/docker/client.ts';
import type { QueryParams } from '../src/docker/query.ts';
import { median, printTable } from './stats.ts';
import { LabEngine } from './helpers/lab-engine.ts';
import { startLabAgent, type AgentMode, type LabAgent } from './helpers/lab-agent.ts';

const MB = Number(process.env.BENCH_LOG_MB ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MODES: AgentMode[] = ['inproc', 'child'];

const lab = await labState();
const node = lab.nodes[0]!;
const engine = await LabEngine.open(node);
const setups: { mode: AgentMode; srv: TestServer; agent?: LabAgent; docker?: DockerClient }[] = [];

/** Reads a streamed body through the tunnel; returns its length in bytes. */
async function drainTunnel(docker: DockerClient, path: string, query: QueryParams = {}): Promise<number> {
  const res = await docker.stream('GET', path, { query });
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  return bytes;
}

async function timed(read: () => Promise<number>): Promise<{ bytes: number; mbps: number }> {
  const t = performance.now();
  const bytes = await read();
  return { bytes, mbps: bytes / 1e6 / ((performance.now() - t) / 1000) };
}

try {
  const bytes = MB * 1_000_000;
  // 100-character lines of "x", then a file of the same size for export; the container exits when done.
  const script = `head -c ${bytes} /dev/zero | tr '\\0' x | fold -w 100; head -c ${bytes} /dev/zero > /big`;
  const t0 = performance.now();
  const id = await engine.run(`bench-tput-${process.pid}`, lab.images.busybox1, ['sh', '-c', script]);
  const { StatusCode } = await engine.call<{ StatusCode: number }>('POST', `/containers/${id}/wait`, undefined, 600_000);
  if (StatusCode !== 0) throw new Error(`log writer exited with ${StatusCode}`);
  const writeS = (performance.now() - t0) / 1000;

  for (const mode of MODES) {
    const srv = await startTestServer({ FLOTILLA_AGENT_LISTEN_HOST: '127.0.0.1', FLOTILLA_AGENT_HEARTBEAT: '10s' });
    const setup: (typeof setups)[number] = { mode, srv };
    setups.push(setup);
    setup.agent = await startLabAgent(srv, `bench-tput-${mode}`, node, mode);
    setup.docker = (await srv.handle.fleet.docker(`bench-tput-${mode}`)).docker;
  }

  const reads: { name: string; direct: string; path: string; query: QueryParams }[] = [
    { name: 'GET /containers/{id}/logs?stdout=1', direct: `/containers/${id}/logs?stdout=1`, path: `/containers/${id}/logs`, query: { stdout: true } },
    { name: 'GET /containers/{id}/export', direct: `/containers/${id}/export`, path: `/containers/${id}/export`, query: {} },
  ];
  const rows: string[][] = [];
  for (const r of reads) {
    const results = new Map<string, { bytes: number; mbps: number }[]>();
    const record = (key: string, v: { bytes: number; mbps: number }) => results.set(key, [...(results.get(key) ?? []), v]);
    // Interleaved, so drift on a shared machine hits every path alike.
    for (let run = 0; run < RUNS; run++) {
      record('direct socket', await timed(() => engine.drain(r.direct)));
      for (const s of setups) record(`tunnel, agent ${s.mode === 'inproc' ? 'in-process' : 'child process'}`, await timed(() => drainTunnel(s.docker!, r.path, r.query)));
    }
    const base = median(results.get('direct socket')!.map((x) => x.mbps));
    for (const [path, runs] of results) {
      const mbps = runs.map((x) => x.mbps);
      const sizes = new Set(runs.map((x) => x.bytes));
      if (sizes.size !== 1 || runs[0]!.bytes !== results.get('direct socket')![0]!.bytes) throw new Error(`${r.name} ${path}: byte counts differ between runs: ${[...sizes].join(', ')}`);
      rows.push([path === 'direct socket' ? r.name : '', path, (runs[0]!.bytes / 1e6).toFixed(1), Math.max(...mbps).toFixed(1), median(mbps).toFixed(1), `${(median(mbps) / base).toFixed(2)}x`]);
    }
  }
  console.log(`tunnel-throughput: ${RUNS} runs per path (interleaved), a stopped container on ${node.name} that wrote ${MB} MB of 100-char log lines `
    + `(json-file driver; written in ${writeS.toFixed(1)} s) and a ${MB} MB file; raw body bytes; server and benchmark in one process, `
    + `gRPC mTLS over loopback; MB = 10^6 bytes; ratio = median against the direct socket's median`);
  printTable(['call', 'path', 'MB read', 'best MB/s', 'median MB/s', 'ratio'], rows);
} finally {
  for (const s of setups) {
    await s.agent?.stop();
    await s.srv.close();
  }
  await engine.close();
}
