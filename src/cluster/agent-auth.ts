// Who is calling: every Agent RPC presents a client certificate issued by our
// CA, not revoked, belonging to a registered host. Checked on every call, so a
// resumed TLS session (which skips the handshake's checks) gains nothing.
import type { PeerCertificate } from 'node:tls';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import { normalizeSerial } from './pki/certs.ts';
import { claimsUser } from './user-certs.ts';
import { permissionDenied, unauthenticated } from './grpc-errors.ts';

/** Any grpc-js server call: they all expose the TLS peer through getAuthContext(). */
export interface AuthedCall {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

export class AgentAuth {
  private readonly store: Store;
  private readonly revoked = new Set<string>();

  constructor(store: Store) {
    this.store = store;
  }

  async loadRevocations(): Promise<void> {
    for (const r of await this.store.revocations.all()) this.revoked.add(normalizeSerial(r.serial));
  }

  isRevoked(serial: string): boolean {
    return this.revoked.has(normalizeSerial(serial));
  }

  async revoke(serial: string, host: { id: string; name: string } | null, reason: string): Promise<void> {
    const s = normalizeSerial(serial);
    await this.store.revocations.add({ serial: s, host_id: host?.id ?? null, host_name: host?.name ?? null, reason });
    this.revoked.add(s);
  }

  /** Refuses a serial another replica revoked (it is already in the store). */
  markRevoked(serial: string): void {
    this.revoked.add(normalizeSerial(serial));
  }

  /** The host behind the call's client certificate, or a gRPC error that says why not. */
  async hostOf(call: AuthedCall): Promise<HostRow> {
    const cert = call.getAuthContext().sslPeerCertificate;
    if (!cert) throw unauthenticated('a client certificate issued by this server is required (enroll first)');
    const serial = normalizeSerial(cert.serialNumber);
    // Same CA, so the TLS layer accepts it; it is a person's key for the Docker endpoint, never an agent's.
    if (claimsUser(cert)) throw permissionDenied(`certificate ${serial}: a user certificate cannot act as an agent`);
    if (this.revoked.has(serial)) throw permissionDenied(`certificate ${serial} has been revoked: re-enroll with a new token`);
    if (Date.parse(cert.valid_to) < Date.now()) throw permissionDenied(`certificate ${serial} expired at ${cert.valid_to}`);
    // The CA puts the host id in the subject; after a renewal the previous certificate keeps working until it expires.
    const hostId = typeof cert.subject?.CN === 'string' ? cert.subject.CN : '';
    const host = hostId ? await this.store.hosts.find(hostId) : undefined;
    if (!host || host.kind !== 'agent') throw permissionDenied(`host not registered: certificate ${serial} names host "${hostId}", which this server does not know (removed?); re-enroll with a new token`);
    if (host.agent_state === 'decommissioned') throw permissionDenied(`host "${host.name}" is decommissioned`);
    return host;
  }
}
