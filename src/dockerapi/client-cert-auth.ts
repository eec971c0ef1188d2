// Who a Docker-endpoint caller is by their TLS client certificate (SPEC S13): a
// user certificate from the built-in CA (`flotilla context create`), on record,
// not revoked, not expired, of a user who still exists. The user's current role applies.
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Store } from '../store/index.ts';
import type { User } from '../store/users-repo.ts';
import { Unauthorized } from '../errors.ts';
import { normalizeSerial } from '../cluster/pki/certs.ts';
import { userIdOfCert } from '../cluster/user-certs.ts';

/** A certificate was presented and cannot be accepted; the message says why and what to do. */
export class ClientCertRefused extends Unauthorized {}

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
const RENEW = 'create a new one with "flotilla context create"';

/**
 * The user behind the socket's client certificate; undefined when none was presented;
 * a ClientCertRefused when one was presented and is not acceptable. Checked per request
 * (not per connection), so a revocation takes effect on the next call.
 */
export async function userFromClientCert(socket: TLSSocket, store: Store): Promise<User | undefined | Error> {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.raw) return undefined;
  const what = `client certificate ${normalizeSerial(cert.serialNumber ?? '')}`;
  const untrusted = tlsVerdict(socket, cert, what);
  if (untrusted) return untrusted;
  const userId = userIdOfCert(cert);
  if (!userId) return new ClientCertRefused(`${what} is not a Flotilla user certificate (subject ${subjectText(cert)}): ${RENEW}`);
  if (cert.ext_key_usage && !cert.ext_key_usage.includes(CLIENT_AUTH_OID)) {
    return new ClientCertRefused(`${what} is not meant for client authentication (no clientAuth extended key usage)`);
  }
  return userOnRecord(store, normalizeSerial(cert.serialNumber), userId, what);
}

/** The TLS layer's own checks (chain to our CA, validity period), as messages a person can act on. */
function tlsVerdict(socket: TLSSocket, cert: PeerCertificate, what: string): ClientCertRefused | undefined {
  const now = Date.now();
  // Typed as an Error, but Node gives OpenSSL's code as a string ("CERT_HAS_EXPIRED").
  const raw = socket.authorizationError as unknown as string | { code?: string; message?: string } | null | undefined;
  const reason = typeof raw === 'string' ? raw : (raw?.code ?? raw?.message);
  if (reason === 'CERT_HAS_EXPIRED' || Date.parse(cert.valid_to) < now) {
    return new ClientCertRefused(`${what} expired at ${cert.valid_to}: ${RENEW}`);
  }
  if (reason === 'CERT_NOT_YET_VALID' || Date.parse(cert.valid_from) > now) {
    return new ClientCertRefused(`${what} is not valid before ${cert.valid_from} (check the clocks)`);
  }
  if (!socket.authorized) {
    return new ClientCertRefused(`${what} is not issued by this server's CA (${reason ?? 'unverified'}): ${RENEW}`);
  }
  return undefined;
}

async function userOnRecord(store: Store, serial: string, userId: string, what: string): Promise<User | ClientCertRefused> {
  const revokedAt = await store.userCerts.revokedAt(serial);
  if (revokedAt) return new ClientCertRefused(`${what} has been revoked (at ${revokedAt}): ${RENEW}`);
  const user = await store.users.get(userId);
  // users.get also matches usernames: the id must be the id.
  if (!user || user.id !== userId) return new ClientCertRefused(`${what} was issued to a user who no longer exists`);
  const record = await store.userCerts.find(serial);
  // A certificate the store does not know cannot be listed or revoked, so it is not accepted either.
  if (!record || record.user_id !== user.id) return new ClientCertRefused(`${what} is not on record at this server (issued elsewhere?): ${RENEW}`);
  return user;
}

function subjectText(cert: PeerCertificate): string {
  const subject = (cert.subject ?? {}) as unknown as Record<string, string | string[]>;
  const parts = Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`);
  return parts.length ? `"${parts.join(', ')}"` : '(empty)';
}
