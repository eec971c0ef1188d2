// Minimal HTTP client for the Docker Engine API (unix socket or tcp) and the
// registry, with node:http only. Every request has a deadline.
import http from 'node:http';
import { LabError } from './sys.ts';

export type HttpTarget = { socketPath: string } | { host: string; port: number };

export type HttpResponse = { status: number; headers: http.IncomingHttpHeaders; body: Buffer };

export function request(
  target: HttpTarget,
  method: string,
  path: string,
  opts: { body?: Buffer | string | NodeJS.ReadableStream; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: 'docker', ...opts.headers };
    if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) {
      headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    }
    const req = http.request({ ...target, method, path, headers, agent: false });
    const where = 'socketPath' in target ? `unix:${target.socketPath}` : `${target.host}:${target.port}`;
    const timer = setTimeout(() => {
      req.destroy(new LabError(`${method} ${where}${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    const b = opts.body;
    if (b === undefined) req.end();
    else if (typeof b === 'string' || Buffer.isBuffer(b)) req.end(b);
    else {
      b.on('error', (e) => req.destroy(e as Error));
      b.pipe(req);
    }
  });
}

/** Docker API call; throws with the engine's message on a non-2xx status. Returns parsed JSON (or text). */
export async function dockerApi<T = unknown>(
  target: HttpTarget,
  method: string,
  path: string,
  opts: { json?: unknown; body?: Buffer | NodeJS.ReadableStream; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<T> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: Buffer | string | NodeJS.ReadableStream | undefined = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] = 'application/json';
  }
  const res = await request(target, method, path, { body, headers, timeoutMs: opts.timeoutMs });
  const text = res.body.toString('utf8');
  if (res.status < 200 || res.status >= 300) {
    let msg = text.trim();
    try {
      msg = (JSON.parse(text) as { message?: string }).message ?? msg;
    } catch {
      /* not json */
    }
    throw new LabError(`${method} ${path}: HTTP ${res.status}: ${msg}`);
  }
  if ((res.headers['content-type'] ?? '').includes('application/json') && text.trim() !== '') {
    // progress streams (pull/push/import) are newline-separated JSON objects
    const objs = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { error?: string; errorDetail?: { message?: string } });
    for (const o of objs) {
      if (o && typeof o === 'object' && (o.error || o.errorDetail)) {
        throw new LabError(`${method} ${path}: ${o.errorDetail?.message ?? o.error}`);
      }
    }
    return (objs.length === 1 ? objs[0] : objs) as T;
  }
  return text as T;
}

/** GET /_ping; true when the engine answers OK. Never throws. */
export async function ping(target: HttpTarget, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await request(target, 'GET', '/_ping', { timeoutMs });
    return res.status === 200 && res.body.toString() === 'OK';
  } catch {
    return false;
  }
}

export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** Digest of repo:tag in a registry at host:port (with v2 Accept headers, NOTES gotcha 11); undefined if missing. */
export async function registryDigest(hostPort: string, repo: string, tag: string, timeoutMs = 3000): Promise<string | undefined> {
  const [host, port] = splitHostPort(hostPort);
  try {
    const res = await request({ host, port }, 'HEAD', `/v2/${repo}/manifests/${tag}`, {
      headers: { Accept: MANIFEST_ACCEPT, Host: hostPort },
      timeoutMs,
    });
    if (res.status !== 200) return undefined;
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' && d !== '' ? d : undefined;
  } catch {
    return undefined;
  }
}

export function splitHostPort(hp: string): [string, number] {
  const i = hp.lastIndexOf(':');
  return [hp.slice(0, i), Number(hp.slice(i + 1))];
}
