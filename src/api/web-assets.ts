// The dashboard's files (web/, built by Vite into web/dist by the setup): the
// hashed assets cached for a year, index.html never cached, and every page
// route of the app answered with index.html so a reload or a pasted link works.
// The shell holds no data; everything it shows comes from the API, with auth.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';

export const WEB_DIST = path.resolve(import.meta.dirname, '../../web/dist');

/** Paths the app routes itself (see web/src/routes.ts): anything but the API, health and metrics. */
const NOT_PAGES = /^\/(api|assets|healthz|readyz|metrics)(\/|$)/;

export function isPageRequest(req: FastifyRequest): boolean {
  const url = req.url.split('?')[0]!;
  return req.method === 'GET' && !NOT_PAGES.test(url) && !path.extname(url) && /text\/html/.test(req.headers.accept ?? '');
}

export async function registerWebAssets(app: FastifyInstance, dist = WEB_DIST): Promise<(req: FastifyRequest, reply: FastifyReply) => FastifyReply> {
  const index = path.join(dist, 'index.html');
  const built = fs.existsSync(index);
  if (built) {
    // serve: false and our own route, so the route declares its access like every other (auth-hooks.ts).
    await app.register(fastifyStatic, { root: path.join(dist, 'assets'), serve: false, index: false });
    // (root is repeated below for the existence check: a missing asset is a plain 404, not the API's JSON)
    const root = path.join(dist, 'assets');
    app.get('/assets/*', { config: { access: 'asset', audit: false }, schema: { hide: true } }, (req, reply) => {
      const file = (req.params as { '*': string })['*'];
      const full = path.resolve(root, file);
      if (!full.startsWith(root + path.sep) || !fs.existsSync(full)) return reply.status(404).type('text/plain; charset=utf-8').send('no such file');
      // Names carry a content hash: a file never changes under its name.
      return reply.sendFile(file, { immutable: true, maxAge: '365d', cacheControl: true });
    });
  }
  const shell = () => (built ? fs.readFileSync(index) : undefined);
  return (_req, reply) => {
    const html = shell();
    if (!html) {
      return reply.status(503).type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `bash scripts/run.sh` (or `npx vite build web`). The API is at /api/v1.');
    }
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
  };
}
