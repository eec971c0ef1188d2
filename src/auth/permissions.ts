// Roles and what they may do. Routes name the permission they need; this table
// is the only place that says which role holds which permission.
import type { Role } from '../store/schema.ts';

export const PERMISSIONS = [
  'hosts.read', 'hosts.manage',
  'containers.read', 'containers.operate',
  'images.read', 'images.manage',
  'networks.read', 'networks.manage',
  'volumes.read', 'volumes.manage',
  // Swarm: read clusters, nodes, services, tasks, secrets' metadata; manage them; and the cluster-level
  // operations that change which engines are in a swarm (init, join, leave, swarm update, join tokens).
  'swarm.read', 'swarm.manage', 'swarm.admin',
  // Image updates: read checks and history; check, update, override a container's policy; registries,
  // notification targets, default policy and update settings.
  'updates.read', 'updates.manage', 'updates.admin',
  'events.read', 'audit.read', 'metrics.read',
  'users.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READS = PERMISSIONS.filter((p) => p.endsWith('.read') && p !== 'audit.read');

const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(PERMISSIONS),
  operator: new Set<Permission>([...READS, 'containers.operate', 'images.manage', 'networks.manage', 'volumes.manage', 'swarm.manage', 'updates.manage']),
  viewer: new Set<Permission>(READS),
};

export const ROLES = ['admin', 'operator', 'viewer'] as const satisfies readonly Role[];

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

export function permissionsOf(role: Role): Permission[] {
  return [...ROLE_PERMISSIONS[role]];
}
