// The multi-host Docker test lab: N real dockerd engines on one Linux machine,
// each acting as a separate host (own network namespace + IP, mount and UTS
// namespace, data-root, exec-root => own containerd, engine ID, hostname), a
// private registry, busybox images built without Docker Hub, optional Swarm.
//
//   root netns                   netns <p>-sw                  netns <p>-<name>
//   <p>0 NET.0.1/24  <-veth->  up0 -[ br0 ]- p<i>  <-veth->  eth0 NET.0.(10+i)/24
//     registry :5000 (+127.0.0.1:5000)                      dockerd + own containerd
//                                                            docker0 NET.(100+i).1/24
//
// See README.md beside this file for the traps this handles (they are marked
// "trap N" below, numbered as in README.md).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { dockerApi, ping, registryDigest, request, type HttpTarget } from './http.ts';
import {
  FatalWait,
  LabError,
  allPids,
  cmdline,
  exists,
  livePidFromFile,
  nsLink,
  pidAlive,
  pidsInNamespace,
  readPidfile,
  run,
  signal,
  spawnDetached,
  waitFor,
  waitPidsGone,
  withLock,
  writeFileAtomic,
} from './sys.ts';
import type { LabNode, LabState } from './types.ts';

export type { LabNode, LabState } from './types.ts';
export { LabError } from './sys.ts';

export type LabOptions = {
  /** all state lives here; default $LAB_DIR or /tmp/flotilla-lab */
  dir?: string;
  /** netns / link / hostname / cgroup prefix; default $LAB_PREFIX or flt */
  prefix?: string;
  /** first two octets of the lab addressing; default $LAB_NET or 10.231 */
  net?: string;
  registryPort?: number;
  /** start a 2nd registry process on 127.0.0.1:<port> (skipped with a warning when busy); default on */
  registryLoopback?: boolean;
  tcpPort?: number;
  storageDriver?: string;
  cgroupDriver?: string;
  /** MUST be a static busybox (busybox-static) */
  busybox?: string;
  dockerd?: string;
  extraDockerdArgs?: string[];
  /** progress lines; default: silent unless LAB_VERBOSE=1 (then stderr) */
  log?: (msg: string) => void;
  env?: NodeJS.ProcessEnv;
};

export type UpOptions = { swarm?: boolean; managers?: number };
export type AddNodeOptions = { swarm?: 'worker' | 'manager' };
export type StopOptions = { graceMs?: number; timeoutMs?: number };

/** what lab.ts keeps per node in $LAB_DIR/<name>/node.json */
type NodeRecord = {
  name: string;
  index: number;
  ip: string;
  hostname: string;
  engineId: string;
  swarmRole: 'manager' | 'worker' | null;
  swarmNodeId: string | null;
};

type DockerInfo = {
  ID: string;
  Name: string;
  Swarm: { LocalNodeState: string; NodeID: string; ControlAvailable: boolean };
};

const MAX_INDEX = 150; // NET.0.(10+i) and NET.(100+i).1 must stay <= 254
const RESERVED = new Set(['sw', 'registry', 'image', 'images']);
const NODE_NAME = /^[a-z0-9][a-z0-9-]{0,19}$/;
const OUR_EXES = ['dockerd', 'containerd', 'containerd-shim', 'containerd-shim-runc-v2', 'docker-registry', 'runc', 'unshare', 'nsenter'];
const AUTH_HEADER = { 'X-Registry-Auth': Buffer.from('{}').toString('base64') };

/**
 * Launcher run in the node's fresh namespaces (after unshare + nsenter):
 * set the hostname (trap 4), then lazily unmount the copies of foreign nsfs /
 * overlay mounts inherited from the root mount namespace (other labs' netns
 * files, a host dockerd's container netns and rootfs). In a private mount
 * namespace those copies would otherwise pin the other side's namespaces and
 * veths until this node dies (trap 9). Then exec dockerd (same pid).
 */
const LAUNCHER = [
  'hostname "$1" || exit 1',
  'awk \'{for(i=7;i<=NF;i++) if($i=="-"){print $(i+1), $5; break}}\' /proc/self/mountinfo |',
  '  while read -r t m; do case "$t" in nsfs|overlay) [ "$m" = / ] || umount -l "$m" 2>/dev/null;; esac; done',
  'shift',
  'exec "$DOCKERD" "$@"',
].join('\n');

export class Lab {
  readonly dir: string;
  readonly prefix: string;
  readonly net: string;
  readonly registryPort: number;
  readonly registryLoopback: boolean;
  readonly tcpPort: number;
  readonly storageDriver: string;
  readonly cgroupDriver: string;
  readonly busybox: string;
  readonly dockerd: string;
  readonly extraDockerdArgs: string[];
  /** netns holding the lab bridge */
  readonly swNs: string;
  /** root-netns end of the uplink veth, carries NET.0.1 */
  readonly rootIf: string;
  readonly gateway: string;
  /** registry address the nodes use: NET.0.1:5000 */
  readonly registry: string;
  private readonly logFn: (msg: string) => void;

  constructor(opts: LabOptions = {}) {
    const env = opts.env ?? process.env;
    this.dir = path.resolve(opts.dir ?? env.LAB_DIR ?? '/tmp/flotilla-lab');
    this.prefix = opts.prefix ?? env.LAB_PREFIX ?? 'flt';
    this.net = opts.net ?? env.LAB_NET ?? '10.231';
    this.registryPort = opts.registryPort ?? Number(env.LAB_REGISTRY_PORT ?? 5000);
    this.registryLoopback = opts.registryLoopback ?? env.LAB_REGISTRY_LOOPBACK !== '0';
    this.tcpPort = opts.tcpPort ?? Number(env.LAB_TCP_PORT ?? 2375);
    this.storageDriver = opts.storageDriver ?? env.LAB_STORAGE_DRIVER ?? 'overlay2';
    this.cgroupDriver = opts.cgroupDriver ?? env.LAB_CGROUP_DRIVER ?? 'cgroupfs';
    this.busybox = opts.busybox ?? env.LAB_BUSYBOX ?? '/bin/busybox';
    this.dockerd = opts.dockerd ?? env.LAB_DOCKERD ?? 'dockerd';
    this.extraDockerdArgs = opts.extraDockerdArgs ?? (env.LAB_DOCKERD_EXTRA_ARGS ?? '').split(/\s+/).filter((s) => s !== '');
    this.logFn = opts.log ?? (env.LAB_VERBOSE === '1' ? (m) => process.stderr.write(`[lab] ${m}\n`) : () => {});

    if (!path.isAbsolute(this.dir) || this.dir === '/' || this.dir.split('/').filter(Boolean).length < 2) {
      throw new LabError(`LAB_DIR must be an absolute path at least two levels deep (got ${this.dir})`);
    }
    if (!/^[a-z][a-z0-9]{0,7}$/.test(this.prefix)) {
      throw new LabError(`LAB_PREFIX must be 1-8 lowercase letters/digits, starting with a letter (got ${this.prefix})`);
    }
    const m = /^(\d{1,3})\.(\d{1,3})$/.exec(this.net);
    if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new LabError(`LAB_NET must look like 10.231 (got ${this.net})`);
    if (!Number.isInteger(this.registryPort) || this.registryPort < 1 || this.registryPort > 65535) {
      throw new LabError(`LAB_REGISTRY_PORT must be a port number (got ${this.registryPort})`);
    }
    this.swNs = `${this.prefix}-sw`;
    this.rootIf = `${this.prefix}0`;
    this.gateway = `${this.net}.0.1`;
    this.registry = `${this.gateway}:${this.registryPort}`;
  }

