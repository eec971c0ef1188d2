// The fleet Docker endpoint: GET /containers/json for one targeted host through
// the endpoint vs the engine's socket directly (a direct host and an agent host),
// and the fleet-wide list over 8 engines vs the slowest single host's list, live
// and from the inventory. Needs the lab (node test/lab/cli.ts up 3); adds 5 engines.
import { Agent as UndiciAgent, Client } from 'undici';
import { lab as labOps, labState } from '../test/lab/fixture.ts';
import { agentLab } from '../test/helpers/agents.ts';
import { waitFor } from '../test/helpers/server.ts';
import { fmt, sample, summarize } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 300);
const EXTRA = Number(process.env.BENCH_EXTRA_ENGINES ?? 5);
const lab = await labState();
const extra = await Promise.all(Array.from({ length: EXTRA }, (_, i) => labOps().addNode(`bench${i}`)));
const engines = [...lab.nodes.slice(0, 3), ...extra];
const al = await agentLab();
const agent = al.startAgent(lab.nodes[1]!, 'agent2', { FLOTILLA_ENROLL_TOKEN: await al.token() });
try {
  for (const [i, n] of engines.entries()) await al.srv.admin.post('/api/v1/hosts', { name: `e${i}`, endpoint: n.unix, syncIntervalSeconds: 3600 });
  await al.waitConnected('agent2');
  await waitFor('all connected', async () => ((await al.srv.admin.get('/api/v1/hosts')).body as any[]).every((h) => h.status === 'connected'), 60_000);
  const port = al.srv.handle.docker!.port;
  const tlsAgent = new UndiciAgent({ connect: { ca: al.srv.handle.cluster!.ca.certPem }, keepAliveTimeout: 60_000 });
  const auth = { authorization: `Bearer ${al.srv.admin.token}` };
  const endpoint = async (path: string, headers: Record<string, string> = {}) => {
    const r = await tlsAgent.request({ origin: `https://127.0.0.1:${port}`, method: 'GET', path, headers: { ...auth, ...headers } });
    if (r.statusCode !== 200) throw new Error(`${path}: ${r.statusCode} ${await r.body.text()}`);
    await r.body.arrayBuffer();
  };
  const directClients = engines.map((n) => new Client('http://localhost', { socketPath: new URL(n.unix).pathname }));
  const direct = async (c: Client) => {
    const r = await c.request({ method: 'GET', path: '/v1.41/containers/json' });
    await r.body.arrayBuffer();
  };
  const row = (name: string, base: number[], through: number[]) => {
    const a = summarize(base);
    const b = summarize(through);
    console.log(`${name.padEnd(44)} ${fmt(a.p50).padEnd(10)} ${fmt(a.p95).padEnd(10)} | ${fmt(b.p50).padEnd(10)} ${fmt(b.p95).padEnd(10)} | ${(b.p50 / a.p50).toFixed(2)}x  ${(b.p95 / a.p95).toFixed(2)}x`);
  };
  console.log(`docker-endpoint: ${N} sequential GET /containers/json each after 20 warm-up; ${engines.length} engines + 1 agent host`);
  console.log('call                                         base p50   p95        | endpoint p50 p95       | ratio p50 p95');
  row('one direct host (e0), targeted', await sample(N, 20, () => direct(directClients[0]!)), await sample(N, 20, () => endpoint('/v1.41/containers/json', { 'x-flotilla-target': 'e0' })));
  row('one agent host (agent2), targeted', await sample(N, 20, () => direct(directClients[1]!)), await sample(N, 20, () => endpoint('/v1.41/containers/json', { 'x-flotilla-target': 'agent2' })));
  // The slowest single host: each sample is the slowest of all engines answering in parallel.
  const slowest = await sample(N, 20, async () => { await Promise.all(directClients.map(direct)); });
  row(`fleet-wide (${engines.length + 1} hosts) live vs slowest host`, slowest, await sample(N, 20, () => endpoint('/v1.41/containers/json')));
  row(`fleet-wide from the inventory vs slowest host`, slowest, await sample(N, 20, () => endpoint('/v1.41/containers/json', { 'x-flotilla-source': 'inventory' })));
  for (const c of directClients) await c.close();
  await tlsAgent.close();
} finally {
  await agent.kill();
  await al.srv.close();
  for (const n of extra) await labOps().removeNode(n.name);
}
