// One DockerClient per registered host, built from its record on first use and
// kept (pooled keep-alive connections) until the host changes or is removed.
import type { Socket } from 'node:net';
import { Client, type Dispatcher } from 'undici';
import { createDuplexTransport, createTransport, type Transport } from '../transports/index.ts';
import { HostUnreachable } from '../errors.ts';
import type { AgentLink } from './agent-link.ts';
import { DockerClient } from '../docker/client.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { SecretBox } from '../store/secret-box.ts';
import type { TlsMaterial } from '../transports/types.ts';

/**
 * The short reads a sync makes (negotiation, info and the four lists), and the disk-usage check's
 * /system/df. On an agent host they share one pipelined tunnel: a sync used to open one tunnel per
 * parallel call (about six), each a gRPC stream with its buffers on both sides, rebuilt every interval
 * because the 30 s keep-alive closed them in between; the disk check opened one more and a pool with it.
 */
const SYNC_READ = /^(\/v\d+\.\d+)?\/(_ping|version|info|containers\/json|images\/json|networks|volumes|system\/df)(\?|$)/;
/** What the tunnel transport (transports/duplex.ts) sends as origin: a tunnel has no host of its own. */
const TUNNEL_ORIGIN = 'http://localhost';
/** Requests in flight at once on that tunnel: a sync sends six. */
const SYNC_PIPELINING = 8;

export function isSyncRead(opts: Dispatcher.DispatchOptions): boolean {
  return (opts.method === 'GET' || opts.method === 'HEAD') && !opts.upgrade && SYNC_READ.test(opts.path);
}

interface Entry {
  endpoint: string;
  tls: string | null;
  client: DockerClient;
}

export class Connections {
  private readonly clients = new Map<string, Entry>();
  private readonly secrets: SecretBox;
  /** Set when the agent endpoint is up; agent hosts are reached through it. */
  agents: AgentLink | undefined;

  constructor(secrets: SecretBox) {
    this.secrets = secrets;
  }

  clientFor(host: HostRow): DockerClient {
    const cur = this.clients.get(host.id);
    if (cur && cur.endpoint === host.endpoint && cur.tls === host.tls_sealed) return cur.client;
    if (cur) void cur.client.close().catch(() => undefined);
    const client = new DockerClient(host.kind === 'agent' ? this.agentTransport(host) : this.directTransport(host));
    this.clients.set(host.id, { endpoint: host.endpoint, tls: host.tls_sealed, client });
    return client;
  }

  private directTransport(host: HostRow) {
    const tls = host.tls_sealed ? (JSON.parse(this.secrets.open(host.tls_sealed)) as TlsMaterial) : undefined;
    return createTransport({ url: host.endpoint, label: host.name, tls });
  }

  /**
   * Every pooled connection is one Tunnel stream through the agent (SPEC A9). Sync reads go to one
   * pipelined tunnel kept open across the sync interval; everything else (streams, hijacks, writes) to the
   * unbounded pool, so a followed log never holds up a sync.
   */
  private agentTransport(host: HostRow): Transport {
    const openStream = async () => {
      if (!this.agents) throw new HostUnreachable(host.name, `host "${host.name}": the agent endpoint is not running`);
      return this.agents.openTunnel(host.id, host.name);
    };
    // Made on first use: most agent hosts only ever sync, and an undici Pool costs ~17 KB of heap even idle.
    let general: Transport | undefined;
    const generalPool = () => (general ??= createDuplexTransport({ label: host.name, endpoint: host.endpoint, openStream }));
    // Idle longer than one interval (plus slack for a slow sync) before it closes.
    const keepAliveMs = (Math.max(host.sync_interval_s, 30) + 30) * 1000;
    const syncLane = new Client(TUNNEL_ORIGIN, {
      connect: (_options, callback) => {
        openStream().then((stream) => callback(null, stream as Socket), (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null));
      },
      pipelining: SYNC_PIPELINING,
      keepAliveTimeout: keepAliveMs,
      keepAliveMaxTimeout: keepAliveMs,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const dispatcher = syncLane.compose((dispatch) => (opts, handler) => (isSyncRead(opts) ? dispatch(opts, handler) : generalPool().dispatcher.dispatch(opts, handler)));
    return {
      label: host.name, endpoint: host.endpoint, origin: TUNNEL_ORIGIN, dispatcher,
      close: async () => {
        await Promise.all([general?.close(), syncLane.close()]);
      },
      idleConnections: () => {
        const lane = syncLane.stats;
        return ((general?.dispatcher as { stats?: { free: number } } | undefined)?.stats?.free ?? 0) + (lane.connected && lane.running === 0 && lane.pending === 0 ? 1 : 0);
      },
    };
  }

  async drop(hostId: string): Promise<void> {
    const cur = this.clients.get(hostId);
    this.clients.delete(hostId);
    await cur?.client.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.clients.keys()].map((id) => this.drop(id)));
  }
}