  // ------------------------------------------------------------ naming ---

  get stateFile(): string {
    return path.join(this.dir, 'lab.json');
  }
  private get lockFile(): string {
    return path.join(this.dir, 'lab.lock');
  }
  private get marker(): string {
    return path.join(this.dir, '.flotilla-lab');
  }
  private get regDir(): string {
    return path.join(this.dir, 'registry');
  }
  get images(): { busybox1: string; busybox2: string } {
    return { busybox1: `${this.registry}/busybox:1`, busybox2: `${this.registry}/busybox:2` };
  }
  nodeDir(name: string): string {
    return path.join(this.dir, name);
  }
  netnsOf(name: string): string {
    return `${this.prefix}-${name}`;
  }
  hostnameOf(name: string): string {
    return `${this.prefix}-${name}`;
  }
  ipOf(index: number): string {
    return `${this.net}.0.${10 + index}`;
  }
  socketOf(name: string): string {
    return path.join(this.nodeDir(name), 'docker.sock');
  }
  private api(name: string): HttpTarget {
    return { socketPath: this.socketOf(name) };
  }
  private pidfileOf(name: string): string {
    return path.join(this.nodeDir(name), 'docker.pid');
  }
  private log(msg: string): void {
    this.logFn(msg);
  }
  private warn(msg: string): void {
    this.logFn(`WARNING: ${msg}`);
  }

  // ------------------------------------------------------------ public API ---

  /** Brings up (or repairs) network, registry, node1..nodeN, images, optional swarm; writes lab.json. */
  async up(n: number, opts: UpOptions = {}): Promise<LabState> {
    if (!Number.isInteger(n) || n < 1 || n > 50) throw new LabError(`up: N must be 1..50 (got ${n})`);
    const managers = opts.managers ?? 1;
    if (opts.swarm && (!Number.isInteger(managers) || managers < 1 || managers > n)) {
      throw new LabError(`up: managers must be 1..${n} (got ${managers})`);
    }
    await this.preflight();
    await fsp.mkdir(this.dir, { recursive: true });
    await fsp.writeFile(this.marker, 'flotilla test lab: this directory is deleted by `node test/lab/cli.ts down`\n');
    this.log(`up: ${n} node(s), dir=${this.dir}, net=${this.net}.0.0/24, prefix=${this.prefix}`);

    let t = Date.now();
    await this.netBase();
    this.log(`network ready (${secs(t)})`);
    t = Date.now();
    await this.registryUp();
    this.log(`registry ready on http://${this.registry} (${secs(t)})`);
    // pipeline: the image tars are built while the engines start; node1 imports
    // and pushes both tags as soon as it answers (overlapping the other engines'
    // startup); every node pulls busybox:1 as soon as it answers and :1 is pushed.
    t = Date.now();
    const names = Array.from({ length: n }, (_, i) => `node${i + 1}`);
    const built = this.buildImages();
    const ready = names.map((name, i) => this.ensureNode(name, i + 1));
    const readyAll = Promise.allSettled(ready).then(() => this.log(`${n} dockerd(s) up (${secs(t)})`));
    const pushed = ['1', '2'].map((v) => Promise.all([ready[0], built]).then(() => this.pushImage(names[0], v)));
    const pulled = ready.map((p, i) => Promise.all([p, pushed[0]]).then(() => this.ensureLocalImage(names[i])));
    await settleAll([built, ...ready, ...pushed, ...pulled, readyAll]);
    this.log(`images ready: ${this.images.busybox1} and :2 in the registry, :1 on every node (${secs(t)})`);

    if (opts.swarm) {
      t = Date.now();
      await this.swarmUp(names, managers);
      this.log(`swarm ready: ${n} node(s), ${managers} manager(s) (${secs(t)})`);
    }
    return this.writeState();
  }

  /** Starts one more engine as a separate host on the lab network (lab must be up). */
  async addNode(name: string, opts: AddNodeOptions = {}): Promise<LabNode> {
    this.checkName(name);
    if (/^node\d+$/.test(name)) throw new LabError(`addNode: names node<N> are reserved for up() (got ${name})`);
    await this.requireUp();
    const t = Date.now();
    await this.ensureNode(name);
    await this.ensureLocalImage(name);
    if (opts.swarm) await this.swarmJoin(name, opts.swarm);
    const st = await this.writeState();
    const node = st.nodes.find((x) => x.name === name);
    if (!node) throw new LabError(`addNode ${name}: not in the state after start`);
    this.log(`node ${name} added at ${node.ip} (${secs(t)})`);
    return node;
  }

  /** Stops one node and deletes everything of it (processes, cgroups, netns, links, data); verifies. */
  async removeNode(name: string): Promise<void> {
    this.checkName(name);
    const t = Date.now();
    const rec = await this.readRecord(name);
    if (rec?.swarmRole) await this.swarmLeave(name, rec).catch((e: Error) => this.warn(`${name}: leaving the swarm: ${e.message}`));
    const mnts = await this.stopNode(name, { full: true });
    const index = rec?.index ?? (await this.readIndex(name));
    if (index) await run('ip', ['-n', this.swNs, 'link', 'del', `p${index}`], { allowFail: true });
    if (fs.existsSync(`/run/netns/${this.netnsOf(name)}`)) {
      await this.killNetnsPids(this.netnsOf(name));
      await run('ip', ['netns', 'del', this.netnsOf(name)], { allowFail: true });
    }
    await this.rmCgroups((n) => n === this.netnsOf(name));
    const d = this.nodeDir(name);
    if (await exists(d)) {
      this.refuseIfMounted(d);
      await fsp.rm(d, { recursive: true, force: true });
    }
    if (await exists(this.dir)) await this.writeState();
    const left = this.leftovers({ nodes: [name], mnts, dirs: [d] });
    if (left.length) throw new LabError(`removeNode ${name}: leftovers:\n  ${left.join('\n  ')}`);
    this.log(`node ${name} removed (${secs(t)})`);
  }

  /** SIGTERM the node's dockerd and wait for it to exit (containers are SIGKILLed after graceMs). */
  async stopEngine(name: string, opts: StopOptions = {}): Promise<void> {
    await this.requireNode(name);
    await this.stopNode(name, { full: false, ...opts });
    this.log(`engine ${name} stopped`);
  }

  /** SIGKILL the node's dockerd (its containerd and containers stay, as after a daemon crash). */
  async killEngine(name: string): Promise<void> {
    await this.requireNode(name);
    const pid = this.dockerdPid(name);
    if (!pid) throw new LabError(`killEngine ${name}: dockerd is not running`);
    signal(pid, 'SIGKILL');
    await waitFor(`dockerd of ${name} (pid ${pid}) to die`, () => !pidAlive(pid), { timeoutMs: 10_000, intervalMs: 20 });
    this.log(`engine ${name} killed (pid ${pid})`);
  }

