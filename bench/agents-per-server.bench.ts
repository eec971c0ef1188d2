// How many agents one server carries: simulated agents (bench/helpers/sim-agent.ts),
// each with its own key, certificate and mTLS gRPC connection, from 1–3 load-generator
// processes (bench/helpers/sim-fleet.ts; up to 4,000 agents each), against one server
// in a child process on this machine. For each size:
// enroll, connect, wait for the server's first sync of every host (through the
// tunnels, answered by a fake engine), then measure BENCH_STEADY_S of steady state:
// server RSS and CPU from /proc, and the ping round trip to random agents.
// BENCH_AGENTS=1000,5000,10000  BENCH_STEADY_S=15 (60 covers one full sync cycle)  BENCH_PROFILE=1 (where server CPU goes)
// BENCH_AGENTS_PER_PROCESS=4000 (load-generator split)
import fs from 'node:fs';
import os from 'node:os';
import { Client } from 'undici';
import { parseToken } from '../src/cluster/enroll-token.ts';
import { fmt, printTable, sample, summarize } from './stats.ts';
import { SimFleet } from './helpers/sim-fleet.ts';
import { cpuPercent, procSample, ServerChild } from './helpers/server-child.ts';
import type { CpuBreakdown } from './helpers/cpu-profile.ts';

const SIZES = (process.env.BENCH_AGENTS ?? '1000,5000,10000').split(',').map(Number);
const PER_PROCESS = Number(process.env.BENCH_AGENTS_PER_PROCESS ?? 4000);
/** 1: restart the server between enrolling and connecting, so its RSS is that of a server carrying the agents, not one that also just signed their certificates. */
const RESTART = process.env.BENCH_RESTART === '1';
const STEADY_S = Number(process.env.BENCH_STEADY_S ?? 15);
const PROFILE = process.env.BENCH_PROFILE === '1';
const PINGS = 200;
const PARALLEL = 50;

interface Progress { sessions: number; hosts: number; synced: number; statuses: Record<string, number>; heapMb: number }

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.error(`  gave up waiting for ${what} after ${timeoutMs / 1000} s`);
  return false;
}

const FD_LIMIT = /^Max open files\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? '?';
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const setupRows: string[][] = [];
const steadyRows: string[][] = [];
const pingRows: string[][] = [];
const notes: string[] = [];
const profiles: [number, CpuBreakdown, { listMs: number; heartbeatMs: number }, number][] = [];

for (const N of SIZES) {
  let server = await ServerChild.start();
  const processes = Math.max(1, Math.ceil(N / PER_PROCESS));
  const fleet = new SimFleet(processes);
  try {
    let addr = `127.0.0.1:${server.info.agentPort}`;
    let idle = procSample(server.pid);
    const { secret } = parseToken(await server.request<string>({ op: 'token', uses: N }));
    let t = performance.now();
    const enrolled = await fleet.enroll(addr, server.info.caPem, secret, N, PARALLEL);
    const enrollMs = performance.now() - t;
    if (enrolled.errors.length) notes.push(`N=${N}: enrollment stopped at ${enrolled.done}: ${enrolled.errors[0]}`);
    if (RESTART) {
      server = await server.restart();
      addr = `127.0.0.1:${server.info.agentPort}`;
      idle = procSample(server.pid);
    }

    t = performance.now();
    const beforeConnect = procSample(server.pid);
    const selfBeforeConnect = fleet.sample();
    const connected = await fleet.connect(addr, PARALLEL);
    const connectMs = performance.now() - t;
    const afterConnect = procSample(server.pid);
    const selfAfterConnect = fleet.sample();
    if (connected.errors.length) notes.push(`N=${N}: connecting stopped at ${connected.done}: ${connected.errors[0]}`);
    const live = connected.done;
    let progress = await server.request<Progress>({ op: 'progress' });
    await until(`${live} sessions`, async () => (progress = await server.request<Progress>({ op: 'progress' })).sessions >= live, 60_000);
    t = performance.now();
    const beforeSync = procSample(server.pid);
    const syncsBefore = (await fleet.counters()).syncs;
    await until(`first sync of ${live} hosts`, async () => (progress = await server.request<Progress>({ op: 'progress' })).synced >= live, Math.max(60_000, live * 100));
    const syncMs = performance.now() - t;
    const afterSync = procSample(server.pid);
    const syncsInPhase = (await fleet.counters()).syncs - syncsBefore;

    // Steady state: heartbeats, keepalives and the periodic syncs through tunnels, nothing else.
    const before = { server: procSample(server.pid), self: fleet.sample(), at: performance.now(), ...(await fleet.counters()) };
    await new Promise((r) => setTimeout(r, STEADY_S * 1000));
    const after = procSample(server.pid);
    const selfAfter = fleet.sample();
    const counts = await fleet.counters();
    const windowS = (performance.now() - before.at) / 1000;
    const heartbeatsPerS = (counts.heartbeats - before.heartbeats) / windowS;
    const tunnelsPerS = (counts.tunnels - before.tunnels) / windowS;
    const syncsPerS = (counts.syncs - before.syncs) / windowS;
    progress = await server.request<Progress>({ op: 'progress' });
    const memory = await server.request<{ heapUsedMb: number; tunnels: number }>({ op: 'memory' });

    const names = () => Array.from({ length: PINGS }, () => fleet.names[Math.floor(Math.random() * live)]!);
    const ipc = summarize(await server.request<number[]>({ op: 'ping', names: names() }));
    pingRows.push([String(live), 'cluster.sessions.command (timed in the server, IPC-triggered)', fmt(ipc.p50), fmt(ipc.p99)]);
    const api = new Client(server.info.url);
    const auth = { authorization: `Bearer ${server.info.adminToken}` };
    const probe = await api.request({ method: 'POST', path: `/api/v1/hosts/${names()[0]}/ping`, headers: auth });
    const probeText = await probe.body.text();
    if (probe.statusCode === 200) {
      const targets = names();
      const rest = summarize(await sample(PINGS, 0, async () => {
        const res = await api.request({ method: 'POST', path: `/api/v1/hosts/${targets.pop()}/ping`, headers: auth });
        if (res.statusCode !== 200) throw new Error(`REST ping: ${res.statusCode} ${await res.body.text()}`);
        await res.body.dump();
      }));
      pingRows.push([String(live), 'POST /api/v1/hosts/{name}/ping (timed by the client)', fmt(rest.p50), fmt(rest.p99)]);
    } else if (N === SIZES[0]) notes.push(`REST ping route not available (${probe.statusCode} ${probeText.slice(0, 100)}): pings via IPC only`);
    await api.close();
    if (PROFILE) {
      profiles.push([live, await server.request<CpuBreakdown>({ op: 'profile', ms: 10_000 }), await server.request({ op: 'storeCosts' }), heartbeatsPerS]);
    }

    const perAgent = (x: number) => x / Math.max(1, live);
    setupRows.push([
      String(N), String(live), String(processes), secs(enrollMs), secs(connectMs), `${cpuPercent(beforeConnect, afterConnect).toFixed(0)}%`,
      `${cpuPercent(selfBeforeConnect, selfAfterConnect).toFixed(0)}%`,
      secs(syncMs), `${cpuPercent(beforeSync, afterSync).toFixed(0)}%`, `${((1000 * (afterSync.cpuS - beforeSync.cpuS)) / Math.max(1, syncsInPhase)).toFixed(1)} ms`,
    ]);
    steadyRows.push([
      String(live), idle.rssMb.toFixed(0), after.rssMb.toFixed(0), progress.heapMb.toFixed(0), memory.heapUsedMb.toFixed(0), perAgent((after.rssMb - idle.rssMb) * 1024).toFixed(0),
      after.peakRssMb.toFixed(0), `${cpuPercent(before.server, after).toFixed(1)}%`, heartbeatsPerS.toFixed(0), syncsPerS.toFixed(1), tunnelsPerS.toFixed(1), String(memory.tunnels),
      `${cpuPercent(before.self, selfAfter).toFixed(1)}%`, selfAfter.rssMb.toFixed(0),
      `${progress.sessions}`, String(counts.channelsLost),
    ]);
    if (counts.tunnelErrors) notes.push(`N=${N}: ${counts.tunnelErrors} tunnel calls ended with an error on the agents' side before shutdown`);
    const logs = server.logSummary();
    if (logs.length) notes.push(`N=${N}: server log (warn+): ${logs.slice(0, 5).map(([m, c]) => `${c}x ${m}`).join('; ')}`);
  } finally {
    await fleet.stop();
    await server.stop();
  }
}

