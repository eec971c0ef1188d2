// Who may speak on the replica endpoint: a peer presents the server certificate
// its own replica was issued by the shared built-in CA (CN "Flotilla server",
// extended key usage serverAuth + clientAuth). Agents' and users' certificates
// come from the same CA but carry clientAuth only and another CN, so they are
// refused here even though they chain to the CA.
import type { X509Certificate } from 'node:crypto';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const PEER_CN = 'Flotilla server';

/** Undefined when `cert` is a replica's; else why not. */
export function notAReplica(cert: X509Certificate | undefined): string | undefined {
  if (!cert) return 'no certificate';
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  if (cn !== PEER_CN) return `certificate CN "${cn ?? ''}" is not a replica's`;
  if (!(cert.keyUsage ?? []).includes(SERVER_AUTH)) return 'certificate is not a server certificate';
  return undefined;
}
