// The server side of agents, assembled: CA and server certificate, token
// hashing, the agent endpoint with its services, live sessions, and the
// operations the REST API offers (tokens, pause/resume, remove, revoke).
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { Config } from '../config.ts';
import { AgentService, EnrollmentService } from '../proto/generated/flotilla.ts';
import type { AgentHooks } from './agent-hooks.ts';
import { loadOrCreateCa, type ClusterCa } from './ca.ts';
import { ensureServerCert } from './pki-files.ts';
import { serverSans } from './server-sans.ts';
import { mintToken, TokenHasher } from './enroll-token.ts';
import { AgentAuth } from './agent-auth.ts';
import { AgentEndpoint } from './agent-endpoint.ts';
import { SessionRegistry } from './sessions.ts';
import { PolicyStore } from './policy-store.ts';
import { CertRenewer } from './cert-renewer.ts';
import { enrollHandler } from './enrollment.ts';
import { channelHandler } from './channel-handler.ts';
import { tunnelHandler } from './tunnel-handler.ts';
import { reportStateHandler } from './report-state.ts';
import { VERSION } from '../version.ts';

export const SERVER_VERSION = VERSION;

export interface NewEnrollToken {
  kind: 'single' | 'fleet';
  uses: number;
  ttlMs: number;
  label: string | null;
  createdBy: string | null;
}

export class Cluster {
  readonly ca: ClusterCa;
  readonly sessions: SessionRegistry;
  readonly policies: PolicyStore;
  readonly port: number;
  private readonly endpoint: AgentEndpoint;
  private readonly auth: AgentAuth;
  private readonly hasher: TokenHasher;
  private readonly store: Store;
  private readonly stopWatchingRevocations: () => void;

  private constructor(parts: { ca: ClusterCa; sessions: SessionRegistry; endpoint: AgentEndpoint; auth: AgentAuth; hasher: TokenHasher; store: Store; policies: PolicyStore; port: number }) {
    this.ca = parts.ca;
    this.sessions = parts.sessions;
    this.endpoint = parts.endpoint;
    this.auth = parts.auth;
    this.hasher = parts.hasher;
    this.store = parts.store;
    this.policies = parts.policies;
    this.port = parts.port;
    // Every revocation stored — this replica's or, through the replica bus, another's — drops that serial's connections here.
    this.stopWatchingRevocations = parts.store.access.subscribe((change) => {
      if (change.kind !== 'cert_revoked') return;
      this.auth.markRevoked(change.serial);
      this.endpoint.disconnectSerial(change.serial);
    });
  }

  static async start(deps: { config: Config; store: Store; log: Logger; hooks: AgentHooks; onEnrolled(host: HostRow): void }): Promise<Cluster> {
    const { config, store, hooks } = deps;
    const log = deps.log.child({ component: 'cluster' });
    const dir = config.cluster.dir;
    const ca = await loadOrCreateCa(dir);
    const serverTls = await ensureServerCert(dir, ca, serverSans(config.cluster.advertise));
    if (serverTls.reissued) log.info({ reason: serverTls.reason }, 'issued the agent endpoint certificate');
    const hasher = await TokenHasher.loadOrCreate(path.join(dir, 'hmac-key.bin'));
    const auth = new AgentAuth(store);
    await auth.loadRevocations();
    const sessions = new SessionRegistry();
    const policies = new PolicyStore(store.db, config.cluster.gracePeriodOfflineMs);
    const renewer = new CertRenewer(store, ca, log);
    const endpoint = new AgentEndpoint({
      tls: { certChainPem: serverTls.certPem, keyPem: serverTls.keyPem, caPem: ca.certPem }, auth, log,
      onCertRefused: (hostId, why) => sessions.track(hooks.certRefused(hostId, why)),
      services: [
        [EnrollmentService, { enroll: enrollHandler({ store, ca, hasher, log, onEnrolled: deps.onEnrolled }) }],
        [AgentService, {
          channel: channelHandler({ auth, sessions, hooks, policies, renewer, log, serverVersion: SERVER_VERSION, heartbeatMs: config.cluster.heartbeatMs }),
          tunnel: tunnelHandler({ auth, sessions, log }),
          reportState: reportStateHandler({ auth, hooks, log }),
        }],
      ],
    });
    const port = await endpoint.listen(config.cluster.listenHost, config.cluster.port);
    log.info({ port, ca_fingerprint: ca.fingerprint }, 'agent endpoint listening (gRPC, mutual TLS 1.3)');
    return new Cluster({ ca, sessions, endpoint, auth, hasher, store, policies, port });
  }

  /** A new enrollment token; the token text is only in this answer. */
  async createEnrollToken(t: NewEnrollToken) {
    const { token, secret } = mintToken(this.ca.fingerprint);
    const info = await this.store.enrollTokens.create({ ...t, digest: this.hasher.digest(secret) });
    return { token, info };
  }

  isConnected(hostId: string): boolean {
    return this.sessions.get(hostId) !== undefined;
  }

  openTunnel(hostId: string, hostName: string): Promise<Duplex> {
    return this.sessions.openTunnel(hostId, hostName);
  }

  /** Ends the agent's channel (it will reconnect unless its host is gone or revoked). */
  disconnect(hostId: string, why: 'removed' | 'revoked' | 'shutdown'): void {
    this.sessions.get(hostId)?.close(why);
  }

  /** Serial into the CRL, connections dropped; the caller deletes the host. */
  async revoke(host: HostRow): Promise<void> {
    if (host.cert_serial) {
      await this.auth.revoke(host.cert_serial, { id: host.id, name: host.name }, 'revoked by an operator');
      this.endpoint.disconnectSerial(host.cert_serial);
    }
    this.disconnect(host.id, 'revoked');
  }

  async close(): Promise<void> {
    this.stopWatchingRevocations();
    for (const s of this.sessions.all()) s.close('shutdown');
    await this.endpoint.close();
    await this.sessions.drain();
  }
}
