// GET /containers/json and container inspect on one lab host: directly on the
// engine's unix socket vs. through Flotilla's REST API, in the same process.
// Prints p50/p95 of both and the ratio. Needs the lab: node test/lab/cli.ts up 3
import { Client } from 'undici';
import { labState } from '../test/lab/fixture.ts';
import { startTestServer } from '../test/helpers/server.ts';
import { fmt, sample, summarize } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 300);
const CONTAINERS = 10;

const lab = await labState();
const node = lab.nodes[0]!;
const socketPath = new URL(node.unix).pathname;
const direct = new Client('http://localhost', { socketPath });
const call = async (c: Client, path: string, headers: Record<string, string> = {}) => {
  const res = await c.request({ method: 'GET', path, headers });
  if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${await res.body.text()}`);
  await res.body.arrayBuffer();
};
const post = async (path: string, body?: unknown) => {
  const res = await direct.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${text}`);
  return text ? JSON.parse(text) : undefined;
};

const ids: string[] = [];
const srv = await startTestServer();
try {
  for (let i = 0; i < CONTAINERS; i++) {
    const { Id } = await post(`/v1.41/containers/create?name=bench-${process.pid}-${i}`, { Image: lab.images.busybox1, Cmd: ['sleep', '600'] });
    await post(`/v1.41/containers/${Id}/start`);
    ids.push(Id);
  }
  await srv.admin.post('/api/v1/hosts', { name: 'bench', endpoint: node.unix });
  const version = (await (await direct.request({ method: 'GET', path: '/version' })).body.json() as { ApiVersion: string }).ApiVersion;
  const flotilla = new Client(srv.url);
  const auth = { authorization: `Bearer ${srv.admin.token}` };
  const target = ids[0]!;

  const rows: [string, number[], number[]][] = [
    ['GET /containers/json', await sample(N, 20, () => call(direct, `/v${version}/containers/json`)),
      await sample(N, 20, () => call(flotilla, '/api/v1/hosts/bench/containers?all=false', auth))],
    ['GET /containers/{id}/json', await sample(N, 20, () => call(direct, `/v${version}/containers/${target}/json`)),
      await sample(N, 20, () => call(flotilla, `/api/v1/hosts/bench/containers/${target}`, auth))],
  ];
  console.log(`rest-vs-direct: ${N} sequential requests each, ${CONTAINERS} running containers, engine API ${version}, host over unix socket`);
  console.log('call                        direct p50   p95        | flotilla p50  p95        | ratio p50  p95');
  for (const [name, d, f] of rows) {
    const a = summarize(d);
    const b = summarize(f);
    console.log(`${name.padEnd(27)} ${fmt(a.p50).padEnd(12)} ${fmt(a.p95).padEnd(10)} | ${fmt(b.p50).padEnd(13)} ${fmt(b.p95).padEnd(10)} | ${(b.p50 / a.p50).toFixed(2)}x     ${(b.p95 / a.p95).toFixed(2)}x`);
  }
  await flotilla.close();
} finally {
  for (const id of ids) await direct.request({ method: 'DELETE', path: `/v1.41/containers/${id}?force=true` }).then((r) => r.body.dump());
  await srv.close();
  await direct.close();
}
