// The `deploy:` section (and the legacy `restart:`) → service mode, resources,
// restart policy, update/rollback config, placement and endpoint mode, with the
// CLI's defaults: update_config parallelism 1 when the section is given, and
// `restart:` only when deploy.restart_policy is absent.
import { optionalBytes } from './bytes.ts';
import { optionalDuration } from './durations.ts';
import type { Placement, Resources, RestartPolicy, ServiceMode, UpdateConfig } from './engine-types.ts';
import { fail, isDict, optionalCount, optionalNumber, optionalString, stringOrList, type Dict } from './values.ts';

/** opts.ParseCPUs: an exact decimal (or ratio) of CPUs → nano CPUs; finer than 1e-9 is refused. */
export function parseCpus(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = String(value).trim();
  const ratio = /^(\d+)\/(\d+)$/.exec(text);
  if (ratio) {
    const [num, den] = [BigInt(ratio[1]!) * 1_000_000_000n, BigInt(ratio[2]!)];
    if (den === 0n) return fail(path, `failed to parse ${text} as a rational number`);
    if (num % den !== 0n) return fail(path, 'value is too precise');
    return Number(num / den);
  }
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return fail(path, `failed to parse ${text} as a rational number`);
  const digits = BigInt(`${m[1]}${m[2] ?? ''}` || '0');
  const shift = 9 + Number(m[3] ?? 0) - (m[2] ?? '').length;
  if (shift >= 0) return Number(digits * 10n ** BigInt(shift));
  const div = 10n ** BigInt(-shift);
  if (digits % div !== 0n) return fail(path, 'value is too precise');
  return Number(digits / div);
}

export function convertMode(deploy: Dict, path: string): ServiceMode {
  const mode = optionalString(deploy.mode, `${path}.mode`) ?? '';
  const replicas = optionalCount(deploy.replicas, `${path}.replicas`);
  const noReplicas = () => replicas !== undefined && fail(`${path}.replicas`, 'replicas can only be used with replicated or replicated-job mode');
  switch (mode) {
    case '':
    case 'replicated':
      return { Replicated: replicas === undefined ? {} : { Replicas: replicas } };
    case 'replicated-job':
      return { ReplicatedJob: replicas === undefined ? {} : { MaxConcurrent: replicas, TotalCompletions: replicas } };
    case 'global':
      noReplicas();
      return { Global: {} };
    case 'global-job':
      noReplicas();
      return { GlobalJob: {} };
    default:
      return fail(`${path}.mode`, `unknown mode: ${mode}`);
  }
}

export function convertResources(deploy: Dict, path: string): Resources {
  const res = isDict(deploy.resources) ? deploy.resources : {};
  const out: Resources = {};
  if (isDict(res.limits)) {
    const at = `${path}.resources.limits`;
    out.Limits = {};
    const cpus = parseCpus(res.limits.cpus, `${at}.cpus`);
    const memory = optionalBytes(res.limits.memory, `${at}.memory`);
    const pids = optionalCount(res.limits.pids, `${at}.pids`);
    if (cpus) out.Limits.NanoCPUs = cpus;
    if (memory) out.Limits.MemoryBytes = memory;
    if (pids) out.Limits.Pids = pids;
  }
  if (isDict(res.reservations)) {
    const at = `${path}.resources.reservations`;
    out.Reservations = {};
    const cpus = parseCpus(res.reservations.cpus, `${at}.cpus`);
    const memory = optionalBytes(res.reservations.memory, `${at}.memory`);
    if (cpus) out.Reservations.NanoCPUs = cpus;
    if (memory) out.Reservations.MemoryBytes = memory;
    const generic = Array.isArray(res.reservations.generic_resources) ? res.reservations.generic_resources : [];
    const discrete = generic.map((g) => (isDict(g) && isDict(g.discrete_resource_spec) ? g.discrete_resource_spec : undefined)).filter((d) => d !== undefined);
    if (discrete.length > 0) {
      out.Reservations.GenericResources = discrete.map((d, i) => ({
        DiscreteResourceSpec: { Kind: optionalString(d.kind, `${at}.generic_resources[${i}].discrete_resource_spec.kind`) ?? '', Value: optionalNumber(d.value, `${at}.generic_resources[${i}].discrete_resource_spec.value`) ?? 0 },
      }));
    }
  }
  return out;
}

