// One node's engine: dockerd started in the node's fresh mount/UTS namespaces and
// its netns, readiness (and the node record it then writes), and stopping it with
// everything it left (containerd, shims, containers).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { cgroupPids, rmCgroups } from './cgroups.ts';
import type { LabConfig } from './config.ts';
import { dockerApi, ping } from './http.ts';
import { mntnsPids, ourProcesses } from './leftovers.ts';
import { killNetnsPids, netNode } from './network.ts';
import { allocateIndex, readIndex, readRecord, writeRecord } from './node-records.ts';
import {
  FatalWait,
  LabError,
  exists,
  livePidFromFile,
  logTail,
  nsLink,
  pidAlive,
  readPidfile,
  secs,
  signal,
  spawnDetached,
  waitFor,
  waitPidsGone,
  which,
  withLock,
} from './sys.ts';

export type StopOptions = { graceMs?: number; timeoutMs?: number };

export type DockerInfo = {
  ID: string;
  Name: string;
  Swarm: { LocalNodeState: string; NodeID: string; ControlAvailable: boolean };
};

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

export async function engineInfo(cfg: LabConfig, name: string, timeoutMs = 10_000): Promise<DockerInfo> {
  return dockerApi<DockerInfo>(cfg.api(name), 'GET', '/info', { timeoutMs });
}

/** pid of the node's dockerd (pidfile, alive, not a zombie, command line is ours). */
export function dockerdPid(cfg: LabConfig, name: string): number | undefined {
  return livePidFromFile(cfg.pidfileOf(name), `--data-root ${path.join(cfg.nodeDir(name), 'data')}`);
}

/** Make sure the node exists, is wired up and its engine answers; restarts a dead engine. */
export async function ensureNode(cfg: LabConfig, name: string, preferred?: number): Promise<void> {
  const index = await allocateIndex(cfg, name, preferred);
  await netNode(cfg, name, index);
  const D = cfg.nodeDir(name);
  await withLock(path.join(D, 'start.lock'), async () => {
    if (!dockerdPid(cfg, name)) {
      if ((await exists(cfg.pidfileOf(name))) || (await exists(path.join(D, 'mntns')))) {
        // restart after a crash / kill -9 (trap 7): reap what the dead engine left
        // (containerd, shims, containers) and drop the stale pidfiles
        cfg.warn(`${name}: dockerd not running; cleaning up its leftovers and restarting it`);
        await stopNode(cfg, name, { full: false });
        for (const f of ['docker.pid', 'mntns', 'exec/containerd/containerd.pid']) await fsp.rm(path.join(D, f), { force: true });
      }
      await startDockerd(cfg, name, index);
    }
    await waitReady(cfg, name);
  }, 120_000);
}

function dockerdArgs(cfg: LabConfig, name: string, index: number): string[] {
  const D = cfg.nodeDir(name);
  const ip = cfg.ipOf(index);
  return [
    '--config-file', path.join(D, 'daemon.json'),
    '--data-root', path.join(D, 'data'),
    '--exec-root', path.join(D, 'exec'), // => its own containerd
    '--pidfile', cfg.pidfileOf(name),
    '-H', `unix://${cfg.socketOf(name)}`,
    '-H', `tcp://${ip}:${cfg.tcpPort}`,
    '--tls=false', // trap 5: without it 20.10 waits ~16 s at startup
    '--bip', `${cfg.net}.${100 + index}.1/24`,
    '--cgroup-parent', cfg.netnsOf(name),
    '--exec-opt', `native.cgroupdriver=${cfg.cgroupDriver}`,
    '--storage-driver', cfg.storageDriver,
    '--swarm-default-advertise-addr', ip,
    '--insecure-registry', cfg.registry,
    ...cfg.extraDockerdArgs,
  ];
}

async function startDockerd(cfg: LabConfig, name: string, index: number): Promise<void> {
  const D = cfg.nodeDir(name);
  const ip = cfg.ipOf(index);
  await fsp.mkdir(D, { recursive: true });
  // trap 3: dockerd 20.10's engine ID is the fingerprint of /etc/docker/key.json,
  // shared by every dockerd on the machine; there is no CLI flag, only this key.
  await fsp.writeFile(path.join(D, 'daemon.json'), `${JSON.stringify({ 'deprecated-key-path': path.join(D, 'key.json') }, null, 2)}\n`);
  const args = dockerdArgs(cfg, name, index);
  // trap 2: nsenter --net, NOT `ip netns exec` (that remounts /sys and hides the cgroups).
  // unshare --mount (private): the engine's mounts die with it; --uts: own hostname.
  // unshare and nsenter exec without forking, so the spawned pid IS dockerd's pid.
  const dockerdPath = (await which(cfg.dockerd)) ?? cfg.dockerd;
  const pid = spawnDetached(
    'env',
    [
      `DOCKERD=${dockerdPath}`,
      'unshare', '--mount', '--uts', '--propagation', 'private', '--',
      'nsenter', `--net=/run/netns/${cfg.netnsOf(name)}`, '--',
      'sh', '-c', LAUNCHER, 'sh', cfg.hostnameOf(name), ...args,
    ],
    path.join(D, 'dockerd.log'),
  );
  await fsp.writeFile(path.join(D, 'launcher.pid'), `${pid}\n`);
  cfg.log(`${name}: dockerd starting (pid ${pid}, ${ip})`);
}

