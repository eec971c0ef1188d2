// Simulated agents for load tests: each has its own key and certificate and its
// own mTLS gRPC connection, says Hello, heartbeats at the server's interval,
// answers pings and state requests, and serves tunnels from a tiny in-process
// fake engine (so the server's periodic syncs through the tunnel succeed).
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { credentials, Metadata, type ChannelOptions } from '@grpc/grpc-js';
import { AgentClient, type AgentMessage, type EnrollmentClient, type EnrollResponse, type ServerMessage } from '../../src/proto/generated/flotilla.ts';
import { generateAgentKeyAndCsr } from '../../src/cluster/csr.ts';
import { tunnelDuplex } from '../../src/proto/tunnel-duplex.ts';
import { AGENT_CHANNEL_OPTIONS } from '../../src/agent/grpc-client.ts';

export interface SimIdentity {
  name: string;
  hostId: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export const counters = { heartbeats: 0, tunnels: 0, tunnelErrors: 0, engineRequests: 0, syncs: 0, pings: 0, channelsLost: 0 };

const CONTAINERS = 5;

/**
 * The real agent's channel options (src/agent/grpc-client.ts), plus a subchannel
 * pool per client: grpc-js's global pool finds a reusable subchannel by comparing
 * the new client's credentials with every existing one, which is quadratic with
 * thousands of clients in one process. A real agent has one client; so does this.
 */
const OPTIONS: ChannelOptions = { ...AGENT_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 };
const engineOf = new WeakMap<Duplex, SimIdentity>();

function containers(id: SimIdentity) {
  return Array.from({ length: CONTAINERS }, (_, i) => ({
    Id: `${id.hostId.replaceAll('-', '')}${String(i).padStart(32, '0')}`, Names: [`/app-${i}`], Image: 'busybox:1', ImageID: 'sha256:0',
    Command: 'sleep 600', Created: 1_700_000_000, State: 'running', Status: 'Up 1 hour', Ports: [], Labels: {}, Mounts: [],
  }));
}

function info(id: SimIdentity) {
  return { ID: `SIM:${id.hostId}`, Name: id.name, ServerVersion: '24.0.0', OperatingSystem: 'simulated', Architecture: 'x86_64', NCPU: 2, MemTotal: 2 ** 31, Containers: CONTAINERS, ContainersRunning: CONTAINERS };
}

/**
 * Answers the calls a sync makes; everything else is a 404 like an engine's. No
 * Keep-Alive hint, as dockerd sends none: the server's pool then closes idle
 * tunnels after its own 30 s, as it does with a real agent.
 */
const fakeEngine = http.createServer({ keepAliveTimeout: 0 }, (req, res) => {
  const id = engineOf.get(req.socket as unknown as Duplex)!;
  counters.engineRequests++;
  const path = (req.url ?? '').replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '');
  if (path === '/info') counters.syncs++; // one /info per sync
  const body = ({
    '/version': () => ({ Version: '24.0.0', ApiVersion: '1.43', MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64' }),
    '/_ping': () => 'OK',
    '/info': () => info(id),
    '/containers/json': () => containers(id),
    '/images/json': () => [{ Id: 'sha256:0', RepoTags: ['busybox:1'], Created: 1_700_000_000, Size: 4_000_000, Labels: {} }],
    '/networks': () => [{ Id: 'bridge0', Name: 'bridge', Driver: 'bridge', Scope: 'local' }],
    '/volumes': () => ({ Volumes: [], Warnings: [] }),
  } as Record<string, (() => unknown) | undefined>)[path];
  const text = body ? JSON.stringify(body()) : JSON.stringify({ message: `page not found: ${path}` });
  res.writeHead(body ? 200 : 404, { 'content-type': 'application/json', 'api-version': '1.43' }).end(text);
});

/** One Enroll call with a fresh key and CSR. */
export async function enrollSim(enroller: EnrollmentClient, secret: string, name: string): Promise<SimIdentity> {
  const { keyPem, csrPem } = await generateAgentKeyAndCsr(name);
  const res = await new Promise<EnrollResponse>((resolve, reject) => {
    enroller.enroll({ tokenSecret: secret, csrPem, hostName: name, agentVersion: 'bench-sim' }, new Metadata(), { deadline: Date.now() + 60_000 },
      (err, value) => (err ? reject(new Error(`enroll ${name}: ${err.details || err.message}`)) : resolve(value!)));
  });
  return { name, hostId: res.hostId, caPem: res.caPem, certPem: res.certPem, keyPem };
}

export class SimAgent {
  readonly id: SimIdentity;
  private readonly client: AgentClient;
  private channel: ReturnType<AgentClient['channel']> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(serverAddr: string, id: SimIdentity) {
    this.id = id;
    // Its own credentials, hence its own HTTP/2 connection, as a real agent has.
    this.client = new AgentClient(serverAddr, credentials.createSsl(Buffer.from(id.caPem), Buffer.from(id.keyPem), Buffer.from(id.certPem)), OPTIONS);
  }

  /** Opens the channel and resolves on the server's Welcome. */
  connect(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id.name}: no Welcome within ${timeoutMs} ms`)), timeoutMs);
      const channel = this.client.channel();
      this.channel = channel;
      channel.on('data', (msg: ServerMessage) => {
        if (msg.body?.$case === 'welcome') {
          clearTimeout(timer);
          this.onWelcome(msg.body.value.heartbeatIntervalMs);
          resolve();
        } else this.onMessage(msg);
      });
      let lost = false;
      const onLost = () => {
        clearInterval(this.heartbeat);
        if (!this.stopped && !lost) counters.channelsLost++;
        lost = true;
      };
      channel.on('error', (err: Error & { details?: string }) => {
        clearTimeout(timer);
        onLost();
        reject(new Error(`${this.id.name}: ${err.details || err.message}`));
      });
      channel.on('end', onLost);
      this.send({ body: { $case: 'hello', value: { agentVersion: 'bench-sim', features: ['list'], engineId: `SIM:${this.id.hostId}`, hostName: this.id.name, policyRevision: 0, settingsRevision: 0 } } });
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.channel?.cancel();
    this.client.close();
  }

  private send(msg: AgentMessage): void {
    this.channel?.write(msg);
  }

  private onWelcome(heartbeatMs: number): void {
    const beat = () => {
      counters.heartbeats++;
      this.send({ body: { $case: 'heartbeat', value: { agentVersion: 'bench-sim', features: ['list'], engineId: `SIM:${this.id.hostId}`, sentAtMs: Date.now(), autonomous: false } } });
    };
    this.heartbeat = setInterval(beat, heartbeatMs || 10_000);
    beat();
    this.sendState();
  }

  private sendState(): void {
    this.send({ body: { $case: 'state', value: {
      engineId: `SIM:${this.id.hostId}`, engineVersion: '24.0.0', apiVersion: '1.43', containersJson: JSON.stringify(containers(this.id)),
      infoJson: JSON.stringify(info(this.id)), takenAtMs: Date.now(),
    } } });
  }

  private onMessage(msg: ServerMessage): void {
    const body = msg.body;
    if (body?.$case === 'command') {
      counters.pings++;
      this.send({ body: { $case: 'result', value: { id: body.value.id, ok: true, error: '', body: { $case: 'pong', value: { agentTimeMs: Date.now() } } } } });
    } else if (body?.$case === 'openTunnel') {
      counters.tunnels++;
      const call = this.client.tunnel();
      call.on('error', () => counters.tunnelErrors++); // the duplex below is destroyed with the call
      call.write({ body: { $case: 'open', value: { tunnelId: body.value.tunnelId } } });
      const duplex = tunnelDuplex(call, () => call.cancel());
      engineOf.set(duplex, this.id);
      fakeEngine.emit('connection', duplex);
    } else if (body?.$case === 'requestState') {
      this.sendState();
    }
  }
}