/** `restart:` in `docker run` syntax, the CLI's fallback (v28: on-failure always carries its count). */
function legacyRestart(value: unknown, path: string): RestartPolicy | undefined {
  const text = optionalString(value, path) ?? '';
  if (text === '') return undefined;
  const [name, count] = text.includes(':') ? [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)] : [text, ''];
  if (name === '') return fail(path, 'invalid restart policy format: no policy provided before colon');
  if (count !== '' && !/^-?\d+$/.test(count)) return fail(path, 'invalid restart policy format: maximum retry count must be an integer');
  if (name === 'no') return undefined;
  if (name === 'always' || name === 'unless-stopped') return { Condition: 'any' };
  if (name === 'on-failure') return { Condition: 'on-failure', MaxAttempts: Number(count || 0) };
  return fail(path, `unknown restart policy: ${text}`);
}

export function convertRestartPolicy(service: Dict, deploy: Dict, path: string, warnings: string[]): RestartPolicy | undefined {
  const policy = deploy.restart_policy;
  if (!isDict(policy)) return legacyRestart(service.restart, `${path}.restart`);
  if (service.restart !== undefined) warnings.push(`${path}.restart: ignored, deploy.restart_policy is set`);
  const at = `${path}.deploy.restart_policy`;
  const out: RestartPolicy = {};
  const condition = optionalString(policy.condition, `${at}.condition`);
  if (condition) out.Condition = condition;
  const delay = optionalDuration(policy.delay, `${at}.delay`);
  if (delay !== undefined) out.Delay = delay;
  const attempts = optionalCount(policy.max_attempts, `${at}.max_attempts`);
  if (attempts !== undefined) out.MaxAttempts = attempts;
  const window = optionalDuration(policy.window, `${at}.window`);
  if (window !== undefined) out.Window = window;
  return out;
}

export function convertUpdateConfig(value: unknown, path: string): UpdateConfig | undefined {
  if (!isDict(value)) return undefined;
  const out: UpdateConfig = { Parallelism: optionalCount(value.parallelism, `${path}.parallelism`) ?? 1, MaxFailureRatio: optionalNumber(value.max_failure_ratio, `${path}.max_failure_ratio`) ?? 0 };
  const delay = optionalDuration(value.delay, `${path}.delay`);
  const monitor = optionalDuration(value.monitor, `${path}.monitor`);
  const failureAction = optionalString(value.failure_action, `${path}.failure_action`);
  const order = optionalString(value.order, `${path}.order`);
  if (delay) out.Delay = delay;
  if (failureAction) out.FailureAction = failureAction;
  if (monitor) out.Monitor = monitor;
  if (order) out.Order = order;
  return out;
}

export function convertPlacement(deploy: Dict, path: string): Placement {
  const p = isDict(deploy.placement) ? deploy.placement : {};
  const at = `${path}.placement`;
  const out: Placement = {};
  const constraints = stringOrList(p.constraints, `${at}.constraints`);
  if (constraints && constraints.length > 0) out.Constraints = constraints;
  const prefs = Array.isArray(p.preferences) ? p.preferences : [];
  if (prefs.length > 0) {
    out.Preferences = prefs.map((pref, i) => ({ Spread: { SpreadDescriptor: optionalString(isDict(pref) ? pref.spread : undefined, `${at}.preferences[${i}].spread`) ?? '' } }));
  }
  const max = optionalCount(p.max_replicas_per_node, `${at}.max_replicas_per_node`);
  if (max) out.MaxReplicas = max;
  return out;
}
