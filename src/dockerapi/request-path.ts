// Splits a Docker API request path into what routing needs: an optional host
// (Flotilla's `/hosts/<name>` base path, which the docker CLI accepts in
// DOCKER_HOST), the API version the client asked for, and the rest.
export interface RequestPath {
  /** From `/hosts/<name>/…`. */
  host: string | undefined;
  /** "1.47" from `/v1.47/…`; undefined for unversioned calls. */
  version: string | undefined;
  /** The path without base and version, e.g. `/containers/json`. */
  path: string;
  /** The raw query string including `?`, or ''. */
  query: string;
}

const HOST_BASE = /^\/hosts\/([^/]+)(\/.*)?$/;
const VERSION = /^\/v(\d+\.\d+)(\/.*)?$/;

export function parseRequestPath(url: string): RequestPath {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  let host: string | undefined;
  const h = HOST_BASE.exec(path);
  if (h) {
    host = decodeURIComponent(h[1]!);
    path = h[2] ?? '/';
  }
  let version: string | undefined;
  const v = VERSION.exec(path);
  if (v) {
    version = v[1];
    path = v[2] ?? '/';
  }
  return { host, version, path, query };
}

export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

export function minVersion(a: string, b: string): string {
  return compareVersions(a, b) <= 0 ? a : b;
}
