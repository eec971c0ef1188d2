// The built-in certificate authority (SPEC S1): one ECDSA P-256 CA per server, kept as
// ca.pem / ca-key.pem in the cluster directory. It issues the server's TLS certificate
// and signs agents' and users' CSRs. Pure: no database; the caller records serials and revocations.
import crypto from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { BadRequest } from '../errors.ts';
import { InvalidCsr, PkiFileCorrupt } from './pki/errors.ts';
import { caFingerprintOfPem, describeKey, isP256, isSignedBy, isValidAt, normalizeSerial, parseCertificate } from './pki/certs.ts';
import { createFileExclusive, ensurePrivateDir, readIfExists } from './pki/files.ts';
import { ECDSA_SHA256, P256_ECDSA, generateP256KeyPair, privateKeyToPem, randomSerial, x509 } from './pki/x509.ts';
import type { ServerSans } from './server-sans.ts';

export { InvalidCertificate, InvalidCsr, PkiFileCorrupt } from './pki/errors.ts';

export interface IssuedCert {
  certPem: string;
  /** Lowercase hex, no leading zeros: the form revocation lists store. */
  serial: string;
  notAfter: Date;
}

export interface IssuedServerCert extends IssuedCert {
  keyPem: string;
}

export interface ClusterCa {
  readonly certPem: string;
  /** SHA-256 of the CA certificate's DER, lowercase hex: what enrollment tokens carry. */
  readonly fingerprint: string;
  issueServerCert(options: { sans: ServerSans }): Promise<IssuedServerCert>;
  signAgentCsr(csrPem: string, options: { hostId: string }): Promise<IssuedCert>;
  /** A client certificate for a person (SPEC S13): CN `user:<id>`, O `flotilla-users`. */
  signUserCsr(csrPem: string, options: { userId: string }): Promise<IssuedCert>;
  verifyIssued(certPem: string): boolean;
  serialOf(certPem: string): string;
  notAfterOf(certPem: string): Date;
}

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
const CA_YEARS = 10;
const LEAF_YEARS = 1;
// Issued certificates start a few minutes in the past so that a peer whose clock is
// slightly behind does not reject a certificate made a moment ago.
const BACKDATE_MS = 5 * 60_000;
const HOST_ID_MAX = 64; // the X.520 upper bound of a common name
/** User certificates say who they are twice, so none is ever read as an agent's (whose CN is a host id). */
export const USER_CN_PREFIX = 'user:';
export const USER_CERT_ORGANIZATION = 'flotilla-users';

/** Certificate times have whole seconds; working in seconds keeps notAfter exact. */
function validity(years: number, now = new Date()): { notBefore: Date; notAfter: Date } {
  const start = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = new Date(start);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years);
  return { notBefore: new Date(start.getTime() - BACKDATE_MS), notAfter };
}

export function serialOf(certPem: string): string {
  return normalizeSerial(parseCertificate(certPem).serialNumber);
}

export function notAfterOf(certPem: string): Date {
  return parseCertificate(certPem).validToDate;
}

/** Loads the CA from `dir`, creating it on first use. Never overwrites an existing key. */
export async function loadOrCreateCa(dir: string): Promise<ClusterCa> {
  await ensurePrivateDir(dir);
  const certFile = path.join(dir, CA_CERT_FILE);
  const keyFile = path.join(dir, CA_KEY_FILE);
  const [cert, key] = await Promise.all([readIfExists(certFile), readIfExists(keyFile)]);
  if (cert === undefined && key === undefined) {
    const created = await createCa(certFile, keyFile);
    if (created) return created;
    // Another process created the key between our read and our write: use theirs.
    return loadOrCreateCa(dir);
  }
  const regenerate = `remove both ${CA_CERT_FILE} and ${CA_KEY_FILE} to create a new CA (every agent must then re-enroll)`;
  if (key === undefined) throw new PkiFileCorrupt(keyFile, `${keyFile} is missing while ${certFile} exists: restore it, or ${regenerate}`);
  if (cert === undefined) throw new PkiFileCorrupt(certFile, `${certFile} is missing while ${keyFile} exists: restore it, or ${regenerate}`);
  return openCa(cert.toString('utf8'), certFile, key.toString('utf8'), keyFile);
}

