// Images for the container-update tests, built FROM the lab busybox with the docker
// CLI (legacy builder) on a build engine and pushed to the lab registry under a
// repository unique to this process: `<registry>/<prefix>-upd-<pid><rand>/app`.
//   healthy1 / healthy2: a HEALTHCHECK that passes, a VOLUME, env, labels, a port; v2 differs in content
//   unhealthy: the same with a healthcheck that always fails
//   exits: no healthcheck, exits with code 3 after 2 s
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerClient } from '../../src/docker/client.ts';
import { inspectContainer, listContainers, removeContainer } from '../../src/docker/containers.ts';
import type { ContainerInspect } from '../../src/docker/container-types.ts';
import { pullImage } from '../../src/docker/images.ts';
import { NotFound } from '../../src/errors.ts';
import { createTransport } from '../../src/transports/index.ts';
import { registryDigest, request, splitHostPort } from '../lab/http.ts';
import type { LabNode, LabState } from '../lab/fixture.ts';

export type Variant = 'healthy1' | 'healthy2' | 'unhealthy' | 'exits';

export interface UpdateImages {
  /** `<registry>/<prefix>-upd-…/app`, without a tag. */
  repository: string;
  /** The local build of each variant on the build engine (`repository:<variant>`), pushed too. */
  ref(variant: Variant): string;
  /** Tags a variant as `repository:<tag>` and pushes it: how a new version of a tag is published. */
  publish(variant: Variant, tag: string): Promise<string>;
  /** Deletes every pushed manifest from the registry and the repository's images from the build engine and `usedOn`. */
  remove(): Promise<void>;
}

const LOOP = "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done";

function dockerfile(base: string, variant: Variant): string {
  // The COPY of a per-build random file keeps every build's image ID unique: test files
  // run concurrently, and two identical builds share one ID, so one file's `rmi -f`
  // of its ID would untag the other file's image.
  if (variant === 'exits') return `FROM ${base}\nCOPY version /version\nCMD ["sh", "-c", "sleep 2; exit 3"]\n`;
  const version = variant === 'healthy2' ? '2' : '1';
  const check = variant === 'unhealthy' ? 'false' : 'test -f /app/version';
  return [
    `FROM ${base}`,
    `ENV APP_VERSION=${version} APP_MODE=image-default`,
    `LABEL org.example.app=app org.example.version=${version}`,
    'EXPOSE 8080',
    'WORKDIR /app',
    'COPY version /app/version',
    'VOLUME /data',
    `HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ${check}`,
    `CMD ["sh", "-c", "${LOOP}"]`,
    '',
  ].join('\n');
}