/** Waits until the engine answers, then records its mount namespace and node.json. */
async function waitReady(cfg: LabConfig, name: string): Promise<void> {
  const D = cfg.nodeDir(name);
  const t = Date.now();
  await waitFor(`${name} to answer on ${cfg.socketOf(name)}`, async () => {
    if (await ping(cfg.api(name), 1000)) return true;
    if (!pidAlive(readPidfile(path.join(D, 'launcher.pid'))) && !dockerdPid(cfg, name)) {
      throw new FatalWait(new LabError(`dockerd for ${name} exited during startup (log ${D}/dockerd.log):\n${await logTail(path.join(D, 'dockerd.log'), 15)}`));
    }
    return false;
  }, { timeoutMs: 60_000, intervalMs: 50 });
  const pid = dockerdPid(cfg, name);
  if (!pid) throw new LabError(`${name} answers but ${cfg.pidfileOf(name)} is not a live dockerd`);
  // the node's private mount namespace: on down, every process still in it belongs to this node
  const mnt = nsLink(pid, 'mnt');
  if (mnt) await fsp.writeFile(path.join(D, 'mntns'), `${mnt}\n`);
  await recordEngine(cfg, name);
  if (Date.now() - t > 100) cfg.log(`${name}: dockerd ready (${secs(t)})`);
}

/** node.json with the engine's ID and hostname; the swarm fields survive a restart. */
async function recordEngine(cfg: LabConfig, name: string): Promise<void> {
  // A Swarm manager that restarts answers /info only once its swarm component is up: seconds on a busy machine.
  const info = await engineInfo(cfg, name, 60_000);
  const old = await readRecord(cfg, name);
  const index = (await readIndex(cfg, name)) ?? 0;
  await writeRecord(cfg, {
    name,
    index,
    ip: cfg.ipOf(index),
    hostname: info.Name,
    engineId: info.ID,
    swarmRole: old?.swarmRole ?? null,
    swarmNodeId: old?.swarmNodeId ?? null,
  });
}

/**
 * Stops the node's engine. full=false: only the engine (and its containerd,
 * shims, containers); full=true additionally kills anything left in its netns
 * and removes its cgroups. Returns the node's mount namespace ids (for verification).
 */
export async function stopNode(cfg: LabConfig, name: string, opts: StopOptions & { full: boolean }): Promise<string[]> {
  const D = cfg.nodeDir(name);
  const graceMs = opts.graceMs ?? 2000;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const pid = dockerdPid(cfg, name);
  const mnts = new Set<string>();
  const recorded = (await fsp.readFile(path.join(D, 'mntns'), 'utf8').catch(() => '')).trim();
  if (recorded) mnts.add(recorded);
  if (pid) {
    const m = nsLink(pid, 'mnt');
    if (m) mnts.add(m);
    await terminateDockerd(cfg, name, pid, graceMs, timeoutMs);
  }
  await killEngineLeftovers(cfg, name, mnts);
  if (opts.full) {
    await killNetnsPids(cfg, cfg.netnsOf(name));
    await rmCgroups(cfg, (n) => n === cfg.netnsOf(name));
  }
  return [...mnts];
}

/** SIGTERM; after graceMs SIGKILL the node's containers; after timeoutMs SIGKILL dockerd. */
async function terminateDockerd(cfg: LabConfig, name: string, pid: number, graceMs: number, timeoutMs: number): Promise<void> {
  signal(pid, 'SIGTERM');
  // dockerd stops containers with their own timeout (10 s; `sh` as PID 1 ignores
  // SIGTERM, trap 8): after a short grace SIGKILL the node's containers.
  if (await waitPidsGone([pid], graceMs)) return;
  const c = cgroupPids(cfg, name);
  c.forEach((p) => signal(p, 'SIGKILL'));
  if (!(await waitPidsGone([pid], timeoutMs))) {
    cfg.warn(`${name}: dockerd ${pid} did not exit after ${timeoutMs / 1000} s, sending KILL`);
    signal(pid, 'SIGKILL');
    await waitPidsGone([pid], 5000);
  }
}

async function killEngineLeftovers(cfg: LabConfig, name: string, mnts: Set<string>): Promise<void> {
  const D = cfg.nodeDir(name);
  // leftovers: containerd / shims in the node's mount namespace, container processes.
  // A recorded mount namespace id counts only while one of its processes still refers
  // to the node dir (ids are reused once a namespace is gone).
  const left = new Set<number>(cgroupPids(cfg, name));
  for (const m of mnts) for (const p of mntnsPids(m, `${D}/`)) left.add(p);
  for (const p of ourProcesses(cfg, `${D}/`)) left.add(p);
  if (left.size) {
    cfg.warn(`${name}: killing leftover pids: ${[...left].join(' ')}`);
    left.forEach((p) => signal(p, 'SIGKILL'));
    await waitPidsGone([...left], 10_000);
  }
}
