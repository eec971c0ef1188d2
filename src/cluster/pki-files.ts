// Keeps the server's TLS certificate (server.pem, server-key.pem) in the cluster
// directory current: reissued when missing, close to expiry, issued by another CA,
// or not covering the addresses agents are told to dial.
import crypto from 'node:crypto';
import path from 'node:path';
import type { ClusterCa } from './ca.ts';
import { parseCertificate, splitPemCertificates } from './pki/certs.ts';
import { ensurePrivateDir, readIfExists, writeFileAtomic } from './pki/files.ts';
import { x509 } from './pki/x509.ts';
import { normalizeIp, type ServerSans } from './server-sans.ts';

export const SERVER_CERT_FILE = 'server.pem';
export const SERVER_KEY_FILE = 'server-key.pem';
/** Renew this long before expiry, so a server that restarts rarely still never serves an expired certificate. */
export const RENEW_BEFORE_MS = 30 * 24 * 3600_000;

export interface ServerTls {
  /** The leaf followed by the CA certificate, so a client can see (and pin) the CA. */
  certPem: string;
  keyPem: string;
  reissued: boolean;
  /** Why it was reissued ("missing", "SANs missing: …"), for the log line; undefined when kept. */
  reason?: string;
}

/** Returns the server certificate and key from `dir`, reissuing them when needed. */
export async function ensureServerCert(dir: string, ca: ClusterCa, sans: ServerSans): Promise<ServerTls> {
  await ensurePrivateDir(dir);
  const certFile = path.join(dir, SERVER_CERT_FILE);
  const keyFile = path.join(dir, SERVER_KEY_FILE);
  const [cert, key] = await Promise.all([readIfExists(certFile), readIfExists(keyFile)]);
  const certPem = cert?.toString('utf8');
  const keyPem = key?.toString('utf8');
  const reason = certPem === undefined || keyPem === undefined ? 'missing' : staleReason(certPem, keyPem, ca, sans);
  if (reason === undefined) {
    return { certPem: withChain(splitPemCertificates(certPem!)[0]!, ca), keyPem: keyPem!, reissued: false };
  }
  const issued = await ca.issueServerCert({ sans });
  const chainPem = withChain(issued.certPem, ca);
  // Key first: a crash between the two writes leaves a pair that does not match,
  // which the next start detects and reissues.
  await writeFileAtomic(keyFile, issued.keyPem, 0o600);
  await writeFileAtomic(certFile, chainPem, 0o644);
  return { certPem: chainPem, keyPem: issued.keyPem, reissued: true, reason };
}

function withChain(leafPem: string, ca: ClusterCa): string {
  return `${leafPem.trimEnd()}\n${ca.certPem.trimEnd()}\n`;
}

/** Why the stored certificate cannot be kept, or undefined when it can. */
function staleReason(certPem: string, keyPem: string, ca: ClusterCa, wanted: ServerSans, now = new Date()): string | undefined {
  let leaf: crypto.X509Certificate;
  let key: crypto.KeyObject;
  try {
    leaf = parseCertificate(certPem, SERVER_CERT_FILE);
    key = crypto.createPrivateKey(keyPem);
  } catch {
    return 'unreadable';
  }
  if (!leaf.checkPrivateKey(key)) return 'key does not match certificate';
  if (!ca.verifyIssued(leaf.toString())) return 'not issued by the current CA, or not valid now';
  if (leaf.validToDate.getTime() - now.getTime() < RENEW_BEFORE_MS) return 'expires within 30 days';
  const missing = missingSans(leaf, wanted);
  if (missing.length > 0) return `SANs missing: ${missing.join(', ')}`;
  return undefined;
}

/** The wanted SANs the certificate does not carry. Extra SANs are harmless and kept. */
function missingSans(leaf: crypto.X509Certificate, wanted: ServerSans): string[] {
  const names = new x509.X509Certificate(leaf.raw).getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const haveDns = new Set(names.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()));
  const haveIps = new Set(names.filter((n) => n.type === 'ip').map((n) => normalizeIp(n.value) ?? n.value));
  return [
    ...wanted.dns.filter((name) => !haveDns.has(name.toLowerCase())),
    ...wanted.ips.filter((ip) => !haveIps.has(normalizeIp(ip) ?? ip)),
  ];
}
