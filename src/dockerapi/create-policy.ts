// What only an admin may create through the fleet endpoint: a container that
// owns its host (privileged, the host's root or Docker socket mounted, the
// host's PID or network namespace). Without this, roles would be cosmetic:
// any operator could take over every machine in the fleet.
interface MountLike {
  Source?: string;
  Type?: string;
}

interface CreateBody {
  HostConfig?: {
    Privileged?: boolean;
    Binds?: string[] | null;
    Mounts?: MountLike[] | null;
    PidMode?: string;
    NetworkMode?: string;
    IpcMode?: string;
    UsernsMode?: string;
    CapAdd?: string[] | null;
    Devices?: unknown[] | null;
  };
}

const DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];

function dangerousSource(source: string): string | undefined {
  const clean = source.replace(/\/+$/, '') || '/';
  if (clean === '/') return 'mounts the host\'s root filesystem';
  if (DOCKER_SOCKETS.includes(clean) || clean === '/var/run' || clean === '/run') return 'mounts the host\'s Docker socket';
  return undefined;
}

/** Why this create body is for admins only, or undefined when anyone who may create may create it. */
export function adminOnlyReason(body: unknown): string | undefined {
  const hc = (body as CreateBody | null)?.HostConfig;
  if (!hc) return undefined;
  if (hc.Privileged) return 'is privileged';
  if (hc.PidMode === 'host') return 'uses the host\'s PID namespace';
  if (hc.NetworkMode === 'host') return 'uses the host\'s network namespace';
  if (hc.IpcMode === 'host') return 'uses the host\'s IPC namespace';
  if (hc.UsernsMode === 'host') return 'uses the host\'s user namespace';
  if ((hc.CapAdd ?? []).some((c) => /^(CAP_)?(ALL|SYS_ADMIN)$/i.test(c))) return 'adds SYS_ADMIN or ALL capabilities';
  if ((hc.Devices ?? []).length > 0) return 'maps host devices';
  for (const bind of hc.Binds ?? []) {
    const why = dangerousSource(bind.split(':')[0] ?? '');
    if (why) return why;
  }
  for (const m of hc.Mounts ?? []) {
    const why = m.Type === 'bind' || m.Type === undefined ? dangerousSource(m.Source ?? '') : undefined;
    if (why) return why;
  }
  return undefined;
}
