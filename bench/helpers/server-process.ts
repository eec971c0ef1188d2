// A Flotilla server in its own process for benchmarks, so its RSS and CPU are its
// own and its event loop is not the load generator's. argv[2] is an empty data
// directory (the parent removes it). Prints one JSON line on stdout: API URL,
// agent and Docker-endpoint ports, CA PEM and an admin API token. Answers IPC
// requests: token, progress, ping, profile, floorProxy, storeCosts, stop.
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { profileCpu } from './cpu-profile.ts';
import { startFloorProxy } from './floor-proxy.ts';
import { loadOrCreateCa } from '../../src/cluster/ca.ts';
import { ensureServerCert } from '../../src/cluster/pki-files.ts';
import { serverSans } from '../../src/cluster/server-sans.ts';

const dataDir = process.argv[2];
if (!dataDir || !process.send) throw new Error('usage: started by agents-per-server.bench.ts with an IPC channel and a data directory');

const config = loadConfig({
  FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_LISTEN_HOST: '127.0.0.1',
  FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0', FLOTILLA_AGENT_LISTEN_HOST: process.env.BENCH_AGENT_LISTEN_HOST ?? '127.0.0.1', FLOTILLA_AGENT_HEARTBEAT: process.env.BENCH_HEARTBEAT ?? '10s',
});
const handle = await startServer(config, createLogger(process.env.BENCH_SERVER_LOG ?? 'warn', pino.destination(2)));
const cluster = handle.cluster!;
// A restarted server (ServerChild.restart) is set up already.
if (!(await handle.store.users.get('admin'))) {
  const setup = await fetch(`${handle.url}/api/v1/setup`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ setupCode: handle.setupCode, username: 'admin', password: 'correct horse battery staple' }),
  });
  if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${await setup.text()}`);
}
const admin = (await handle.store.users.get('admin'))!;
const { token: adminToken } = await handle.store.users.createToken(admin.id, 'bench', undefined);
process.stdout.write(`${JSON.stringify({ url: handle.url, agentPort: cluster.port, dockerPort: handle.docker?.port, caPem: cluster.ca.certPem, adminToken })}\n`);

type Request =
  | { id: number; op: 'token'; uses: number }
  | { id: number; op: 'progress' }
  | { id: number; op: 'ping'; names: string[] }
  | { id: number; op: 'profile'; ms: number }
  | { id: number; op: 'storeCosts' }
  | { id: number; op: 'memory' }
  | { id: number; op: 'heapSnapshot'; path: string }
  | { id: number; op: 'floorProxy'; socketPath: string }
  | { id: number; op: 'stop' };

async function answer(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'token':
      return (await cluster.createEnrollToken({ kind: 'fleet', uses: req.uses, ttlMs: 3_600_000, label: 'bench', createdBy: null })).token;
    case 'progress': {
      const hosts = await handle.store.hosts.list();
      const statuses: Record<string, number> = {};
      for (const h of hosts) statuses[h.status] = (statuses[h.status] ?? 0) + 1;
      const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
      return { sessions: cluster.sessions.count(), hosts: hosts.length, synced: hosts.filter((h) => h.last_sync_at).length, statuses, heapMb };
    }
    case 'ping': {
      // Timed here, around the command alone: no HTTP, no IPC.
      const targets = await Promise.all(req.names.map((n) => handle.store.hosts.find(n)));
      const ms: number[] = [];
      for (const host of targets) {
        if (!host) throw new Error('ping: unknown host');
        const t = performance.now();
        const result = await cluster.sessions.command(host.id, host.name, { $case: 'ping', value: { serverTimeMs: Date.now() } }, 10_000);
        ms.push(performance.now() - t);
        if (!result.ok) throw new Error(`ping ${host.name}: ${result.error}`);
      }
      return ms;
    }
    case 'profile':
      return profileCpu(req.ms);
    case 'memory': {
      // Where the RSS goes: V8 heap vs. memory outside it (OpenSSL, nghttp2, Buffers), and the tunnels open now.
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      const mb = (x: number) => Math.round(x / 2 ** 20);
      return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers), tunnels: cluster.sessions.openTunnels(), sessions: cluster.sessions.count() };
    }
    case 'heapSnapshot':
      return (await import('node:v8')).writeHeapSnapshot(req.path);
    case 'storeCosts': {
      // The store work behind two steady-state duties: the sync scheduler lists every
      // host once a second; each heartbeat reads its host and writes last_seen_at.
      const timeEach = async (n: number, fn: (i: number) => Promise<unknown>) => {
        const t = performance.now();
        for (let i = 0; i < n; i++) await fn(i);
        return (performance.now() - t) / n;
      };
      const hosts = await handle.store.hosts.list();
      const listMs = await timeEach(20, () => handle.store.hosts.list());
      const heartbeatMs = await timeEach(200, async (i) => {
        const h = hosts[i % hosts.length]!;
        await handle.store.hosts.find(h.id);
        await handle.store.hosts.update(h.id, { last_seen_at: new Date().toISOString() });
      });
      return { listMs, heartbeatMs };
    }
    case 'floorProxy': {
      const ca = await loadOrCreateCa(config.cluster.dir);
      const tls = await ensureServerCert(config.cluster.dir, ca, serverSans(config.cluster.advertise));
      return startFloorProxy(req.socketPath, { cert: tls.certPem, key: tls.keyPem });
    }
    case 'stop':
      await handle.close();
      setImmediate(() => process.exit(0));
      return true;
  }
}

process.on('message', (req: Request) => {
  answer(req).then(
    (value) => process.send!({ id: req.id, value }),
    (err: Error) => process.send!({ id: req.id, error: err.message }),
  );
});
// The parent went away without saying stop: do not linger.
process.on('disconnect', () => void handle.close().finally(() => process.exit(0)));