  /** (Re)starts the node's dockerd with the same data: engine ID, images, swarm state survive. */
  async startEngine(name: string): Promise<LabNode> {
    await this.requireNode(name);
    const before = await this.readRecord(name);
    await this.ensureNode(name);
    const after = await this.readRecord(name);
    if (before && after && before.engineId !== after.engineId) {
      throw new LabError(`startEngine ${name}: engine ID changed from ${before.engineId} to ${after.engineId}`);
    }
    const st = await this.writeState();
    const node = st.nodes.find((x) => x.name === name);
    if (!node) throw new LabError(`startEngine ${name}: not in the state`);
    return node;
  }

  /** Cuts the node off the lab network (its bridge-side veth down). The unix socket still works. */
  async linkDown(name: string): Promise<void> {
    const index = await this.requireNode(name);
    await run('ip', ['-n', this.swNs, 'link', 'set', `p${index}`, 'down']);
    this.log(`link of ${name} down`);
  }

  /** Reconnects the node; when its engine runs, waits until its TCP endpoint answers again. */
  async linkUp(name: string): Promise<void> {
    const index = await this.requireNode(name);
    await run('ip', ['-n', this.swNs, 'link', 'set', `p${index}`, 'up']);
    if (this.dockerdPid(name)) {
      const target = { host: this.ipOf(index), port: this.tcpPort };
      await waitFor(`tcp://${target.host}:${target.port} after linkUp`, () => ping(target, 500), { timeoutMs: 15_000 });
    }
    this.log(`link of ${name} up`);
  }

  /** Stops and deletes everything of this lab (own prefix only), then verifies; throws on leftovers. */
  async down(): Promise<void> {
    if (process.getuid?.() !== 0) throw new LabError('down: must run as root');
    const t = Date.now();
    const names = await this.discoverNodes();
    this.log(`down: nodes [${names.join(' ')}] in ${this.dir}`);
    // 1-4: dockerds (TERM, 2 s grace, then KILL the node cgroups), leftovers, cgroups
    const mntLists = await Promise.all(names.map((n) => this.stopNode(n, { full: true }).catch((e: Error) => {
      this.warn(`${n}: ${e.message}`);
      return [] as string[];
    })));
    const mnts = mntLists.flat();
    this.log(`dockerds stopped (${secs(t)})`);
    // 5: registries, and anything else of ours found by command line
    await this.stopRegistries();
    const strays = this.ourProcesses();
    if (strays.length) {
      this.warn(`killing stray processes: ${strays.map((p) => `${p} ${cmdline(p).join(' ').slice(0, 80)}`).join('; ')}`);
      strays.forEach((p) => signal(p, 'SIGKILL'));
      await waitPidsGone(strays, 5000);
    }
    await this.rmCgroups(() => true);
    // 6: network. The root-side link first: netns deletion is asynchronous (trap 6)
    await run('ip', ['link', 'del', this.rootIf], { allowFail: true });
    for (const ns of await this.ourNetns()) {
      await this.killNetnsPids(ns);
      const r = await run('ip', ['netns', 'del', ns], { allowFail: true });
      if (r.code !== 0) this.warn(`could not delete netns ${ns}: ${r.stderr.trim()}`);
    }
    // 7: data, only with the marker and nothing mounted below
    if (await exists(this.dir)) {
      this.refuseIfMounted(this.dir);
      if (await exists(this.marker)) await fsp.rm(this.dir, { recursive: true, force: true });
      else this.warn(`${this.dir} has no ${path.basename(this.marker)} marker; not deleting it`);
    }
    // 8: verify
    const left = this.leftovers({ nodes: names, mnts, dirs: [this.dir], all: true });
    for (const ns of await this.ourNetns()) left.push(`netns ${ns}`);
    if ((await run('ip', ['link', 'show', this.rootIf], { allowFail: true })).code === 0) left.push(`link ${this.rootIf}`);
    if (left.length) throw new LabError(`down finished with leftovers:\n  ${left.join('\n  ')}`);
    this.log(`DOWN and clean (${secs(t)})`);
  }