export async function dockerCli(node: LabNode, args: string[], cwd?: string): Promise<string> {
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), 'upd-cli-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, DOCKER_CONFIG: home, DOCKER_HOST: node.unix, DOCKER_BUILDKIT: '0' };
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn('/usr/local/bin/docker', args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`docker ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
    });
  } finally {
    await fsp.rm(home, { recursive: true, force: true });
  }
}

async function buildVariant(node: LabNode, base: string, variant: Variant, ref: string): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'upd-build-'));
  try {
    await fsp.writeFile(path.join(dir, 'Dockerfile'), dockerfile(base, variant));
    await fsp.writeFile(path.join(dir, 'version'), `${variant} ${randomBytes(4).toString('hex')}\n`);
    await dockerCli(node, ['build', '-q', '-t', ref, '.'], dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function deleteManifest(registry: string, repo: string, tag: string): Promise<void> {
  const digest = await registryDigest(registry, repo, tag);
  if (digest === undefined) return;
  const [host, port] = splitHostPort(registry);
  await request({ host, port }, 'DELETE', `/v2/${repo}/manifests/${digest}`, { headers: { Host: registry } });
}

export async function buildUpdateImages(st: LabState, buildNode: LabNode, usedOn: LabNode[] = []): Promise<UpdateImages> {
  const registry = st.registry.lab;
  const repo = `${st.prefix}-upd-${process.pid}${randomBytes(3).toString('hex')}/app`;
  const repository = `${registry}/${repo}`;
  const tags = new Set<string>();
  const ref = (variant: Variant) => `${repository}:${variant}`;
  const variants: Variant[] = ['healthy1', 'healthy2', 'unhealthy', 'exits'];
  await Promise.all(variants.map((v) => buildVariant(buildNode, st.images.busybox1, v, ref(v))));
  const publish = async (variant: Variant, tag: string) => {
    const target = `${repository}:${tag}`;
    if (tag !== variant) await dockerCli(buildNode, ['tag', ref(variant), target]);
    await dockerCli(buildNode, ['push', '-q', target]);
    tags.add(tag);
    return target;
  };
  for (const v of variants) await publish(v, v);
  const remove = async () => {
    for (const tag of tags) await deleteManifest(registry, repo, tag);
    for (const node of [buildNode, ...usedOn]) {
      const local = (await dockerCli(node, ['images', '-q', repository])).split('\n').filter(Boolean);
      if (local.length > 0) await dockerCli(node, ['rmi', '-f', ...new Set(local)]);
    }
  };
  return { repository, ref, publish, remove };
}

// ---------------------------------------------------------------- test helpers


export function clientOf(node: LabNode): DockerClient {
  return new DockerClient(createTransport({ url: node.unix, label: node.name }));
}

export function uniqueName(what: string): string {
  return `upd-${what}-${randomBytes(4).toString('hex')}`;
}

export async function pull(docker: DockerClient, reference: string): Promise<void> {
  for await (const _message of pullImage(docker, reference)) {
    // draining the stream completes the pull
  }
}

export async function ignoreNotFound(action: Promise<unknown>): Promise<void> {
  try {
    await action;
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
}

export async function inspectOrUndefined(docker: DockerClient, id: string): Promise<ContainerInspect | undefined> {
  try {
    return await inspectContainer(docker, id);
  } catch (error) {
    if (error instanceof NotFound) return undefined;
    throw error;
  }
}

/** Names of every container whose name starts with `name` (the container, a backup, a leftover). */
export async function containersNamed(docker: DockerClient, name: string): Promise<string[]> {
  const all = await listContainers(docker, { all: true, filters: { name: [name] } });
  return all.flatMap((c) => c.Names.map((n) => n.replace(/^\//, ''))).filter((n) => n.startsWith(name)).sort();
}

/** Force-removes every container whose name starts with `name`, with its anonymous volumes. */
export async function removeContainersNamed(docker: DockerClient, name: string): Promise<void> {
  const all = await listContainers(docker, { all: true, filters: { name: [name] } });
  for (const c of all) {
    if (c.Names.some((n) => n.replace(/^\//, '').startsWith(name))) await ignoreNotFound(removeContainer(docker, c.Id, { force: true, v: true }));
  }
}

/** A /24 outside Docker's default pools and the lab's own 10.231/16, random so parallel runs do not collide. */
export function randomSubnet(): { subnet: string; ip: (host: number) => string } {
  const b = randomBytes(2);
  const prefix = `10.${200 + ((b[0] ?? 0) % 30)}.${b[1] ?? 0}`;
  return { subnet: `${prefix}.0/24`, ip: (host) => `${prefix}.${host}` };
}

/** The container's own hostname is its short id and its own alias too: take those out before comparing. */
export function withoutOwnIds(values: readonly string[] | null | undefined, id: string): string[] {
  return [...(values ?? [])].filter((v) => v !== id.slice(0, 12) && v !== id).sort();
}

/** Cleanups run last-in first-out (node:test runs `t.after` hooks in registration order). */
export function deferrer(t: { after: (fn: () => Promise<void>) => void }): (fn: () => Promise<unknown>) => void {
  const stack: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const fn of stack.reverse()) await fn().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  });
  return (fn) => stack.push(fn);
}