async function createCa(certFile: string, keyFile: string): Promise<ClusterCa | undefined> {
  const keys = await generateP256KeyPair();
  const shortId = crypto.randomBytes(4).toString('hex'); // tells one server's CA from a regenerated one
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`Flotilla Cluster CA ${shortId}`] }, { O: ['Flotilla'] }],
    ...validity(CA_YEARS),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      // pathLength 0: this CA signs leaf certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const keyPem = privateKeyToPem(keys.privateKey);
  const certPem = cert.toString('pem') + '\n';
  // The key is the commit point: whoever links it first owns the CA.
  if (!(await createFileExclusive(keyFile, keyPem, 0o600))) return undefined;
  if (!(await createFileExclusive(certFile, certPem, 0o644))) {
    throw new PkiFileCorrupt(certFile, `${certFile} appeared while a new CA was being created; remove both files and restart`);
  }
  return openCa(certPem, certFile, keyPem, keyFile);
}

function openCa(certPem: string, certFile: string, keyPem: string, keyFile: string): ClusterCa {
  let cert: crypto.X509Certificate;
  let key: crypto.KeyObject;
  try {
    cert = parseCertificate(certPem, certFile);
  } catch (err) {
    throw new PkiFileCorrupt(certFile, `${certFile} is not a readable certificate: ${(err as Error).message}`, { cause: err });
  }
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch (err) {
    throw new PkiFileCorrupt(keyFile, `${keyFile} is not a readable private key: ${(err as Error).message}`, { cause: err });
  }
  if (!isP256(key)) throw new PkiFileCorrupt(keyFile, `${keyFile} must hold an ECDSA P-256 key, got ${describeKey(key)}`);
  if (!cert.ca) throw new PkiFileCorrupt(certFile, `${certFile} is not a CA certificate (basicConstraints CA:FALSE or missing)`);
  if (!cert.checkPrivateKey(key)) {
    throw new PkiFileCorrupt(keyFile, `${keyFile} does not belong to ${certFile} (the key and certificate do not match)`);
  }
  const signingKey = key.toCryptoKey(P256_ECDSA, false, ['sign']);
  return new BuiltInCa(cert, signingKey);
}

/** Leaf certificate contents that differ between server and agent certificates. */
interface LeafRequest {
  subject: x509.JsonName;
  publicKey: x509.PublicKey | webcrypto.CryptoKey;
  usages: string[];
  sans?: x509.JsonGeneralNames;
}

class BuiltInCa implements ClusterCa {
  readonly certPem: string;
  readonly fingerprint: string;
  readonly #cert: crypto.X509Certificate;
  readonly #issuer: x509.X509Certificate;
  readonly #signingKey: webcrypto.CryptoKey;

  constructor(cert: crypto.X509Certificate, signingKey: webcrypto.CryptoKey) {
    this.#cert = cert;
    this.#issuer = new x509.X509Certificate(cert.raw);
    this.#signingKey = signingKey;
    this.certPem = cert.toString();
    this.fingerprint = caFingerprintOfPem(this.certPem);
  }

