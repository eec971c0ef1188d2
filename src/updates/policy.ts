// Which update policy applies to a container (SPEC S15) and whether an update
// may run now (SPEC A5: never while the agent is autonomous). Pure functions:
// the checker and the update engine feed them what they know.
//
// Precedence: an image referenced by digest is pinned by nature > container
// label `flotilla.policy` > server per-container override > server default >
// `manual`. A bad label means `manual` (the owner asked for something; we do
// the safe thing, not the server's default); a bad override or default falls
// through to the next source. Each bad value is named in `warning`.
import { isInWindow, nextWindow, DEFAULT_WINDOW_MS } from './window.ts';

export const UPDATE_POLICIES = ['auto', 'manual', 'pinned'] as const;
export type UpdatePolicy = (typeof UPDATE_POLICIES)[number];
/** `digest`: the image reference names a digest, so there is nothing newer to move to. */
export type PolicySource = 'digest' | 'label' | 'override' | 'default' | 'fallback';

export const POLICY_LABEL = 'flotilla.policy';

export interface PolicyInput {
  labels: Record<string, string>;
  /** As Docker reports it; a leading `/` is ignored. */
  containerName: string;
  /**
   * The server's per-container overrides (`AgentPolicy.containerPolicies`), keyed by
   * container name, or by `<hostId>/<name>` for one host's container only; the
   * host-qualified key wins when `hostId` is given.
   */
  overrides: Record<string, string>;
  hostId?: string;
  defaultPolicy?: string;
  /** The container's image reference (Config.Image); `…@sha256:…` is pinned. */
  image?: string;
}

export interface ResolvedPolicy {
  policy: UpdatePolicy;
  source: PolicySource;
  /** Every bad value met on the way, joined with "; ". */
  warning?: string;
}

export function resolveUpdatePolicy(input: PolicyInput): ResolvedPolicy {
  const warnings: string[] = [];
  const done = (policy: UpdatePolicy, source: PolicySource): ResolvedPolicy =>
    (warnings.length ? { policy, source, warning: warnings.join('; ') } : { policy, source });

  const label = input.labels[POLICY_LABEL];
  const labelPolicy = label === undefined ? undefined : asPolicy(label);

  if (label !== undefined && !labelPolicy) {
    warnings.push(`label ${POLICY_LABEL} has the invalid value "${label}" (expected auto, manual or pinned); using manual`);
  }
  if (input.image !== undefined && isDigestReference(input.image)) {
    if (labelPolicy === 'auto') warnings.push(`label ${POLICY_LABEL}=auto does not apply: image "${input.image}" is referenced by digest`);
    return done('pinned', 'digest');
  }
  if (label !== undefined) return done(labelPolicy ?? 'manual', 'label');

  const name = input.containerName.replace(/^\//, '');
  const keys = input.hostId ? [`${input.hostId}/${name}`, name] : [name];
  for (const key of keys) {
    const value = input.overrides[key];
    if (value === undefined) continue;
    const policy = asPolicy(value);
    if (policy) return done(policy, 'override');
    warnings.push(`server override for container "${key}" has the invalid value "${value}" (expected auto, manual or pinned); ignored`);
  }

  if (input.defaultPolicy !== undefined && input.defaultPolicy !== '') {
    const policy = asPolicy(input.defaultPolicy);
    if (policy) return done(policy, 'default');
    warnings.push(`server default update policy has the invalid value "${input.defaultPolicy}" (expected auto, manual or pinned); ignored`);
  }
  return done('manual', 'fallback');
}

/** `name@sha256:…` or `name:tag@sha256:…`: the reference names one immutable image. */
export function isDigestReference(image: string): boolean {
  // The digest grammar of the distribution reference spec.
  return /@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/.test(image.trim());
}

function asPolicy(value: string): UpdatePolicy | undefined {
  const v = value.trim().toLowerCase();
  return (UPDATE_POLICIES as readonly string[]).includes(v) ? (v as UpdatePolicy) : undefined;
}

export interface UpdateContext {
  policy: UpdatePolicy;
  /** `auto`: the scheduler's own decision; `manual`: a user asked for this update now. */
  trigger: 'auto' | 'manual';
  /** The agent is paused or the host is in maintenance. */
  hostPaused: boolean;
  /** The host's agent reports autonomous mode (SPEC A5). Direct hosts: false. */
  agentAutonomous: boolean;
  /** Effective window expression (see window.ts `effectiveWindow`); absent: always open. */
  window?: string | null;
  windowDurationMs?: number;
  at?: Date;
}

export type UpdateBlocker = 'autonomous' | 'paused' | 'pinned' | 'policy' | 'window';

export type UpdateDecision =
  | { allowed: true }
  | { allowed: false; blockedBy: UpdateBlocker; reason: string; nextWindowAt?: Date };

/**
 * Whether an update may start now. Autonomous agents, paused hosts and pinned
 * containers never update. A user's own request may update a `manual` container
 * outside the window; the scheduler updates only `auto` containers, inside the window.
 * A window expression that does not parse blocks automatic updates (and says why)
 * rather than letting them run at any time.
 */
export function mayUpdateNow(ctx: UpdateContext): UpdateDecision {
  if (ctx.agentAutonomous) {
    return { allowed: false, blockedBy: 'autonomous', reason: 'the agent is in autonomous mode (no server connection): it never updates until it is back' };
  }
  if (ctx.hostPaused) return { allowed: false, blockedBy: 'paused', reason: 'the host is paused or in maintenance' };
  if (ctx.policy === 'pinned') return { allowed: false, blockedBy: 'pinned', reason: 'the container is pinned: it is never updated' };
  if (ctx.trigger === 'manual') return { allowed: true };
  if (ctx.policy !== 'auto') return { allowed: false, blockedBy: 'policy', reason: 'the policy is manual: updates are only reported' };
  const window = ctx.window?.trim();
  if (!window) return { allowed: true };
  const at = ctx.at ?? new Date();
  try {
    if (isInWindow(window, at, ctx.windowDurationMs ?? DEFAULT_WINDOW_MS)) return { allowed: true };
    const next = nextWindow(window, at);
    return {
      allowed: false, blockedBy: 'window',
      reason: next ? `outside the update window "${window}"; it opens next at ${next.toISOString()}` : `outside the update window "${window}"`,
      ...(next ? { nextWindowAt: next } : {}),
    };
  } catch (err) {
    return { allowed: false, blockedBy: 'window', reason: err instanceof Error ? err.message : String(err) };
  }
}
