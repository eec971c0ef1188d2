// `docker logs node1/web` puts the name unescaped into the path:
// /containers/node1/web/logs. Such a path names the host in its first segment.
// Which paths can carry one is decided by the route's shape, not by whether a
// host of that name exists: /containers/web1/json is container "web1" even when
// a host is called web1, and a host prefix that names no host is an error that
// says so, not a search for container "nohost".
import { DockerEndpointError } from './docker-reply.ts';

/**
 * The host a container path names and the path without it, or undefined when the
 * path has no host prefix. `isHost` says whether a name is a registered host.
 */
export function splitHostPrefix(method: string, path: string, isHost: (name: string) => boolean, query = ''): { host: string; path: string } | undefined {
  const m = /^\/containers\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) return undefined;
  // Routes are /containers/{id}/{action} and DELETE /containers/{id}: with a
  // host in front, one more segment than that. Legacy link removal
  // (`docker rm --link /web/db`: DELETE /containers/web/db?link=1) names the
  // link parent/alias, two segments without a host: with one, three.
  const linkRemoval = method === 'DELETE' && dockerBool(new URLSearchParams(query).get('link'));
  const prefixed = m[3] !== undefined || (method === 'DELETE' && !linkRemoval);
  if (!prefixed) return undefined;
  const host = decodeURIComponent(m[1]!);
  const name = decodeURIComponent(m[2]!);
  if (!isHost(host)) throw new DockerEndpointError(404, `No such container: ${host}/${name} (no host is named "${host}")`);
  return { host, path: `/containers/${m[2]}${m[3] ?? ''}` };
}

/** dockerd's httputils.BoolValue: absent, "", "0", "no", "false" and "none" are false. */
function dockerBool(value: string | null): boolean {
  return value !== null && !['', '0', 'no', 'false', 'none'].includes(value.trim().toLowerCase());
}
