// The Docker-API-compatible fleet endpoint (SPEC S13): one TLS port that the
// docker CLI, Compose and SDKs talk to as if the fleet were one engine. Every
// call is authenticated, permission-checked and audited, then answered here,
// fanned out and merged, or forwarded to the one host it concerns.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { userFromClientCert } from './client-cert-auth.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { Swarm } from '../swarm/swarm.ts';
import { managerFailure } from '../swarm/manager-router.ts';
import { FlotillaError } from '../errors.ts';
import { engineError } from '../docker/errors.ts';
import { roleAllows } from '../auth/permissions.ts';
import type { User } from '../store/users-repo.ts';
import { answerClientError, DockerEndpointError, MAX_HEADER_BYTES, rejectUpgrade, sendDockerError, sendJson } from './docker-reply.ts';
import { checkRequestPath, parseRequestPath, type RequestPath } from './request-path.ts';
import { readBody, readJsonBody } from './json-body.ts';
import { classify, type RouteKind } from './route-kind.ts';
import { HostResolver } from './host-resolver.ts';
import { enginePath, forward } from './forward.ts';
import { fleetApiVersion, infoAnswer, versionAnswer } from './system-answers.ts';
import { AdminOnlyPolicy } from '../policy/admin-only.ts';
import type { HostBindRule } from '../policy/host-paths.ts';
import { enforceAdminOnly } from './admin-only.ts';
import { hijack } from './hijack.ts';
import { Fanout, type Resource } from './fanout.ts';
import { TokenCache } from './token-cache.ts';
import { guardBodyStall } from './body-stall.ts';
import { splitHostPrefix } from './host-prefix.ts';
import { CredentialSockets } from './credential-sockets.ts';

export interface DockerEndpointDeps {
  store: Store;
  fleet: Fleet;
  /** Swarm calls go to a manager of the cluster through its ManagerRouter, as REST calls do. */
  swarm: Swarm;
  log: Logger;
  tls: { certChainPem: string; keyPem: string; caPem: string };
  fanoutTimeoutMs: number;
  /** How long a request body may go silent before its end (0: forever). */
  bodyIdleTimeoutMs: number;
  /** FLOTILLA_NONADMIN_BIND_MOUNTS (policy/host-paths.ts). */
  nonAdminBindMounts: HostBindRule;
}

const MAX_CREATE_BODY = 1024 * 1024;

export class DockerEndpoint {
  private readonly server: https.Server;
  private readonly d: DockerEndpointDeps;
  readonly resolver: HostResolver;
  private readonly fanout: Fanout;
  private readonly sockets = new Set<Socket>();
  private readonly tokens: TokenCache;
  /** Which credential opened which connection: revoking it closes them (credential-sockets.ts). */
  private readonly credentials: CredentialSockets;
  /** What only an admin may do (policy/admin-only.ts, shared with the REST API). */
  private readonly adminOnly: AdminOnlyPolicy;

