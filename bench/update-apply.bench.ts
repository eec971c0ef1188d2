// One container update (SPEC S6: inspect → pull → stop → rename → create →
// start → health gate → cleanup) through the REST API on a direct host (the
// server runs it) vs. an agent host (the agent runs it on the UpdateContainer
// command), with the pull excluded: each new version of the tag is pulled onto
// both engines beforehand, so the update's pull is a no-op, and its step is
// also subtracted. Per-step times come from the run's step events (measured on
// the host that ran the update). The container has no healthcheck and the
// stable time is 1 s, so the health gate is a fixed ~1 s, reported on its own.
// Needs the lab swarm (lab up 5 --swarm --managers 3): the test bed's server
// with node1..node4 direct and node5 behind an agent in its own namespace.
// BENCH_N (10) updates per side after BENCH_WARMUP (1), alternating sides.
import fs from 'node:fs';
import { sharedSwarmBed } from '../test/swarm/swarm-lab.ts';
import { buildUpdateImages, clientOf, pull, removeContainersNamed, type UpdateImages, type Variant } from '../test/updates/update-images.ts';
import { createContainer, startContainer } from '../src/docker/containers.ts';
import type { UpdateStepEvent } from '../src/updates/recreate/index.ts';
import { fmt, median, printTable, ratio, summarize } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const STEPS = ['inspect', 'pull', 'stop', 'rename', 'create', 'start', 'health', 'cleanup'] as const;
type Side = 'direct' | 'agent';

interface Sample {
  /** The REST call, as the client sees it. */
  wallMs: number;
  /** The update on the host that ran it (its StepRecorder). */
  hostMs: number;
  steps: Record<string, number>;
}

/** Each step lasts from its first event to the next step's first event; the last one until the host's end. */
function stepDurations(events: UpdateStepEvent[], hostMs: number): Record<string, number> {
  const starts: { step: string; at: number }[] = [];
  for (const e of events) if (!e.progress && starts.at(-1)?.step !== e.step) starts.push({ step: e.step, at: e.at });
  const end = (starts[0]?.at ?? 0) + hostMs;
  return Object.fromEntries(starts.map((s, i) => [s.step, (starts[i + 1]?.at ?? end) - s.at]));
}

const bed = await sharedSwarmBed();
const direct = bed.hosts.find((h) => h.kind === 'direct' && h.node.name === 'node4') ?? bed.hosts.find((h) => h.kind === 'direct')!;
const agent = bed.hosts.find((h) => h.kind === 'agent')!;
const hosts = { direct, agent };
const docker = { direct: clientOf(direct.node), agent: clientOf(agent.node) };
const name = `bench-upd-${process.pid}`;
const tag = `bench${process.pid}`;
let images: UpdateImages | undefined;
try {
  images = await buildUpdateImages(bed.lab, direct.node, [agent.node]);
  const settings = await bed.admin.request('PATCH', '/api/v1/updates/settings', { stable: '1s' });
  if (settings.status !== 200) throw new Error(`settings: ${settings.status} ${JSON.stringify(settings.body)}`);
  /** A new version of the tag, already on both engines: the update's pull finds nothing to fetch. */
  const publish = async (variant: Variant) => {
    const ref = await images!.publish(variant, tag);
    await Promise.all([pull(docker.direct, ref), pull(docker.agent, ref)]);
    return ref;
  };
  const ref = await publish('healthy1');
  for (const side of ['direct', 'agent'] as const) {
    // Healthcheck NONE (kept by the recreate, as it differs from the image's): the gate waits `stable`.
    const { Id } = await createContainer(docker[side], name, { Image: ref, Healthcheck: { Test: ['NONE'] } });
    await startContainer(docker[side], Id);
  }
  const update = async (side: Side): Promise<Sample> => {
    const t = performance.now();
    const res = await bed.admin.post(`/api/v1/hosts/${hosts[side].name}/containers/${name}/update`, {});
    const wallMs = performance.now() - t;
    if (res.status !== 200 || res.body.status !== 'updated') throw new Error(`update on ${side} host: ${res.status} ${JSON.stringify(res.body)}`);
    const hostMs = res.body.durationMs as number;
    return { wallMs, hostMs, steps: stepDurations(res.body.steps as UpdateStepEvent[], hostMs) };
  };
  const samples: Record<Side, Sample[]> = { direct: [], agent: [] };
  for (let i = 0; i < WARMUP + N; i++) {
    await publish(i % 2 === 0 ? 'healthy2' : 'healthy1');
    // Alternate which side goes first, so neither always runs right after the push and pulls.
    const order: Side[] = i % 2 === 0 ? ['direct', 'agent'] : ['agent', 'direct'];
    for (const side of order) {
      const s = await update(side);
      if (i >= WARMUP) samples[side].push(s);
    }
  }

  const step = (s: Sample, k: string) => s.steps[k] ?? 0;
  const metrics: [string, (s: Sample) => number][] = [
    ...STEPS.map((k) => [`  ${k}`, (s: Sample) => step(s, k)] as [string, (s: Sample) => number]),
    ['on the host, total', (s) => s.hostMs],
    ['on the host, excl. pull', (s) => s.hostMs - step(s, 'pull')],
    ['on the host, excl. pull and health gate', (s) => s.hostMs - step(s, 'pull') - step(s, 'health')],
    ['server and transport (REST - host)', (s) => s.wallMs - s.hostMs],
    ['REST call, total', (s) => s.wallMs],
    ['REST call, excl. pull', (s) => s.wallMs - step(s, 'pull')],
    ['REST call, excl. pull and health gate', (s) => s.wallMs - step(s, 'pull') - step(s, 'health')],
  ];
  console.log(`update-apply: ${N} updates per side after ${WARMUP} warm-up, alternating; direct host ${direct.name} (the server runs the update), `
    + `agent host ${agent.name} (the agent runs it); image pre-pulled on both; no healthcheck, stable 1 s; server in-process, agent in its own netns; `
    + 'step times from the host\'s step events; ratios agent/direct');
  printTable(['what', 'direct median', 'p95', 'agent median', 'p95', 'ratio median', 'ratio p95'], metrics.map(([label, of]) => {
    const d = samples.direct.map(of);
    const a = samples.agent.map(of);
    const [dm, am, dp, ap] = [median(d), median(a), summarize(d).p95, summarize(a).p95];
    return [label, fmt(dm), fmt(dp), fmt(am), fmt(ap), dm > 0 ? ratio(am, dm) : '-', dp > 0 ? ratio(ap, dp) : '-'];
  }));
} finally {
  for (const side of ['direct', 'agent'] as const) {
    await removeContainersNamed(docker[side], name).catch((err: Error) => console.error(`cleanup: containers on ${hosts[side].name}: ${err.message}`));
  }
  await images?.remove().catch((err: Error) => console.error(`cleanup: images: ${err.message}`));
  await docker.direct.close();
  await docker.agent.close();
  await bed.close();
  fs.rmSync(bed.agent.dir, { recursive: true, force: true });
}
