// What Swarm does with each Compose key docker stack deploy does not apply:
// ignored ones become warnings, ones whose loss would change the deployment
// materially are refused (docker/cli's ForbiddenProperties and their kin).
import { type LoadContext, type Mapping, composeError, isMapping } from './context.ts';

const RESOURCES = 'set resource limits and reservations under deploy.resources';

/** Refused, as `docker stack deploy` refuses them ("compose file contains unsupported options"). */
const REFUSED: Record<string, string> = {
  extends: 'extends is not supported by docker stack deploy',
  volume_driver: 'define a volume under the top-level "volumes" with its driver and reference it from the service',
  volumes_from: 'to share a volume between services, define it under the top-level "volumes" and reference it from each',
  cpu_quota: RESOURCES, cpu_shares: RESOURCES, cpuset: RESOURCES, mem_limit: RESOURCES, memswap_limit: RESOURCES,
  // Compose Specification keys the CLI's v3 schema refuses; ignoring a limit or a scale silently would deploy something else.
  cpus: RESOURCES, cpu_count: RESOURCES, cpu_percent: RESOURCES, cpu_period: RESOURCES,
  cpu_rt_period: RESOURCES, cpu_rt_runtime: RESOURCES, mem_reservation: RESOURCES,
  scale: 'use deploy.replicas',
};

/** Ignored by Swarm: a warning each, naming what to use instead where there is something. */
const IGNORED: Record<string, string> = {
  build: 'Swarm does not build images: build and push the image, then set "image"',
  cgroup_parent: 'not supported by Swarm services',
  cgroupns_mode: 'not supported by Swarm services',
  container_name: 'Swarm names each task itself',
  depends_on: 'Swarm starts services in no particular order and has no start conditions; make services retry, or gate them with healthchecks',
  devices: 'Swarm services cannot map devices',
  domainname: 'not supported by Swarm services',
  expose: 'unnecessary: services on the same network reach each other on any port',
  external_links: 'not supported by Swarm services: attach both services to a shared network',
  ipc: 'not supported by Swarm services',
  links: 'Swarm services reach each other by service name on a shared network',
  mac_address: 'not supported by Swarm services',
  network_mode: 'Swarm services use the networks listed under "networks"',
  pid: 'not supported by Swarm services',
  privileged: 'Swarm services cannot run privileged (use cap_add for the capabilities needed)',
  security_opt: 'not supported by Swarm services',
  shm_size: 'not supported by Swarm services (mount a volume of type tmpfs on /dev/shm instead)',
  tmpfs: 'use a volume of type tmpfs instead',
  userns_mode: 'not supported by Swarm services',
  blkio_config: 'not supported by Swarm services',
  device_cgroup_rules: 'not supported by Swarm services',
  dns_opt: 'not applied by docker stack deploy',
  group_add: 'not applied by docker stack deploy',
  mem_swappiness: 'not supported by Swarm services',
  oom_kill_disable: 'not supported by Swarm services',
  pids_limit: 'not applied by docker stack deploy',
  platform: 'Swarm picks the image variant for each node (constrain nodes with deploy.placement.constraints)',
  profiles: 'every service of a stack is deployed',
  pull_policy: 'Swarm nodes pull the image when they need it',
  runtime: 'not supported by Swarm services',
  storage_opt: 'not supported by Swarm services',
};

/** Warns about ignored service keys and refuses the forbidden ones, service by service. */
export function checkSwarmSupport(project: Mapping, ctx: LoadContext): void {
  const services = isMapping(project.services) ? project.services : {};
  for (const [name, service] of Object.entries(services)) {
    if (!isMapping(service)) continue;
    for (const key of Object.keys(service)) {
      const refusal = REFUSED[key];
      if (refusal !== undefined) throw composeError(ctx, ['services', name, key], `not supported by Swarm: ${refusal}`);
      const note = IGNORED[key];
      if (note !== undefined) ctx.warnings.push(`services.${name}.${key}: ignored by Swarm: ${note}`);
    }
    // `restart` is the CLI's fallback restart policy; with deploy.restart_policy set, the converter warns it is ignored.
    const deploy = isMapping(service.deploy) ? service.deploy : {};
    if (service.restart !== undefined && deploy.restart_policy === undefined) {
      ctx.warnings.push(`services.${name}.restart: applied as the Swarm restart policy; prefer deploy.restart_policy`);
    }
  }
  checkTopLevelObjects(project, ctx);
}

/**
 * The top-level volumes, networks, secrets and configs: `external` conflicts the
 * CLI's loader refuses, and the deprecated `external.name` (warned, then moved to
 * `name` so the later steps read one spelling).
 */
function checkTopLevelObjects(project: Mapping, ctx: LoadContext): void {
  for (const section of ['networks', 'volumes', 'secrets', 'configs'] as const) {
    const objects = project[section];
    if (!isMapping(objects)) continue;
    for (const [name, object] of Object.entries(objects)) {
      if (!isMapping(object)) continue;
      const path = [section, name];
      moveExternalName(object, path, ctx);
      if (object.external !== true) continue;
      const conflicting = section === 'volumes' ? ['driver', 'driver_opts', 'labels'] : section === 'networks' ? ['driver', 'driver_opts', 'ipam'] : ['file', 'driver'];
      const clash = conflicting.find((key) => object[key] !== undefined);
      if (clash !== undefined) throw composeError(ctx, path, `conflicting parameters "external" and "${clash}": an external ${section.slice(0, -1)} is looked up, never created`);
    }
  }
}

function moveExternalName(object: Mapping, path: string[], ctx: LoadContext): void {
  const external = object.external;
  if (!isMapping(external)) return;
  if (typeof external.name === 'string') {
    if (object.name !== undefined) throw composeError(ctx, path, '"external.name" and "name" conflict; only use "name"');
    ctx.warnings.push(`${path.join('.')}: "external.name" is deprecated in favor of "name"`);
    object.name = external.name;
  }
  object.external = true;
}