  constructor(deps: DockerEndpointDeps) {
    this.d = deps;
    this.resolver = new HostResolver(deps.fleet);
    this.adminOnly = new AdminOnlyPolicy(this.resolver, { nonAdminBindMounts: deps.nonAdminBindMounts });
    this.tokens = new TokenCache(deps.store);
    this.credentials = new CredentialSockets(deps.store, deps.log);
    this.fanout = new Fanout({
      resolver: this.resolver, timeoutMs: deps.fanoutTimeoutMs, log: deps.log,
      recordPartial: (resource, header) => void deps.store.events.add({
        at: new Date().toISOString(), host_id: null, type: 'flotilla', action: 'partial_list', actor_id: null,
        data: JSON.stringify({ resource, hosts: header }),
      }).catch((err: unknown) => deps.log.error({ err }, 'could not record a partial list')),
      inventory: (resource) => this.inventoryOf(resource),
    });
    this.server = https.createServer({
      cert: deps.tls.certChainPem, key: deps.tls.keyPem, ca: deps.tls.caPem, requestCert: true, rejectUnauthorized: false,
      minVersion: 'TLSv1.2', maxHeaderSize: MAX_HEADER_BYTES,
    });
    // Long streams (logs -f, events, attach) must not be cut while idle.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 30_000;
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('request', (req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket: Socket, head: Buffer) => void this.handleUpgrade(req, socket, head));
    this.server.on('clientError', (err, socket) => {
      answerClientError(err, socket);
      deps.log.debug({ err: err.message }, 'docker endpoint: bad request');
    });
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  openConnections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.credentials.close();
    this.tokens.close();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    let user: User | undefined;
    let target: string | undefined;
    const rp = parseRequestPath(req.url ?? '/');
    guardBodyStall(req, res, this.d.bodyIdleTimeoutMs);
    // Audited when the answer is over (a followed log ends when the client leaves), with what was learned by then.
    res.once('close', () => this.audit(req, rp, user, target, res.statusCode, Date.now() - started));
    try {
      user = await this.authenticate(req);
      checkRequestPath(rp, fleetApiVersion(await this.resolver.reachableHosts()));
      target = await this.hostPrefixed(req.method ?? 'GET', rp);
      const route = classify(req.method ?? 'GET', rp.path);
      this.authorize(user, req.method ?? 'GET', route);
      target = (await this.targetOf(req, rp)) ?? target;
      await this.dispatch(req, res, rp, route, user, target);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, rp: RequestPath, route: RouteKind, user: User, target: string | undefined): Promise<void> {
    const hosts = await this.resolver.reachableHosts();
    const pathAndQuery = rp.path + rp.query;
    switch (route.kind) {
      case 'ping':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'api-version': fleetApiVersion(hosts), 'docker-experimental': 'false', 'ostype': 'linux', server: 'Flotilla' });
        res.end(req.method === 'HEAD' ? undefined : 'OK');
        return;
      case 'version':
        if (!target) return sendJson(res, 200, versionAnswer(hosts));
        break;
      case 'info':
        if (!target) return sendJson(res, 200, infoAnswer(hosts));
        break;
      case 'list':
        if (!target) return this.fanout.list(route.resource, rp, res, req.headers['x-flotilla-source'] === 'inventory');
        break;
      case 'events':
        if (!target) return this.fanout.events(rp, req, res);
        break;
      case 'object':
        target ??= await this.resolver.resolve(route.type, route.ref);
        break;
      case 'create':
        target ??= await this.place(hosts);
        if (route.type === 'container') return this.createContainer(req, res, rp, route, user, target);
        break;
      case 'swarm':
        if (!target) return this.toManager(req, res, rp, route, user);
        break;
      case 'distribution':
        // A manager when there is a swarm (the engine that will pull for the service); otherwise any reachable host.
        if (!target) {
          if (await this.hasCluster(req)) return this.toManager(req, res, rp, route, user);
          target = await this.place(hosts);
        }
        break;
      case 'other':
        if (!target) throw new DockerEndpointError(400, `${req.method} ${rp.path} concerns one host: name it with the X-Flotilla-Target header or the /hosts/<name> base path`);
    }
    const docker = await this.resolver.docker(target!);
    const execCreate = route.kind === 'object' && route.type === 'container' && req.method === 'POST' && /\/exec$/.test(rp.path);
    const read = (route.kind === 'create' && route.type !== 'image') || execCreate ? await readJsonBody(req, MAX_CREATE_BODY) : undefined;
    await enforceAdminOnly(this.adminOnly, user.role, { method: req.method ?? 'GET', path: rp.path, query: rp.query, route, host: target, json: read?.json });
    const body = read?.body;
    const inspect = execCreate
      ? (status: number, body: Buffer) => { if (status === 201) this.resolver.rememberExec((JSON.parse(body.toString()) as { Id: string }).Id, target!); }
      : undefined;
    await forward(docker, req, res, await enginePath(docker, rp.version, pathAndQuery), { inspect, body });
  }

  /**
   * Swarm-scoped calls go to a manager of the cluster (the X-Flotilla-Cluster
   * header, or the only one there is), the leader first, through the same
   * ManagerRouter as the REST API: a manager that cannot be reached, is no longer
   * one, or has no leader (an election) is passed over. The body is read first
   * so it can be sent again; an engine answer that means "try another manager"
   * is held back, not relayed.
   */
  private async toManager(req: IncomingMessage, res: ServerResponse, rp: RequestPath, route: RouteKind, user: User): Promise<void> {
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req, MAX_CREATE_BODY);
    const header = req.headers['x-flotilla-cluster'];
    const named = Array.isArray(header) ? header[0] : header;
    const cluster = named ? await this.d.swarm.row(named) : await this.d.swarm.soleCluster();
    await this.d.swarm.router.call(cluster, async (docker, manager) => {
      if (res.headersSent) return; // a stream that started cannot be retried elsewhere
      await enforceAdminOnly(this.adminOnly, user.role, { method: req.method ?? 'GET', path: rp.path, query: rp.query, route, host: manager.host, body });
      await forward(docker, req, res, await enginePath(docker, rp.version, rp.path + rp.query), {
        body,
        refuse: (status, answer) => {
          // A digest lookup's 5xx is the registry's answer ("context deadline exceeded" included), not the manager's.
          if (status < 500 || route.kind !== 'swarm') return undefined;
          const err = engineError(status, answer.toString('utf8'), docker.context((req.method ?? 'GET') as 'GET', rp.path));
          return managerFailure(err) ? err : undefined;
        },
      });
    });
  }

  /** Whether a Swarm call without a target has a cluster to go to (the named one, or any known). */
  private async hasCluster(req: IncomingMessage): Promise<boolean> {
    if (req.headers['x-flotilla-cluster']) return true;
    return (await this.d.swarm.list()).length > 0;
  }

  private async inventoryOf(resource: Resource): Promise<{ host: string; items: unknown }[]> {
    const kind = ({ containers: 'container', images: 'image', volumes: 'volume', networks: 'network' } as const)[resource];
    const names = new Map((await this.resolver.reachableHosts()).map((h) => [h.id, h.name]));
    const byHost = new Map<string, unknown[]>();
    for (const { hostId, data } of await this.d.fleet.inventoryAll(kind)) {
      const host = names.get(hostId);
      if (!host) continue;
      const list = byHost.get(host) ?? [];
      list.push(data);
      byHost.set(host, list);
    }
    return [...names.values()].map((host) => ({ host, items: byHost.get(host) ?? [] }));
  }

  /** Documented placement: the reachable host with the fewest running containers (ties: by name). */
  private async place(hosts: Awaited<ReturnType<HostResolver['reachableHosts']>>): Promise<string> {
    const best = [...hosts].sort((a, b) => a.containers.running - b.containers.running || a.name.localeCompare(b.name))[0];
    if (!best) throw new DockerEndpointError(503, 'no reachable host to place this on');
    return best.name;
  }

  private async createContainer(req: IncomingMessage, res: ServerResponse, rp: RequestPath, route: RouteKind, user: User, target: string): Promise<void> {
    const { body, json } = await readJsonBody(req, MAX_CREATE_BODY, 'config cannot be empty in order to create a container');
    await enforceAdminOnly(this.adminOnly, user.role, { method: 'POST', path: rp.path, query: rp.query, route, host: target, json });
    const docker = await this.resolver.docker(target);
    await forward(docker, req, res, await enginePath(docker, rp.version, rp.path + rp.query), { body });
  }

  private async handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const rp = parseRequestPath(req.url ?? '/');
    let user: User | undefined;
    let target: string | undefined;
    let status = 101;
    try {
      user = await this.authenticate(req);
      checkRequestPath(rp, fleetApiVersion(await this.resolver.reachableHosts()));
      const prefixed = await this.hostPrefixed(req.method ?? 'POST', rp);
      const route = classify(req.method ?? 'POST', rp.path);
      this.authorize(user, req.method ?? 'POST', route);
      if (route.kind !== 'object' || (route.type !== 'container' && route.type !== 'exec')) throw new DockerEndpointError(400, 'only attach and exec start can be upgraded');
      target = (await this.targetOf(req, rp)) ?? prefixed ?? (await this.resolver.resolve(route.type, route.ref));
      await enforceAdminOnly(this.adminOnly, user.role, { method: req.method ?? 'POST', path: rp.path, query: rp.query, route, host: target });
      await hijack(await this.resolver.docker(target), req, socket, head, rp.path + rp.query);
    } catch (err) {
      status = err instanceof DockerEndpointError ? err.status : err instanceof FlotillaError ? err.statusCode : 500;
      rejectUpgrade(socket, status, (err as Error).message);
    }
    this.audit(req, rp, user, target, status, 0);
  }

  /** A client certificate from the built-in CA (a docker context) or a bearer token. */
  private async authenticate(req: IncomingMessage): Promise<User> {
    const byCert = await userFromClientCert(req.socket as TLSSocket, this.d.store);
    if (byCert instanceof Error) throw byCert;
    if (byCert) return this.credentials.bindCert(req.socket as TLSSocket, byCert);
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (m) {
      const found = await this.tokens.lookup(m[1]!);
      if (found) return this.credentials.bindToken(req.socket, found);
      throw new DockerEndpointError(401, 'the API token is invalid or expired');
    }
    throw new DockerEndpointError(401, 'authentication required: use a docker context from `flotilla context create`, or add {"HttpHeaders": {"Authorization": "Bearer <token>"}} to your docker config.json');
  }

  private authorize(user: User, method: string, route: RouteKind): void {
    if (route.kind === 'ping') return;
    const perm = method === 'GET' || method === 'HEAD' ? 'containers.read' : 'containers.operate';
    if (!roleAllows(user.role, perm)) throw new DockerEndpointError(403, `role "${user.role}" lacks permission "${perm}"`);
  }

  /** A host named in front of a container (`docker logs node1/web`): that host, and the path without it. */
  private async hostPrefixed(method: string, rp: RequestPath): Promise<string | undefined> {
    if (!rp.path.startsWith('/containers/')) return undefined;
    const hosts = await this.resolver.allHosts();
    const split = splitHostPrefix(method, rp.path, (name) => hosts.some((h) => h.name === name), rp.query);
    if (!split) return undefined;
    rp.path = split.path;
    return split.host;
  }

  private async targetOf(req: IncomingMessage, rp: RequestPath): Promise<string | undefined> {
    const header = req.headers['x-flotilla-target'];
    const name = (Array.isArray(header) ? header[0] : header) ?? rp.host;
    if (!name) return undefined;
    const host = (await this.resolver.allHosts()).find((h) => h.name === name || h.id === name);
    if (!host) throw new DockerEndpointError(404, `no such host: ${name}`);
    return host.name;
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof DockerEndpointError) return sendDockerError(res, err.status, err.message);
    if (err instanceof FlotillaError) return sendDockerError(res, err.statusCode, err.message);
    this.d.log.error({ err }, 'docker endpoint: unexpected error');
    sendDockerError(res, 500, 'internal error in Flotilla');
  }

  /** Batched (store.audit.recordSoon): a docker command is several calls, each audited. */
  private audit(req: IncomingMessage, rp: RequestPath, user: User | undefined, target: string | undefined, status: number, ms: number): void {
    if (!user) return;
    this.d.store.audit.recordSoon({
      user_id: user.id, username: user.username, action: `docker ${req.method} ${rp.path}`.slice(0, 300), target: target ? `host=${target}` : null,
      result: status < 400 ? 'ok' : status === 403 ? 'denied' : 'error', detail: `HTTP ${status}${ms ? ` in ${ms} ms` : ''}`, request_id: null, source_ip: req.socket?.remoteAddress ?? null,
    });
  }
}
