// Fleet-wide answers: a list asked of every reachable host in parallel, each
// under its own deadline, merged into one Docker-valid answer; hosts that
// failed or were late are named in a header and an event, never dropped
// silently. Also the merged event stream. (Swarm calls go through src/swarm's ManagerRouter.)
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import type { DockerClient } from '../docker/client.ts';
import { streamEvents } from '../docker/events.ts';
import { DockerEndpointError, sendJson } from './docker-reply.ts';
import type { HostResolver } from './host-resolver.ts';
import type { RequestPath } from './request-path.ts';
import { encodeFilters, parseFilters, splitHostFilters } from './filters.ts';
import { describePartial, mergeContainerLists, mergeImageLists, mergeNetworkLists, mergeVolumeLists, PARTIAL_HEADER, type HostFailure } from './merge.ts';
import { HOST_LABEL } from './decorate.ts';
import { whenClientGone } from './client-gone.ts';

export type Resource = 'containers' | 'images' | 'volumes' | 'networks';
const PATHS: Record<Resource, string> = { containers: '/containers/json', images: '/images/json', volumes: '/volumes', networks: '/networks' };

interface PerHost<T> {
  host: string;
  items: T;
}

export class Fanout {
  private readonly resolver: HostResolver;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly recordPartial: (resource: Resource, header: string) => void;
  private readonly inventory: (resource: Resource) => Promise<{ host: string; items: unknown }[]>;

  constructor(deps: {
    resolver: HostResolver; timeoutMs: number; log: Logger;
    /** A partial list is an event too, so it shows up in the activity history, not only in one response. */
    recordPartial(resource: Resource, header: string): void;
    /** The synced inventory per reachable host, for the fast path. */
    inventory(resource: Resource): Promise<{ host: string; items: unknown }[]>;
  }) {
    this.resolver = deps.resolver;
    this.timeoutMs = deps.timeoutMs;
    this.log = deps.log;
    this.recordPartial = deps.recordPartial;
    this.inventory = deps.inventory;
  }

  /**
   * The fast path (request header `X-Flotilla-Source: inventory`): the last synced
   * inventory instead of asking every host. Only `all`, `limit` and host filters
   * apply there; any other filter takes the live path, which can apply it exactly.
   */
  private async fromInventory(resource: Resource, hosts: string[], params: URLSearchParams, filters: Record<string, string[]>, res: ServerResponse): Promise<boolean> {
    if (Object.keys(filters).length > 0) return false;
    const wanted = new Set(hosts);
    let perHost = (await this.inventory(resource)).filter((p) => wanted.has(p.host));
    const all = params.get('all') === '1' || params.get('all') === 'true';
    if (resource === 'containers' && !all) {
      perHost = perHost.map((p) => ({ host: p.host, items: (p.items as { State?: string }[]).filter((c) => c.State === 'running') }));
    }
    if (resource === 'volumes') perHost = perHost.map((p) => ({ host: p.host, items: { Volumes: p.items, Warnings: null } }));
    const limit = params.get('limit') ? Number(params.get('limit')) : undefined;
    sendJson(res, 200, merge(resource, perHost as PerHost<unknown>[], { limit, all }, []), { 'x-flotilla-source': 'inventory' });
    return true;
  }

  async list(resource: Resource, rp: RequestPath, res: ServerResponse, fast = false): Promise<void> {
    const params = new URLSearchParams(rp.query.replace(/^\?/, ''));
    const hosts = await this.resolver.reachableHosts();
    let split;
    try {
      split = splitHostFilters(parseFilters(params.get('filters') ?? undefined), hosts.map((h) => h.name));
    } catch (err) {
      throw new DockerEndpointError(400, (err as Error).message);
    }
    if (fast && (await this.fromInventory(resource, split.hosts, params, split.forward, res))) return;
    // Each host gets limit too (its newest N, stopped included); the merge keeps the fleet's newest N.
    const limit = params.get('limit') ? Number(params.get('limit')) : undefined;
    const queryFor = (host: string) => {
      const q = new URLSearchParams(params);
      const filters = encodeFilters(split.perHost[host] ?? split.forward);
      if (filters) q.set('filters', filters);
      else q.delete('filters');
      return q.toString() ? `?${q}` : '';
    };
    const { ok, failed, late } = await this.askAll(split.hosts, (docker, host) => docker.json<unknown>('GET', `${PATHS[resource]}${queryFor(host)}`, { timeoutMs: this.timeoutMs }));
    const partial = describePartial(failed, late);
    const body = merge(resource, ok, { limit, all: params.get('all') === '1' || params.get('all') === 'true' }, partial.warnings);
    if (partial.header) {
      this.log.warn({ resource, partial: partial.header }, 'fleet list is partial');
      this.recordPartial(resource, partial.header);
    }
    sendJson(res, 200, body, partial.header ? { [PARTIAL_HEADER]: partial.header } : {});
  }

  /** Runs `call` on each named host in parallel under the fan-out deadline. */
  private async askAll<T>(names: string[], call: (docker: DockerClient, host: string) => Promise<T>) {
    const ok: PerHost<T>[] = [];
    const failed: HostFailure[] = [];
    const late: string[] = [];
    await Promise.all(names.map(async (host) => {
      try {
        ok.push({ host, items: await call(await this.resolver.docker(host), host) });
      } catch (err) {
        const e = err as Error;
        if (e.name === 'HostTimeout') late.push(host);
        else failed.push({ host, error: e });
      }
    }));
    return { ok, failed, late };
  }

  /** Every reachable host's events in one stream, each event tagged with its host. */
  async events(rp: RequestPath, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = new URLSearchParams(rp.query.replace(/^\?/, ''));
    const hosts = await this.resolver.reachableHosts();
    const ctl = new AbortController();
    whenClientGone(req, res, () => ctl.abort());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    const since = params.get('since') ?? undefined;
    const until = params.get('until') ?? undefined;
    let filters;
    try {
      filters = splitHostFilters(parseFilters(params.get('filters') ?? undefined), hosts.map((h) => h.name));
    } catch {
      filters = { hosts: hosts.map((h) => h.name), forward: {}, perHost: {} as Record<string, never> };
    }
    await Promise.all(filters.hosts.map(async (host: string) => {
      try {
        const docker = await this.resolver.docker(host);
        for await (const ev of streamEvents(docker, { since, until, filters: (filters.perHost[host] ?? filters.forward) as never, signal: ctl.signal })) {
          const actor = (ev.Actor ??= { ID: '', Attributes: {} }) as { Attributes?: Record<string, string> };
          actor.Attributes = { ...(actor.Attributes ?? {}), [HOST_LABEL]: host };
          res.write(JSON.stringify(ev) + '\n');
        }
      } catch (err) {
        if (!ctl.signal.aborted) this.log.warn({ host, err: (err as Error).message }, 'fleet events: a host stream ended');
      }
    }));
    res.end();
  }
}

function merge(resource: Resource, ok: PerHost<unknown>[], opts: { limit?: number; all: boolean }, warnings: string[]): unknown {
  switch (resource) {
    case 'containers': return mergeContainerLists(ok as never, opts);
    case 'images': return mergeImageLists(ok as never);
    case 'networks': return mergeNetworkLists(ok as never);
    case 'volumes': return mergeVolumeLists(ok as never, warnings);
  }
}
