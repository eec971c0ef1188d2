// @peculiar/x509 made ready for Node: reflect-metadata (which its tsyringe needs) is loaded
// first (import order matters), and it signs with Node's WebCrypto.
import 'reflect-metadata';
import crypto from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

/** Every key in the cluster is ECDSA P-256 (SPEC S1) and signs with SHA-256. */
export const P256_ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A new P-256 key pair; extractable because its private half is saved as PEM. */
export async function generateP256KeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return globalThis.crypto.subtle.generateKey(P256_ECDSA, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;
}

/** PKCS#8 PEM ("BEGIN PRIVATE KEY"), the form openssl, Node's tls and Go all read. */
export function privateKeyToPem(key: webcrypto.CryptoKey): string {
  return crypto.KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Lowercase hex of 16 random bytes; the library keeps the INTEGER positive. */
export function randomSerial(): string {
  return crypto.randomBytes(16).toString('hex');
}