  /** Parsed lab.json. */
  async state(): Promise<LabState> {
    try {
      return JSON.parse(await fsp.readFile(this.stateFile, 'utf8')) as LabState;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new LabError(`lab is not up (${this.stateFile} missing): run node test/lab/cli.ts up 3`);
      }
      throw e;
    }
  }

  /** One line per node for `cli.ts status`. */
  async status(): Promise<string> {
    const names = await this.discoverNodes();
    if (!names.length) return `(no lab nodes in ${this.dir})`;
    const rows = [['NODE', 'PID', 'ADDR', 'UNIX', 'TCP', 'ENGINE-ID', 'NAME', 'SWARM']];
    for (const name of names) {
      const index = await this.readIndex(name);
      const ip = index ? this.ipOf(index) : '?';
      const pid = this.dockerdPid(name);
      const unixOk = await ping(this.api(name), 1000);
      const tcpOk = index ? await ping({ host: ip, port: this.tcpPort }, 1000) : false;
      let id = '-';
      let host = '-';
      let sw = '-';
      if (unixOk) {
        const info = await dockerApi<DockerInfo>(this.api(name), 'GET', '/info', { timeoutMs: 5000 }).catch(() => undefined);
        if (info) {
          id = info.ID;
          host = info.Name;
          sw = info.Swarm.LocalNodeState + (info.Swarm.ControlAvailable ? '/manager' : '');
        }
      }
      rows.push([name, pid ? String(pid) : '-', ip, unixOk ? 'ok' : 'DOWN', tcpOk ? 'ok' : 'DOWN', id, host, sw]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const lines = rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd());
    const reg = await this.registryStatus();
    return [...lines, reg].join('\n');
  }

  // ------------------------------------------------------------ preflight ---

  private async preflight(): Promise<void> {
    if (process.getuid?.() !== 0) throw new LabError('the lab must run as root');
    const need = ['ip', 'nsenter', 'unshare', 'hostname', 'umount', 'awk', 'tar', this.dockerd, 'containerd', 'runc', 'docker-registry'];
    const missing: string[] = [];
    for (const c of need) if (!(await which(c))) missing.push(c);
    if (missing.length) {
      throw new LabError(`missing commands: ${missing.join(', ')} (run: sudo bash scripts/install-test-deps.sh)`);
    }
    if (!fs.existsSync(this.busybox)) throw new LabError(`missing ${this.busybox} (apt-get install busybox-static)`);
    if (!isStaticElf(this.busybox)) throw new LabError(`${this.busybox} is dynamically linked; install busybox-static`);
    // refuse an address plan that collides with something already routed here
    const r = await run('ip', ['-4', 'route', 'show', 'to', 'match', this.gateway]);
    const clash = r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('default') && !new RegExp(`\\bdev ${this.rootIf}\\b`).test(l));
    if (clash.length) throw new LabError(`${this.net}.0.0/24 collides with an existing route: ${clash.join('; ')} (set LAB_NET)`);
  }

  private checkName(name: string): void {
    if (!NODE_NAME.test(name) || RESERVED.has(name)) {
      throw new LabError(`bad node name '${name}': use 1-20 of [a-z0-9-], not ${[...RESERVED].join('/')}`);
    }
  }

  private async requireUp(): Promise<void> {
    if (!fs.existsSync(`/run/netns/${this.swNs}`) || !(await exists(this.marker))) {
      throw new LabError('lab is not up: run node test/lab/cli.ts up 3');
    }
    if (!(await this.registryAnswers(this.registry))) await this.registryUp();
    await this.buildImages();
  }

  /** Returns the node's index; throws when the node does not exist. */
  private async requireNode(name: string): Promise<number> {
    this.checkName(name);
    const index = await this.readIndex(name);
    if (!index) throw new LabError(`no lab node '${name}' in ${this.dir}`);
    return index;
  }

  // ------------------------------------------------------------ network ---

  private async netBase(): Promise<void> {
    // The bridge lives in its own netns (trap 1): bridged frames between nodes
    // then see that netns' empty netfilter, not a host dockerd's FORWARD DROP.
    if (!fs.existsSync(`/run/netns/${this.swNs}`)) {
      await run('ip', ['netns', 'add', this.swNs]);
    }
    await run('ip', ['-n', this.swNs, 'link', 'set', 'lo', 'up']);
    if ((await run('ip', ['-n', this.swNs, 'link', 'show', 'br0'], { allowFail: true })).code !== 0) {
      await run('ip', ['-n', this.swNs, 'link', 'add', 'br0', 'type', 'bridge']);
    }
    await run('ip', ['-n', this.swNs, 'link', 'set', 'br0', 'up']);
    if ((await run('ip', ['link', 'show', this.rootIf], { allowFail: true })).code !== 0) {
      await run('ip', ['-n', this.swNs, 'link', 'del', 'up0'], { allowFail: true });
      await run('ip', ['link', 'add', this.rootIf, 'type', 'veth', 'peer', 'name', 'up0', 'netns', this.swNs]);
    }
    await run('ip', ['-n', this.swNs, 'link', 'set', 'up0', 'master', 'br0', 'up']);
    await run('ip', ['addr', 'replace', `${this.gateway}/24`, 'dev', this.rootIf]);
    await run('ip', ['link', 'set', this.rootIf, 'up']);
  }

  private async netNode(name: string, index: number): Promise<void> {
    const ns = this.netnsOf(name);
    const port = `p${index}`;
    if (!fs.existsSync(`/run/netns/${ns}`)) await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    if ((await run('ip', ['-n', ns, 'link', 'show', 'eth0'], { allowFail: true })).code !== 0) {
      await run('ip', ['-n', this.swNs, 'link', 'del', port], { allowFail: true });
      await run('ip', ['-n', this.swNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    }
    await run('ip', ['-n', this.swNs, 'link', 'set', port, 'master', 'br0', 'up']);
    await run('ip', ['-n', ns, 'addr', 'replace', `${this.ipOf(index)}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    // deliberately NO default route: nothing started in the lab can leave the machine
  }

  private async ourNetns(): Promise<string[]> {
    const r = await run('ip', ['netns', 'list'], { allowFail: true });
    return r.stdout
      .split('\n')
      .map((l) => l.split(/\s+/)[0])
      .filter((ns): ns is string => !!ns && ns.startsWith(`${this.prefix}-`));
  }

  private async killNetnsPids(ns: string): Promise<void> {
    let id: string | undefined;
    try {
      id = `net:[${fs.statSync(`/run/netns/${ns}`).ino}]`;
    } catch {
      return;
    }
    const pids = pidsInNamespace('net', id);
    if (!pids.length) return;
    this.warn(`killing processes left in netns ${ns}: ${pids.join(' ')}`);
    pids.forEach((p) => signal(p, 'SIGKILL'));
    await waitPidsGone(pids, 5000);
  }

  // ------------------------------------------------------------ registry ---

  private async registryUp(): Promise<void> {
    const R = this.regDir;
    await fsp.mkdir(path.join(R, 'data'), { recursive: true });
    const want: Array<['lab' | 'lo', string]> = [['lab', this.gateway]];
    if (this.registryLoopback) want.push(['lo', '127.0.0.1']);
    const started: string[] = [];
    for (const [kind, addr] of want) {
      const cfg = path.join(R, `config-${kind}.yml`);
      const pidfile = path.join(R, `registry-${kind}.pid`);
      if (livePidFromFile(pidfile, cfg)) continue;
      if (kind === 'lo' && (await portBusy('127.0.0.1', this.registryPort))) {
        this.warn(`127.0.0.1:${this.registryPort} busy; skipping the loopback registry (use http://${this.registry})`);
        continue;
      }
      // Both processes share the storage and http.secret (it signs upload state)
      // and have no blob-descriptor cache, so they always agree (trap 12).
      await fsp.writeFile(
        cfg,
        [
          'version: 0.1',
          'log:',
          '  level: info',
          `  fields: {service: ${this.prefix}-registry-${kind}}`,
          'storage:',
          `  filesystem: {rootdirectory: ${path.join(R, 'data')}}`,
          '  delete: {enabled: true}',
          'http:',
          `  addr: ${addr}:${this.registryPort}`,
          `  secret: ${this.prefix}-lab-registry-shared-secret`,
          '  headers:',
          '    X-Content-Type-Options: [nosniff]',
          '',
        ].join('\n'),
      );
      const pid = spawnDetached('docker-registry', ['serve', cfg], path.join(R, `registry-${kind}.log`));
      await fsp.writeFile(pidfile, `${pid}\n`);
      started.push(`${addr}:${this.registryPort}`);
    }
    for (const hp of started) {
      const kind = hp.startsWith('127.') ? 'lo' : 'lab';
      const pidfile = path.join(R, `registry-${kind}.pid`);
      await waitFor(`registry on http://${hp}/v2/`, async () => {
        if (await this.registryAnswers(hp)) return true;
        if (!pidAlive(readPidfile(pidfile))) {
          throw new FatalWait(new LabError(`registry on ${hp} exited:\n${await tail(path.join(R, `registry-${kind}.log`), 5)}`));
        }
        return false;
      }, { timeoutMs: 15_000 });
    }
  }

  private async registryAnswers(hostPort: string): Promise<boolean> {
    const i = hostPort.lastIndexOf(':');
    try {
      const res = await request({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) }, 'GET', '/v2/', { timeoutMs: 1000 });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  private loopbackRegistry(): string | null {
    const R = this.regDir;
    return livePidFromFile(path.join(R, 'registry-lo.pid'), path.join(R, 'config-lo.yml')) ? `127.0.0.1:${this.registryPort}` : null;
  }

  private async stopRegistries(): Promise<void> {
    const pids: number[] = [];
    for (const kind of ['lab', 'lo']) {
      const p = livePidFromFile(path.join(this.regDir, `registry-${kind}.pid`), path.join(this.regDir, `config-${kind}.yml`));
      if (p) pids.push(p);
    }
    pids.forEach((p) => signal(p, 'SIGTERM'));
    if (!(await waitPidsGone(pids, 5000))) {
      pids.forEach((p) => signal(p, 'SIGKILL'));
      await waitPidsGone(pids, 5000);
    }
  }

  private async registryStatus(): Promise<string> {
    if (!(await this.registryAnswers(this.registry))) return `registry: http://${this.registry} DOWN`;
    const d1 = await registryDigest(this.registry, 'busybox', '1');
    const d2 = await registryDigest(this.registry, 'busybox', '2');
    const lo = this.loopbackRegistry();
    return `registry: http://${this.registry}${lo ? ` (+ http://${lo})` : ''}  busybox:1=${d1 ?? 'missing'}  busybox:2=${d2 ?? 'missing'}`;
  }

  // ------------------------------------------------------------ images ---

  /** $LAB_DIR/image/busybox{1,2}.tar, deterministic (same layer digest on every run). */
  private async buildImages(): Promise<void> {
    const I = path.join(this.dir, 'image');
    if ((await exists(path.join(I, 'busybox1.tar'))) && (await exists(path.join(I, 'busybox2.tar')))) return;
    const tmp = `${I}.tmp-${process.pid}-${Date.now()}`;
    const root = path.join(tmp, 'rootfs');
    for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'www']) {
      await fsp.mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
    }
    await fsp.copyFile(this.busybox, path.join(root, 'bin/busybox'));
    await fsp.chmod(path.join(root, 'bin/busybox'), 0o755);
    const list = (await run(this.busybox, ['--list'])).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
    for (const a of list) await fsp.symlink('busybox', path.join(root, 'bin', a)).catch(() => {});
    const files: Record<string, string> = {
      'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
      'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
    };
    for (const [f, c] of Object.entries(files)) {
      await fsp.writeFile(path.join(root, f), c);
      await fsp.chmod(path.join(root, f), 0o644);
    }
    for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'root', 'www']) await fsp.chmod(path.join(root, d), 0o755);
    await fsp.chmod(path.join(root, 'tmp'), 0o1777);
    await fsp.chmod(root, 0o755);
    for (const v of [1, 2]) {
      for (const f of ['etc/lab-release', 'www/index.html']) {
        await fsp.writeFile(path.join(root, f), `lab busybox v${v}\n`);
        await fsp.chmod(path.join(root, f), 0o644);
      }
      await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', path.join(tmp, `busybox${v}.tar`), '.']);
    }
    await fsp.rm(root, { recursive: true, force: true });
    try {
      await fsp.rename(tmp, I);
    } catch {
      // another process built it first (or a half-built dir from an interrupted run is in the way)
      if (!((await exists(path.join(I, 'busybox1.tar'))) && (await exists(path.join(I, 'busybox2.tar'))))) {
        await fsp.rm(I, { recursive: true, force: true });
        await fsp.rename(tmp, I);
      }
    }
    await fsp.rm(tmp, { recursive: true, force: true });
  }

  private async hasImage(name: string, ref: string): Promise<boolean> {
    const res = await request(this.api(name), 'GET', `/images/${ref}/json`, { timeoutMs: 10_000 });
    return res.status === 200;
  }

  /** Import busybox<v>.tar on `name` and push it to the lab registry as busybox:<v> (skipped when already there). */
  private async pushImage(name: string, v: string): Promise<void> {
    if (await registryDigest(this.registry, 'busybox', v)) return;
    const t = Date.now();
    const ref = `${this.registry}/busybox:${v}`;
    if (!(await this.hasImage(name, ref))) {
      const q = new URLSearchParams({ fromSrc: '-', repo: `${this.registry}/busybox`, tag: v, message: 'lab busybox (busybox-static)' });
      q.append('changes', 'CMD ["/bin/sh"]');
      q.append('changes', 'ENV PATH=/bin');
      await dockerApi(this.api(name), 'POST', `/images/create?${q}`, {
        body: fs.createReadStream(path.join(this.dir, 'image', `busybox${v}.tar`)),
        headers: { 'Content-Type': 'application/x-tar' },
        timeoutMs: 60_000,
      });
      this.log(`${name}: imported ${ref} (${secs(t)})`);
    }
    await dockerApi(this.api(name), 'POST', `/images/${this.registry}/busybox/push?tag=${v}`, { headers: AUTH_HEADER, timeoutMs: 60_000 });
    if (!(await registryDigest(this.registry, 'busybox', v))) throw new LabError(`push of ${ref} from ${name} did not reach the registry`);
    this.log(`${name}: pushed ${ref} (${secs(t)})`);
  }

  /** Makes sure `${registry}/busybox:1` is local on the node (pulled from the lab registry). */
  private async ensureLocalImage(name: string): Promise<void> {
    const ref = this.images.busybox1;
    if (await this.hasImage(name, ref)) return;
    const t = Date.now();
    await dockerApi(this.api(name), 'POST', `/images/create?fromImage=${encodeURIComponent(`${this.registry}/busybox`)}&tag=1`, {
      headers: AUTH_HEADER,
      timeoutMs: 60_000,
    });
    if (!(await this.hasImage(name, ref))) throw new LabError(`pull of ${ref} on ${name} did not leave the image`);
    this.log(`${name}: pulled ${ref} (${secs(t)})`);
  }

  // ------------------------------------------------------------ nodes ---

  private async readIndex(name: string): Promise<number | undefined> {
    try {
      const n = Number.parseInt(await fsp.readFile(path.join(this.nodeDir(name), 'index'), 'utf8'), 10);
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  private async readRecord(name: string): Promise<NodeRecord | undefined> {
    try {
      return JSON.parse(await fsp.readFile(path.join(this.nodeDir(name), 'node.json'), 'utf8')) as NodeRecord;
    } catch {
      return undefined;
    }
  }

  private async writeRecord(rec: NodeRecord): Promise<void> {
    await writeFileAtomic(path.join(this.nodeDir(rec.name), 'node.json'), `${JSON.stringify(rec, null, 2)}\n`);
  }

  /** Node names known on disk ($LAB_DIR/<name>/index) or as netns / cgroups with our prefix. */
  private async discoverNodes(): Promise<string[]> {
    const found = new Map<string, number>();
    try {
      for (const e of await fsp.readdir(this.dir, { withFileTypes: true })) {
        if (!e.isDirectory() || !NODE_NAME.test(e.name) || RESERVED.has(e.name)) continue;
        const idx = await this.readIndex(e.name);
        if (idx || (await exists(path.join(this.dir, e.name, 'docker.pid')))) found.set(e.name, idx ?? 1000);
      }
    } catch {
      /* no dir */
    }
    const pre = `${this.prefix}-`;
    for (const ns of await this.ourNetns()) {
      const n = ns.slice(pre.length);
      if (n !== 'sw' && !found.has(n)) found.set(n, 1000);
    }
    for (const d of this.cgroupRoots()) {
      const n = path.basename(d).slice(pre.length);
      if (!found.has(n)) found.set(n, 1000);
    }
    return [...found.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([n]) => n);
  }

  /** Reserve an index (=> IP) for the node under the lab lock: the node dir + its `index` file. */
  private async allocate(name: string, preferred?: number): Promise<number> {
    const have = await this.readIndex(name);
    if (have) return have;
    return withLock(this.lockFile, async () => {
      const again = await this.readIndex(name);
      if (again) return again;
      const used = new Set<number>();
      for (const e of await fsp.readdir(this.dir, { withFileTypes: true })) {
        if (e.isDirectory()) {
          const i = await this.readIndex(e.name);
          if (i) used.add(i);
        }
      }
      // a bridge port left by a crashed run also blocks its index
      const links = await run('ip', ['-n', this.swNs, '-o', 'link', 'show'], { allowFail: true });
      for (const m of links.stdout.matchAll(/^\d+: p(\d+)@/gm)) used.add(Number(m[1]));
      let index = preferred && !used.has(preferred) ? preferred : 0;
      for (let i = 1; !index && i <= MAX_INDEX; i++) if (!used.has(i)) index = i;
      if (!index) throw new LabError(`no free node address left (max ${MAX_INDEX} nodes)`);
      await fsp.mkdir(this.nodeDir(name), { recursive: true });
      await writeFileAtomic(path.join(this.nodeDir(name), 'index'), `${index}\n`);
      return index;
    });
  }

  /** pid of the node's dockerd (pidfile, alive, not a zombie, command line is ours). */
  dockerdPid(name: string): number | undefined {
    return livePidFromFile(this.pidfileOf(name), `--data-root ${path.join(this.nodeDir(name), 'data')}`);
  }

  /** Make sure the node exists, is wired up and its engine answers; restarts a dead engine. */
  private async ensureNode(name: string, preferred?: number): Promise<void> {
    const index = await this.allocate(name, preferred);
    await this.netNode(name, index);
    const D = this.nodeDir(name);
    await withLock(path.join(D, 'start.lock'), async () => {
      if (!this.dockerdPid(name)) {
        if ((await exists(this.pidfileOf(name))) || (await exists(path.join(D, 'mntns')))) {
          // restart after a crash / kill -9 (trap 7): reap what the dead engine left
          // (containerd, shims, containers) and drop the stale pidfiles
          this.warn(`${name}: dockerd not running; cleaning up its leftovers and restarting it`);
          await this.stopNode(name, { full: false });
          for (const f of ['docker.pid', 'mntns', 'exec/containerd/containerd.pid']) await fsp.rm(path.join(D, f), { force: true });
        }
        await this.startDockerd(name, index);
      }
      await this.waitReady(name);
    }, 120_000);
  }

  private async startDockerd(name: string, index: number): Promise<void> {
    const D = this.nodeDir(name);
    const ip = this.ipOf(index);
    await fsp.mkdir(D, { recursive: true });
    // trap 3: dockerd 20.10's engine ID is the fingerprint of /etc/docker/key.json,
    // shared by every dockerd on the machine; there is no CLI flag, only this key.
    await fsp.writeFile(path.join(D, 'daemon.json'), `${JSON.stringify({ 'deprecated-key-path': path.join(D, 'key.json') }, null, 2)}\n`);
    const args = [
      '--config-file', path.join(D, 'daemon.json'),
      '--data-root', path.join(D, 'data'),
      '--exec-root', path.join(D, 'exec'), // => its own containerd
      '--pidfile', this.pidfileOf(name),
      '-H', `unix://${this.socketOf(name)}`,
      '-H', `tcp://${ip}:${this.tcpPort}`,
      '--tls=false', // trap 5: without it 20.10 waits ~16 s at startup
      '--bip', `${this.net}.${100 + index}.1/24`,
      '--cgroup-parent', this.netnsOf(name),
      '--exec-opt', `native.cgroupdriver=${this.cgroupDriver}`,
      '--storage-driver', this.storageDriver,
      '--swarm-default-advertise-addr', ip,
      '--insecure-registry', this.registry,
      ...this.extraDockerdArgs,
    ];
    // trap 2: nsenter --net, NOT `ip netns exec` (that remounts /sys and hides the cgroups).
    // unshare --mount (private): the engine's mounts die with it; --uts: own hostname.
    // unshare and nsenter exec without forking, so the spawned pid IS dockerd's pid.
    const dockerdPath = (await which(this.dockerd)) ?? this.dockerd;
    const pid = spawnDetached(
      'env',
      [
        `DOCKERD=${dockerdPath}`,
        'unshare', '--mount', '--uts', '--propagation', 'private', '--',
        'nsenter', `--net=/run/netns/${this.netnsOf(name)}`, '--',
        'sh', '-c', LAUNCHER, 'sh', this.hostnameOf(name), ...args,
      ],
      path.join(D, 'dockerd.log'),
    );
    await fsp.writeFile(path.join(D, 'launcher.pid'), `${pid}\n`);
    this.log(`${name}: dockerd starting (pid ${pid}, ${ip})`);
  }

  private async waitReady(name: string): Promise<void> {
    const D = this.nodeDir(name);
    const t = Date.now();
    await waitFor(`${name} to answer on ${this.socketOf(name)}`, async () => {
      if (await ping(this.api(name), 1000)) return true;
      if (!pidAlive(readPidfile(path.join(D, 'launcher.pid'))) && !this.dockerdPid(name)) {
        throw new FatalWait(new LabError(`dockerd for ${name} exited during startup (log ${D}/dockerd.log):\n${await tail(path.join(D, 'dockerd.log'), 15)}`));
      }
      return false;
    }, { timeoutMs: 60_000, intervalMs: 50 });
    const pid = this.dockerdPid(name);
    if (!pid) throw new LabError(`${name} answers but ${this.pidfileOf(name)} is not a live dockerd`);
    // the node's private mount namespace: on down, every process still in it belongs to this node
    const mnt = nsLink(pid, 'mnt');
    if (mnt) await fsp.writeFile(path.join(D, 'mntns'), `${mnt}\n`);
    const info = await dockerApi<DockerInfo>(this.api(name), 'GET', '/info', { timeoutMs: 10_000 });
    const old = await this.readRecord(name);
    const index = (await this.readIndex(name)) ?? 0;
    await this.writeRecord({
      name,
      index,
      ip: this.ipOf(index),
      hostname: info.Name,
      engineId: info.ID,
      swarmRole: old?.swarmRole ?? null,
      swarmNodeId: old?.swarmNodeId ?? null,
    });
    if (Date.now() - t > 100) this.log(`${name}: dockerd ready (${secs(t)})`);
  }

  /**
   * Stops the node's engine. full=false: only the engine (and its containerd,
   * shims, containers); full=true additionally kills anything left in its netns
   * and removes its cgroups. Returns the node's mount namespace ids (for verification).
   */
  private async stopNode(name: string, opts: StopOptions & { full: boolean }): Promise<string[]> {
    const D = this.nodeDir(name);
    const graceMs = opts.graceMs ?? 2000;
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const pid = this.dockerdPid(name);
    const mnts = new Set<string>();
    const recorded = (await fsp.readFile(path.join(D, 'mntns'), 'utf8').catch(() => '')).trim();
    if (recorded) mnts.add(recorded);
    if (pid) {
      const m = nsLink(pid, 'mnt');
      if (m) mnts.add(m);
      signal(pid, 'SIGTERM');
      // dockerd stops containers with their own timeout (10 s; `sh` as PID 1 ignores
      // SIGTERM, trap 8): after a short grace SIGKILL the node's containers.
      if (!(await waitPidsGone([pid], graceMs))) {
        const c = this.cgroupPids(name);
        c.forEach((p) => signal(p, 'SIGKILL'));
        if (!(await waitPidsGone([pid], timeoutMs))) {
          this.warn(`${name}: dockerd ${pid} did not exit after ${timeoutMs / 1000} s, sending KILL`);
          signal(pid, 'SIGKILL');
          await waitPidsGone([pid], 5000);
        }
      }
    }
    // leftovers: containerd / shims in the node's mount namespace, container processes.
    // A recorded mount namespace id counts only while one of its processes still refers
    // to the node dir (ids are reused once a namespace is gone).
    const left = new Set<number>(this.cgroupPids(name));
    for (const m of mnts) for (const p of this.mntnsPids(m, `${D}/`)) left.add(p);
    for (const p of this.ourProcesses(`${D}/`)) left.add(p);
    if (left.size) {
      this.warn(`${name}: killing leftover pids: ${[...left].join(' ')}`);
      left.forEach((p) => signal(p, 'SIGKILL'));
      await waitPidsGone([...left], 10_000);
    }
    if (opts.full) {
      await this.killNetnsPids(this.netnsOf(name));
      await this.rmCgroups((n) => n === this.netnsOf(name));
    }
    return [...mnts];
  }

  // ------------------------------------------------------------ swarm ---

  private async info(name: string): Promise<DockerInfo> {
    return dockerApi<DockerInfo>(this.api(name), 'GET', '/info', { timeoutMs: 10_000 });
  }

  private async swarmUp(names: string[], managers: number): Promise<void> {
    const first = names[0];
    const ip1 = this.ipOf((await this.readIndex(first)) ?? 1);
    let info = await this.info(first);
    if (info.Swarm.LocalNodeState !== 'active') {
      await dockerApi(this.api(first), 'POST', '/swarm/init', {
        json: { ListenAddr: `${ip1}:2377`, AdvertiseAddr: ip1 },
        timeoutMs: 60_000,
      });
      info = await this.info(first);
    }
    await this.setRole(first, 'manager', info.Swarm.NodeID);
    // sequential joins: a manager join changes raft membership
    for (const [i, name] of names.entries()) {
      if (i === 0) continue;
      await this.swarmJoin(name, i < managers ? 'manager' : 'worker', first);
    }
    await waitFor(`${names.length} swarm nodes Ready`, async () => {
      const nodes = await dockerApi<Array<{ Status: { State: string }; Description: { Hostname: string } }>>(this.api(first), 'GET', '/nodes');
      const ready = new Set(nodes.filter((n) => n.Status.State === 'ready').map((n) => n.Description.Hostname));
      return names.every((n) => ready.has(this.hostnameOf(n)));
    }, { timeoutMs: 60_000, intervalMs: 100 });
  }

  /** An alive manager node of the lab (other than `except`). */
  private async findManager(except?: string): Promise<string | undefined> {
    for (const name of await this.discoverNodes()) {
      if (name === except) continue;
      const rec = await this.readRecord(name);
      if (rec?.swarmRole === 'manager' && (await ping(this.api(name), 1000))) return name;
    }
    return undefined;
  }

  private async swarmJoin(name: string, role: 'manager' | 'worker', manager?: string): Promise<void> {
    const mgr = manager ?? (await this.findManager(name));
    if (!mgr) throw new LabError(`cannot join ${name} to the swarm: no manager (run up with --swarm first)`);
    let info = await this.info(name);
    if (info.Swarm.LocalNodeState === 'active') {
      await this.setRole(name, info.Swarm.ControlAvailable ? 'manager' : 'worker', info.Swarm.NodeID);
      return;
    }
    if (info.Swarm.LocalNodeState === 'pending' || info.Swarm.LocalNodeState === 'error') {
      await dockerApi(this.api(name), 'POST', '/swarm/leave?force=true', { timeoutMs: 30_000 });
    }
    const sw = await dockerApi<{ JoinTokens: { Worker: string; Manager: string } }>(this.api(mgr), 'GET', '/swarm');
    const mgrIp = this.ipOf((await this.readIndex(mgr)) ?? 1);
    const ip = this.ipOf((await this.readIndex(name)) ?? 0);
    await dockerApi(this.api(name), 'POST', '/swarm/join', {
      json: {
        ListenAddr: `${ip}:2377`,
        AdvertiseAddr: ip,
        RemoteAddrs: [`${mgrIp}:2377`],
        JoinToken: role === 'manager' ? sw.JoinTokens.Manager : sw.JoinTokens.Worker,
      },
      timeoutMs: 60_000,
    });
    info = await this.info(name);
    await this.setRole(name, role, info.Swarm.NodeID);
  }

  private async setRole(name: string, role: 'manager' | 'worker' | null, nodeId: string | null): Promise<void> {
    const rec = await this.readRecord(name);
    if (!rec) throw new LabError(`${name}: no node.json`);
    await this.writeRecord({ ...rec, swarmRole: role, swarmNodeId: nodeId });
  }

  /** Takes a node out of the swarm before it is deleted (demote, leave, node rm on a manager). */
  private async swarmLeave(name: string, rec: NodeRecord): Promise<void> {
    const mgr = await this.findManager(name);
    if (mgr && rec.swarmNodeId && rec.swarmRole === 'manager') {
      const n = await dockerApi<{ Version: { Index: number }; Spec: Record<string, unknown> }>(this.api(mgr), 'GET', `/nodes/${rec.swarmNodeId}`);
      await dockerApi(this.api(mgr), 'POST', `/nodes/${rec.swarmNodeId}/update?version=${n.Version.Index}`, { json: { ...n.Spec, Role: 'worker' } });
    }
    if (await ping(this.api(name), 1000)) {
      await dockerApi(this.api(name), 'POST', '/swarm/leave?force=true', { timeoutMs: 30_000 }).catch(() => {});
    }
    if (mgr && rec.swarmNodeId) {
      const id = rec.swarmNodeId;
      await waitFor(`${name} to be removable from the swarm`, async () => {
        const res = await request(this.api(mgr), 'DELETE', `/nodes/${id}?force=true`, { timeoutMs: 10_000 });
        return res.status < 300 || res.status === 404;
      }, { timeoutMs: 20_000, intervalMs: 200 });
    }
    await this.setRole(name, null, null);
  }

  // ------------------------------------------------------------ cgroups / processes ---

  /** Top-level cgroup dirs named `${prefix}-*` in every hierarchy (the nodes' --cgroup-parent). */
  private cgroupRoots(match: (node: string) => boolean = () => true): string[] {
    const out: string[] = [];
    const pre = `${this.prefix}-`;
    const bases = ['/sys/fs/cgroup'];
    try {
      for (const e of fs.readdirSync('/sys/fs/cgroup', { withFileTypes: true })) {
        if (e.isDirectory() && !e.name.startsWith(pre)) bases.push(path.join('/sys/fs/cgroup', e.name));
      }
    } catch {
      return out;
    }
    for (const b of bases) {
      try {
        for (const e of fs.readdirSync(b, { withFileTypes: true })) {
          if (e.isDirectory() && e.name.startsWith(pre) && match(e.name)) out.push(path.join(b, e.name));
        }
      } catch {
        /* not a hierarchy */
      }
    }
    return out;
  }

  private cgroupTree(root: string): string[] {
    const out = [root];
    try {
      for (const e of fs.readdirSync(root, { withFileTypes: true })) {
        if (e.isDirectory()) out.push(...this.cgroupTree(path.join(root, e.name)));
      }
    } catch {
      /* gone */
    }
    return out;
  }

  private cgroupPids(name: string): number[] {
    const pids = new Set<number>();
    for (const root of this.cgroupRoots((n) => n === this.netnsOf(name))) {
      for (const d of this.cgroupTree(root)) {
        try {
          for (const l of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) {
            const p = Number.parseInt(l, 10);
            if (p > 0 && p !== process.pid) pids.add(p);
          }
        } catch {
          /* gone */
        }
      }
    }
    return [...pids];
  }

  private async rmCgroups(match: (node: string) => boolean): Promise<void> {
    const pre = `${this.prefix}-`;
    const m = (n: string) => match(n) && n !== `${pre}sw`;
    await waitFor('node cgroups to be removable', () => {
      const dirs = this.cgroupRoots(m).flatMap((r) => this.cgroupTree(r));
      dirs.sort((a, b) => b.split('/').length - a.split('/').length);
      for (const d of dirs) {
        try {
          fs.rmdirSync(d);
        } catch {
          /* busy (zombies being reaped) or gone */
        }
      }
      return this.cgroupRoots(m).length === 0;
    }, { timeoutMs: 10_000, intervalMs: 100 }).catch((e: Error) => this.warn(e.message));
  }

  /** Processes of this lab found by command line: one of our executables with an argument under `under` (default LAB_DIR/). */
  private ourProcesses(under = `${this.dir}/`): number[] {
    const out: number[] = [];
    for (const p of allPids()) {
      if (p === process.pid) continue;
      const argv = cmdline(p);
      if (!argv.length) continue;
      const exe = path.basename(argv[0]);
      if (!OUR_EXES.includes(exe)) continue;
      if (argv.some((a) => a.startsWith(under) || a.includes(`=${under}`) || a.includes(`://${under}`))) out.push(p);
    }
    return out;
  }

  /**
   * Processes in a node's (recorded) mount namespace. Namespace ids are reused once
   * a namespace is gone (e.g. by another lab's next container), so the namespace
   * counts as ours only while one of its processes refers to `marker` (a path under
   * the node dir: its containerd, shims).
   */
  private mntnsPids(id: string, marker: string): number[] {
    const pids = pidsInNamespace('mnt', id);
    return pids.some((p) => cmdline(p).some((a) => a.includes(marker))) ? pids : [];
  }

  private refuseIfMounted(dir: string): void {
    const mi = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    const hits = mi
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(`${dir}/`)));
    if (hits.length) throw new LabError(`mounts still present under ${dir} (${hits.join(', ')}); not deleting it`);
  }

  private leftovers(o: { nodes: string[]; mnts: string[]; dirs: string[]; all?: boolean }): string[] {
    const left: string[] = [];
    for (const d of o.dirs) if (fs.existsSync(d)) left.push(`directory ${d}`);
    const roots = this.cgroupRoots((n) => o.all === true || o.nodes.some((x) => this.netnsOf(x) === n));
    for (const r of roots) left.push(`cgroup ${r}`);
    if (!o.all) for (const n of o.nodes) if (fs.existsSync(`/run/netns/${this.netnsOf(n)}`)) left.push(`netns ${this.netnsOf(n)}`);
    const procs = new Set<number>(o.all ? this.ourProcesses() : o.nodes.flatMap((n) => this.ourProcesses(`${this.nodeDir(n)}/`)));
    for (const m of o.mnts) for (const p of this.mntnsPids(m, `${this.dir}/`)) if (pidAlive(p)) procs.add(p);
    for (const p of procs) if (pidAlive(p)) left.push(`process ${p}: ${cmdline(p).join(' ').slice(0, 120)}`);
    return left;
  }

  // ------------------------------------------------------------ state file ---

  /** Regenerates lab.json from the node records, atomically, under the lab lock. */
  async writeState(): Promise<LabState> {
    return withLock(this.lockFile, async () => {
      const recs: NodeRecord[] = [];
      for (const e of await fsp.readdir(this.dir, { withFileTypes: true })) {
        if (!e.isDirectory() || RESERVED.has(e.name)) continue;
        const r = await this.readRecord(e.name);
        if (r && r.name === e.name) recs.push(r);
      }
      recs.sort((a, b) => a.index - b.index);
      const managers = recs.filter((r) => r.swarmRole === 'manager').map((r) => r.name);
      const workers = recs.filter((r) => r.swarmRole === 'worker').map((r) => r.name);
      const st: LabState = {
        dir: this.dir,
        prefix: this.prefix,
        net: this.net,
        registry: { lab: this.registry, loopback: this.loopbackRegistry() },
        images: this.images,
        swarm: managers.length || workers.length ? { managers, workers } : null,
        nodes: recs.map((r) => ({
          name: r.name,
          hostname: r.hostname,
          ip: r.ip,
          netns: this.netnsOf(r.name),
          unix: `unix://${this.socketOf(r.name)}`,
          tcp: `tcp://${r.ip}:${this.tcpPort}`,
          engineId: r.engineId,
          pidfile: this.pidfileOf(r.name),
        })),
      };
      await writeFileAtomic(this.stateFile, `${JSON.stringify(st, null, 2)}\n`);
      return st;
    });
  }
}

// ------------------------------------------------------------ helpers ---

function secs(t0: number): string {
  return `${((Date.now() - t0) / 1000).toFixed(2)}s`;
}

/** Awaits all; throws the first failure only after every promise settled (no unhandled rejections). */
async function settleAll(ps: Array<Promise<unknown>>): Promise<void> {
  const rs = await Promise.allSettled(ps);
  const bad = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
}

async function tail(file: string, n: number): Promise<string> {
  try {
    return (await fsp.readFile(file, 'utf8')).trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

async function which(cmd: string): Promise<string | undefined> {
  if (cmd.includes('/')) return fs.existsSync(cmd) ? cmd : undefined;
  for (const d of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(d, cmd);
    try {
      await fsp.access(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** ELF without a PT_INTERP program header = statically linked. */
function isStaticElf(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const h = Buffer.alloc(64);
    fs.readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return true; // not ELF64: let the import fail later
    const phoff = Number(h.readBigUInt64LE(0x20));
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false;
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

function portBusy(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

