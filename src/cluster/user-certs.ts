// Client certificates for people (SPEC S13): issued by the built-in CA so the
// docker CLI can use the fleet endpoint as a `docker context`. The subject is
// CN `user:<id>`, O `flotilla-users`: never mistakable for an agent's (CN = host id).
import type { PeerCertificate } from 'node:tls';
import { USER_CERT_ORGANIZATION, USER_CN_PREFIX, loadOrCreateCa, type ClusterCa, type IssuedCert } from './ca.ts';

export { USER_CERT_ORGANIZATION, USER_CN_PREFIX };

/** Signs `csrPem` (ECDSA P-256 only) for `user`, for one year, with EKU clientAuth. */
export async function signUserCsr(ca: ClusterCa | string, csrPem: string, user: { id: string; username: string }): Promise<IssuedCert> {
  // A directory is the cluster directory holding ca.pem / ca-key.pem.
  const authority = typeof ca === 'string' ? await loadOrCreateCa(ca) : ca;
  return authority.signUserCsr(csrPem, { userId: user.id });
}

/** The first value of a subject attribute (Node gives an array when it repeats). */
function subjectField(cert: Pick<PeerCertificate, 'subject'>, key: 'CN' | 'O'): string | undefined {
  const value = (cert.subject as Record<string, string | string[] | undefined> | undefined)?.[key];
  return Array.isArray(value) ? value[0] : value;
}

/** Whether a presented certificate claims to be a user's, by either attribute: agents must refuse it. */
export function claimsUser(cert: Pick<PeerCertificate, 'subject'>): boolean {
  return (subjectField(cert, 'CN')?.startsWith(USER_CN_PREFIX) ?? false) || subjectField(cert, 'O') === USER_CERT_ORGANIZATION;
}

/** The user id of a Flotilla user certificate; undefined when the subject is not exactly that shape. */
export function userIdOfCert(cert: Pick<PeerCertificate, 'subject'>): string | undefined {
  const cn = subjectField(cert, 'CN');
  if (!cn?.startsWith(USER_CN_PREFIX) || subjectField(cert, 'O') !== USER_CERT_ORGANIZATION) return undefined;
  const id = cn.slice(USER_CN_PREFIX.length);
  return id === '' ? undefined : id;
}
