// One Compose service → one Swarm service spec, as cli/compose/convert's Service():
// named `<stack>_<service>`, service labels from deploy.labels plus the namespace
// and image labels, container labels from `labels`, and the parts Swarm has no
// field for reported as warnings (or refused where the CLI refuses them).
import type { ServiceSpec } from '../../docker/swarm.ts';
import type { PlannedService } from '../types.ts';
import { convertContainerSpec } from './container-spec.ts';
import { convertMode, convertPlacement, convertResources, convertRestartPolicy, convertUpdateConfig } from './deploy.ts';
import type { EngineServiceSpec } from './engine-types.ts';
import { LABEL_IMAGE, stackLabels } from './naming.ts';
import { serviceAttachments } from './networks.ts';
import { convertPorts } from './ports.ts';
import { fail, isDict, optionalString, stringMap, type Dict } from './values.ts';

/** Keys this converter turns into spec fields (or that the loader already folded in). */
const CONVERTED = new Set([
  'image', 'command', 'entrypoint', 'environment', 'env_file', 'labels', 'user', 'working_dir', 'hostname',
  'stop_grace_period', 'stop_signal', 'ulimits', 'sysctls', 'cap_add', 'cap_drop', 'init', 'extra_hosts',
  'dns', 'dns_search', 'logging', 'read_only', 'tty', 'stdin_open', 'isolation', 'oom_score_adj',
  'volumes', 'secrets', 'configs', 'healthcheck', 'networks', 'ports', 'deploy', 'restart', 'credential_spec',
]);

/** What the CLI refuses outright (loader.ForbiddenProperties), with its advice. */
const REFUSED: Record<string, string> = {
  extends: 'support for `extends` is not implemented',
  volume_driver: 'define a volume in the top-level `volumes` with its driver instead',
  volumes_from: 'share a volume by defining it in the top-level `volumes` and naming it in each service',
  cpu_quota: 'set resource limits with deploy.resources',
  cpu_shares: 'set resource limits with deploy.resources',
  cpuset: 'set resource limits with deploy.resources',
  mem_limit: 'set resource limits with deploy.resources',
  memswap_limit: 'set resource limits with deploy.resources',
};

/** Why a key is ignored, where there is more to say than "Swarm has no such setting". */
const IGNORED_BECAUSE: Record<string, string> = {
  privileged: 'Swarm services cannot run privileged containers',
  build: 'images are not built by a stack deploy',
  container_name: 'Swarm names the containers of tasks itself',
  depends_on: 'Swarm starts services in no particular order',
  expose: 'services on the same network reach each other on any port',
  network_mode: 'services attach to networks through `networks`',
};

/** A warning per key left out, unless the loader already warned about that key (its words win). */
function ignoredKeyWarnings(service: Dict, path: string, already: string[]): string[] {
  const out: string[] = [];
  for (const key of Object.keys(service)) {
    if (CONVERTED.has(key) || key.startsWith('x-')) continue;
    if (key in REFUSED) fail(`${path}.${key}`, `not supported by docker stack deploy: ${REFUSED[key]}`);
    if (already.some((w) => w.startsWith(`${path}.${key}:`))) continue;
    out.push(`${path}.${key}: ignored, ${IGNORED_BECAUSE[key] ?? 'Swarm services have no such setting'}`);
  }
  return out;
}

function logDriver(value: unknown, path: string): EngineServiceSpec['TaskTemplate']['LogDriver'] {
  if (!isDict(value)) return undefined;
  const options = stringMap(value.options, `${path}.options`);
  return { Name: optionalString(value.driver, `${path}.driver`) ?? '', ...(options ? { Options: options } : {}) };
}

/** `loaderWarnings` are the loader's, to not repeat them; new warnings are pushed onto `warnings`. */
export function convertService(project: Dict, service: Dict, name: string, stack: string, warnings: string[], loaderWarnings: string[] = []): PlannedService {
  const path = `services.${name}`;
  warnings.push(...ignoredKeyWarnings(service, path, loaderWarnings));
  const deploy = isDict(service.deploy) ? service.deploy : {};
  const containerSpec = convertContainerSpec(project, service, name, stack);
  const spec: EngineServiceSpec = {
    Name: `${stack}_${name}`,
    Labels: { ...stackLabels(stack, stringMap(deploy.labels, `${path}.deploy.labels`)), [LABEL_IMAGE]: containerSpec.Image },
    TaskTemplate: {
      ContainerSpec: containerSpec,
      Resources: convertResources(deploy, `${path}.deploy`),
      Placement: convertPlacement(deploy, `${path}.deploy`),
      Networks: serviceAttachments(project, service, name, stack),
    },
    Mode: convertMode(deploy, `${path}.deploy`),
    EndpointSpec: {},
  };
  const restart = convertRestartPolicy(service, deploy, path, warnings);
  if (restart) spec.TaskTemplate.RestartPolicy = restart;
  const logging = logDriver(service.logging, `${path}.logging`);
  if (logging) spec.TaskTemplate.LogDriver = logging;
  const update = convertUpdateConfig(deploy.update_config, `${path}.deploy.update_config`);
  if (update) spec.UpdateConfig = update;
  const rollback = convertUpdateConfig(deploy.rollback_config, `${path}.deploy.rollback_config`);
  if (rollback) spec.RollbackConfig = rollback;
  const endpointMode = optionalString(deploy.endpoint_mode, `${path}.deploy.endpoint_mode`);
  if (endpointMode) spec.EndpointSpec.Mode = endpointMode.toLowerCase();
  const ports = convertPorts(service.ports, `${path}.ports`, warnings);
  if (ports.length > 0) spec.EndpointSpec.Ports = ports;
  // ServiceSpec (src/docker/swarm.ts) types Mode without job modes and Replicas as required; the shape is the engine's.
  return { name: spec.Name, composeName: name, spec: spec as unknown as ServiceSpec };
}
