// Update check of a fleet: BENCH_CONTAINERS (500) containers on 5 hosts using
// BENCH_IMAGES (20) tags of a real docker-registry started here. Flotilla's
// check (one remote check per registry/repository/tag for the whole fleet)
// vs. a naive check per container (what per-host updaters do), in the same
// process against the same registry: registry requests and wall time, as ratios.
// No lab needed: the registry is Debian's docker-registry on loopback.
import { Pusher, startRegistry } from '../test/updates/registry-fixtures.ts';
import { RegistryClient } from '../src/updates/registry/client.ts';
import { parseImageRef } from '../src/updates/registry/reference.ts';
import { checkUses, type ImageUse } from '../src/updates/detect.ts';
import { fmt, printTable, ratio, summarize } from './stats.ts';

const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 500);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 20);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const registry = await startRegistry();
try {
  const pusher = new Pusher(registry.host);
  const digests: string[] = [];
  for (let i = 0; i < IMAGES; i++) digests.push((await pusher.pushImage(`bench/app${i}`, 'v1')).digest);
  const uses: ImageUse[] = Array.from({ length: CONTAINERS }, (_, i) => {
    const img = i % IMAGES;
    return {
      hostId: `host${i % 5}`, containerId: `c${i}`, containerName: `c${i}`, image: `${registry.host}/bench/app${img}:v1`, labels: {},
      repoDigests: [`${registry.host}/bench/app${img}@${digests[img]}`], platform: { os: 'linux', architecture: 'amd64' },
    };
  });
  const access = (host: string) => ({ host, insecure: true, skipTlsVerify: false, concurrency: 4 });
  const flotilla: number[] = [];
  const naive: number[] = [];
  let flotillaRequests = 0;
  let naiveRequests = 0;
  for (let r = 0; r < RUNS; r++) {
    const a = new RegistryClient({ access });
    let t = performance.now();
    await checkUses(uses, a, { overrides: {} });
    flotilla.push(performance.now() - t);
    flotillaRequests = a.stats()[registry.host]!.requests;
    await a.close();
    const b = new RegistryClient({ access });
    t = performance.now();
    // Naive: every container asks the registry itself (same client, same concurrency limit).
    await Promise.all(uses.map((u) => b.resolve(parseImageRef(u.image))));
    naive.push(performance.now() - t);
    naiveRequests = b.stats()[registry.host]!.requests;
    await b.close();
  }
  const f = summarize(flotilla);
  const n = summarize(naive);
  printTable(['check', 'registry requests', 'wall p50', 'wall mean'], [
    ['Flotilla (one per tag)', String(flotillaRequests), fmt(f.p50), fmt(f.mean)],
    ['naive (one per container)', String(naiveRequests), fmt(n.p50), fmt(n.mean)],
  ]);
  console.log(`${CONTAINERS} containers, ${IMAGES} tags, ${RUNS} runs: requests naive/Flotilla ${ratio(naiveRequests, flotillaRequests)}, time Flotilla/naive ${ratio(f.p50, n.p50)}`);
} finally {
  await registry.stop();
}