console.log(`agents-per-server: simulated agents from up to ${PER_PROCESS} per load-generator process (own key+cert and mTLS HTTP/2 connection each, heartbeat 10 s, `
  + `grpc keepalive 20 s, 5 containers per fake engine) against one server in a child process; enroll/connect ${PARALLEL} at a time; `
  + `steady window ${STEADY_S} s after every host's first sync; ${os.cpus().length} cores (shared), fd limit ${FD_LIMIT}; loopback only`
  + (RESTART ? '; the server restarted between enrollment and connect (idle RSS is the restarted one\'s)' : ''));
console.log('\nsetup: enroll (key+CSR here, Enroll RPC) and connect (TLS, Channel, Hello → Welcome); first sync: from the last Welcome until the '
  + 'server had synced every host once through its tunnels (syncs start as agents connect); server CPU/sync: CPU time in that phase / syncs in it');
printTable(['agents', 'connected', 'loadgen procs', 'enroll', 'connect', 'server CPU', 'loadgen CPU', 'first sync', 'server CPU', 'server CPU/sync'], setupRows);
console.log(`\nsteady state, ${STEADY_S} s right after the first syncs (agent hosts re-sync every 60 s); CPU in % of one core; KB/agent = (RSS - idle RSS) / agents; `
  + 'heap after GC: only when the server runs with BENCH_SERVER_NODE_OPTIONS=--expose-gc (else = heap); tunnels open: at the end of the window (idle pooled ones included)');
printTable(['agents', 'idle RSS MB', 'RSS MB', 'heap MB', 'heap after GC', 'KB/agent', 'peak RSS MB', 'server CPU', 'heartbeats/s', 'syncs/s', 'new tunnels/s', 'tunnels open',
  'loadgen CPU', 'loadgen RSS MB', 'sessions at end', 'channels lost'], steadyRows);
console.log(`\nping round trip to a random connected agent, ${PINGS} sequential pings`);
printTable(['agents', 'via', 'p50', 'p99'], pingRows);
for (const [n, p, store, beats] of profiles) {
  console.log(`\nserver CPU profile at ${n} agents, 10 s of steady state (${p.totalMs.toFixed(0)} ms busy), self time by area and by function`);
  console.log(`store work measured apart: the sync scheduler's hosts.list() every second ${fmt(store.listMs)} (${(store.listMs / 10).toFixed(1)}% of a core); `
    + `one heartbeat's find + update ${fmt(store.heartbeatMs)} x ${beats.toFixed(0)}/s (${((store.heartbeatMs * beats) / 10).toFixed(1)}% of a core)`);
  printTable(['area', 'ms'], p.areas.map(([a, ms]) => [a, ms.toFixed(0)]));
  printTable(['function', 'ms'], p.functions.map(([f, ms]) => [f, ms.toFixed(0)]));
}
for (const n of notes) console.log(`note: ${n}`);
