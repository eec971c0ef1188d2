// Flotilla's own answers to _ping, version and info: the fleet presented as one
// engine. The API version offered is the lowest any reachable host speaks, so
// the docker CLI negotiates a version every host understands.
import type { HostView } from '../fleet/host-view.ts';
import { VERSION as FLOTILLA_VERSION } from '../version.ts';
import { compareVersions, MIN_CLIENT_API_VERSION } from './request-path.ts';

const FLOOR = '1.41';

export function fleetApiVersion(hosts: HostView[]): string {
  const versions = hosts.map((h) => h.engine.apiVersion).filter((v): v is string => Boolean(v));
  if (versions.length === 0) return FLOOR;
  return versions.reduce((a, b) => (compareVersions(a, b) <= 0 ? a : b));
}

export function versionAnswer(hosts: HostView[]) {
  return {
    Platform: { Name: `Flotilla ${FLOTILLA_VERSION} (${hosts.length} hosts)` },
    Components: hosts.map((h) => ({ Name: `Engine (${h.name})`, Version: h.engine.version ?? 'unknown', Details: { ApiVersion: h.engine.apiVersion ?? '' } })),
    Version: `flotilla-${FLOTILLA_VERSION}`,
    ApiVersion: fleetApiVersion(hosts),
    MinAPIVersion: MIN_CLIENT_API_VERSION,
    GitCommit: 'flotilla',
    GoVersion: 'n/a',
    Os: 'linux',
    Arch: 'amd64',
    KernelVersion: 'fleet',
    BuildTime: new Date(0).toISOString(),
  };
}

export function infoAnswer(hosts: HostView[]) {
  const sum = (f: (h: HostView) => number) => hosts.reduce((n, h) => n + f(h), 0);
  const running = sum((h) => h.containers.running);
  const total = sum((h) => h.containers.total);
  return {
    ID: 'flotilla', Name: 'flotilla', ServerVersion: `flotilla-${FLOTILLA_VERSION}`,
    Containers: total, ContainersRunning: running, ContainersPaused: 0, ContainersStopped: total - running,
    Images: 0, Driver: 'fleet', DriverStatus: [], Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
    MemoryLimit: true, SwapLimit: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
    IPv4Forwarding: true, Debug: false, NFd: 0, NGoroutines: 0, SystemTime: new Date().toISOString(), LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs', CgroupVersion: '1', NEventsListener: 0, KernelVersion: 'fleet', OperatingSystem: `Flotilla fleet (${hosts.length} hosts)`,
    OSVersion: '', OSType: 'linux', Architecture: 'x86_64', IndexServerAddress: 'https://index.docker.io/v1/',
    NCPU: sum((h) => h.engine.cpus ?? 0), MemTotal: sum((h) => h.engine.memoryBytes ?? 0),
    DockerRootDir: '/', Labels: hosts.map((h) => `flotilla.host=${h.name}`), ExperimentalBuild: false,
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: [] },
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    Runtimes: { runc: { path: 'runc' } }, DefaultRuntime: 'runc', LiveRestoreEnabled: false, Isolation: '', InitBinary: 'docker-init',
    SecurityOptions: [], Warnings: hosts.length === 0 ? ['Flotilla: no reachable hosts'] : [],
  };
}