  async issueServerCert({ sans }: { sans: ServerSans }): Promise<IssuedServerCert> {
    const invalidIp = sans.ips.find((ip) => net.isIP(ip) === 0 || ip.includes('%'));
    if (invalidIp !== undefined) throw new BadRequest(`server certificate SAN ${JSON.stringify(invalidIp)} is not an IP address`, 'sans');
    if (sans.dns.length + sans.ips.length === 0) throw new BadRequest('a server certificate needs at least one SAN', 'sans');
    const keys = await generateP256KeyPair();
    const issued = await this.#issue({
      subject: [{ CN: ['Flotilla server'] }],
      publicKey: keys.publicKey,
      // serverAuth + clientAuth as in the reference's mTLS table: the same certificate can
      // authenticate the server when it is the client (e.g. to another replica).
      usages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      sans: [...sans.dns.map((value) => ({ type: 'dns' as const, value })), ...sans.ips.map((value) => ({ type: 'ip' as const, value }))],
    });
    return { ...issued, keyPem: privateKeyToPem(keys.privateKey) };
  }

  /** Signs an agent's CSR. The identity (CN) is the server's choice; the CSR's subject is ignored. */
  async signAgentCsr(csrPem: string, { hostId }: { hostId: string }): Promise<IssuedCert> {
    if (hostId.length === 0 || hostId.length > HOST_ID_MAX || /\p{Cc}/u.test(hostId)) {
      throw new BadRequest(`hostId must be 1 to ${HOST_ID_MAX} printable characters`, 'hostId');
    }
    const csr = await checkedCsr(csrPem);
    return this.#issue({ subject: [{ CN: [hostId] }], publicKey: csr.publicKey, usages: [x509.ExtendedKeyUsage.clientAuth] });
  }

  /** Signs a user's CSR for the Docker endpoint; like agents, the CSR's subject is ignored. */
  async signUserCsr(csrPem: string, { userId }: { userId: string }): Promise<IssuedCert> {
    const max = HOST_ID_MAX - USER_CN_PREFIX.length;
    if (userId.length === 0 || userId.length > max || /\p{Cc}/u.test(userId)) {
      throw new BadRequest(`userId must be 1 to ${max} printable characters`, 'userId');
    }
    const csr = await checkedCsr(csrPem);
    const subject: x509.JsonName = [{ CN: [`${USER_CN_PREFIX}${userId}`] }, { O: [USER_CERT_ORGANIZATION] }];
    return this.#issue({ subject, publicKey: csr.publicKey, usages: [x509.ExtendedKeyUsage.clientAuth] });
  }

  verifyIssued(certPem: string, now = new Date()): boolean {
    let cert: crypto.X509Certificate;
    try {
      cert = parseCertificate(certPem);
    } catch {
      return false; // a question, not a command: unreadable text was not issued by us
    }
    return isSignedBy(cert, this.#cert) && isValidAt(cert, now);
  }

  serialOf(certPem: string): string {
    return serialOf(certPem);
  }

  notAfterOf(certPem: string): Date {
    return notAfterOf(certPem);
  }

  async #issue(request: LeafRequest): Promise<IssuedCert> {
    const authorityKeyId = this.#issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(request.usages, false),
      await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
      // Lets verifiers (openssl, Go, Node) pick the issuing key without guessing.
      authorityKeyId ? new x509.AuthorityKeyIdentifierExtension(authorityKeyId) : await x509.AuthorityKeyIdentifierExtension.create(this.#issuer.publicKey),
    ];
    if (request.sans) extensions.push(new x509.SubjectAlternativeNameExtension(request.sans, false));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: request.subject,
      issuer: this.#issuer.subjectName,
      ...validity(LEAF_YEARS),
      publicKey: request.publicKey,
      signingKey: this.#signingKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions,
    });
    const certPem = cert.toString('pem') + '\n';
    return { certPem, serial: normalizeSerial(cert.serialNumber), notAfter: cert.notAfter };
  }
}

/** Parses a PEM CSR and checks its key (EC P-256 only) and its self-signature. */
async function checkedCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof csrPem !== 'string' || !/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(csrPem)) {
    throw new InvalidCsr('CSR is not PEM (expected a "BEGIN CERTIFICATE REQUEST" block)');
  }
  let csr: x509.Pkcs10CertificateRequest;
  let key: crypto.KeyObject;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
    key = crypto.createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (err) {
    throw new InvalidCsr(`CSR is malformed: ${(err as Error).message}`);
  }
  if (!isP256(key)) throw new InvalidCsr(`CSR key must be ECDSA P-256, got ${describeKey(key)}`);
  let verified = false;
  try {
    verified = await csr.verify();
  } catch {
    verified = false; // e.g. a signature that is not even a well-formed ECDSA value
  }
  if (!verified) throw new InvalidCsr('CSR signature does not verify');
  return csr;
}
