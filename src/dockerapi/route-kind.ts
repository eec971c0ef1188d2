// What a Docker API call is about, which decides where it goes: answered by
// Flotilla itself, fanned out to every host and merged, routed to the host
// that has the object, sent to a Swarm manager, or placed on one host.
export type RouteKind =
  | { kind: 'ping' | 'version' | 'info' | 'events' }
  | { kind: 'list'; resource: 'containers' | 'images' | 'volumes' | 'networks' }
  | { kind: 'object'; type: 'container' | 'exec' | 'image' | 'volume' | 'network'; ref: string }
  | { kind: 'create'; type: 'container' | 'volume' | 'network' | 'image' }
  | { kind: 'swarm' }
  /** GET /distribution/{image}/json: the CLI pins a service's image by digest with it, asking the engine that schedules. */
  | { kind: 'distribution' }
  | { kind: 'other' };

const SWARM = /^\/(services|tasks|nodes|secrets|configs|swarm)(\/|$)/;

export function classify(method: string, path: string): RouteKind {
  const get = method === 'GET' || method === 'HEAD';
  if (path === '/_ping') return { kind: 'ping' };
  if (path === '/version' && get) return { kind: 'version' };
  if (path === '/info' && get) return { kind: 'info' };
  if (path === '/events' && get) return { kind: 'events' };
  if (get && path === '/containers/json') return { kind: 'list', resource: 'containers' };
  if (get && path === '/images/json') return { kind: 'list', resource: 'images' };
  if (get && path === '/volumes') return { kind: 'list', resource: 'volumes' };
  if (get && path === '/networks') return { kind: 'list', resource: 'networks' };
  if (method === 'POST' && path === '/containers/create') return { kind: 'create', type: 'container' };
  if (method === 'POST' && path === '/volumes/create') return { kind: 'create', type: 'volume' };
  if (method === 'POST' && path === '/networks/create') return { kind: 'create', type: 'network' };
  if (method === 'POST' && path === '/images/create') return { kind: 'create', type: 'image' };
  if (SWARM.test(path)) return { kind: 'swarm' };
  if (get && /^\/distribution\/.+\/json$/.test(path)) return { kind: 'distribution' };
  let m = /^\/containers\/([^/]+)(\/|$)/.exec(path);
  if (m && m[1] !== 'prune') return { kind: 'object', type: 'container', ref: decodeURIComponent(m[1]!) };
  if ((m = /^\/exec\/([^/]+)(\/|$)/.exec(path))) return { kind: 'object', type: 'exec', ref: m[1]! };
  if ((m = /^\/volumes\/([^/]+)$/.exec(path)) && m[1] !== 'prune') return { kind: 'object', type: 'volume', ref: decodeURIComponent(m[1]!) };
  if ((m = /^\/networks\/([^/]+)(\/|$)/.exec(path)) && m[1] !== 'prune') return { kind: 'object', type: 'network', ref: decodeURIComponent(m[1]!) };
  // Image names contain slashes: /images/{name}/json|history|push|tag, or DELETE /images/{name}.
  if ((m = /^\/images\/(.+?)(\/(json|history|push|tag|get))?$/.exec(path)) && !['search', 'load', 'prune', 'get'].includes(m[1]!)) {
    return { kind: 'object', type: 'image', ref: decodeURIComponent(m[1]!) };
  }
  return { kind: 'other' };
}
