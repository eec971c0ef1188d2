// Small certificate helpers shared by the CA, the server-certificate keeper and the
// enrollment checks. Parsing is Node's own X509Certificate; nothing here reads ASN.1.
import crypto from 'node:crypto';
import { InvalidCertificate } from './errors.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** Every PEM certificate block in `text`, in order (a chain file holds several). */
export function splitPemCertificates(text: string): string[] {
  return [...text.matchAll(PEM_CERTIFICATE)].map((m) => `${m[0]}\n`);
}

/** Parses the first certificate of `pem`; `what` names it in the error. */
export function parseCertificate(pem: string, what = 'certificate'): crypto.X509Certificate {
  const first = splitPemCertificates(pem)[0];
  if (first === undefined) throw new InvalidCertificate(`${what} is not a PEM certificate (no BEGIN CERTIFICATE block)`);
  try {
    return new crypto.X509Certificate(first);
  } catch (err) {
    throw new InvalidCertificate(`${what} cannot be parsed: ${(err as Error).message}`);
  }
}

/** SHA-256 of the certificate's DER encoding, lowercase hex (64 characters). */
export function caFingerprintOfPem(pem: string): string {
  return crypto.createHash('sha256').update(parseCertificate(pem).raw).digest('hex');
}

/** Whether `now` lies inside the certificate's validity period. */
export function isValidAt(cert: crypto.X509Certificate, now: Date): boolean {
  return cert.validFromDate.getTime() <= now.getTime() && now.getTime() <= cert.validToDate.getTime();
}

/** Whether `cert` names `issuer` as its issuer and carries a signature by `issuer`'s key. */
export function isSignedBy(cert: crypto.X509Certificate, issuer: crypto.X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** Serial numbers are compared and stored as lowercase hex without leading zeros. */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

const CURVE_NAMES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** "EC P-256", "RSA 2048", "ED25519": for messages that say what key was found. */
export function describeKey(key: crypto.KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  const type = (key.asymmetricKeyType ?? 'unknown').toUpperCase();
  if (details.namedCurve) return `${type} ${CURVE_NAMES[details.namedCurve] ?? details.namedCurve}`;
  if (details.modulusLength) return `${type} ${details.modulusLength}`;
  return type;
}

export function isP256(key: crypto.KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}
