// Enrollment tokens (SPEC S2). An operator pastes one string, FLT1-<CA fingerprint>-<secret>:
// the secret (32 random bytes) proves the agent may enroll, and the fingerprint lets the
// agent check it reached the right server before sending anything, instead of trusting
// whatever certificate answers first. The server stores only an HMAC of the secret.
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { InvalidToken, PkiFileCorrupt, UntrustedServer } from './pki/errors.ts';
import { isSignedBy, isValidAt, parseCertificate } from './pki/certs.ts';
import { createFileExclusive, ensurePrivateDir, readIfExists } from './pki/files.ts';

export { caFingerprintOfPem } from './pki/certs.ts';
export { InvalidToken, PkiFileCorrupt, UntrustedServer } from './pki/errors.ts';

export const TOKEN_PREFIX = 'FLT1';
const HEX64 = /^[0-9a-f]{64}$/;
const SHAPE = `${TOKEN_PREFIX}-<64 hex CA fingerprint>-<64 hex secret>`;
const TOKEN_LENGTH = TOKEN_PREFIX.length + 2 + 64 + 64;

export interface ParsedToken {
  caFingerprint: string;
  secret: string;
}

export function mintToken(caFingerprint: string): { token: string; secret: string } {
  const fingerprint = caFingerprint.toLowerCase();
  if (!HEX64.test(fingerprint)) throw new InvalidToken('CA fingerprint must be 64 hex characters (SHA-256)');
  const secret = crypto.randomBytes(32).toString('hex');
  return { token: `${TOKEN_PREFIX}-${fingerprint}-${secret}`, secret };
}

/** One 64-hex part of a token; the messages never echo the secret. */
function hexPart(value: string, what: string): string {
  if (value.length < 64) throw new InvalidToken(`token too short: expected 64 hex characters for the ${what}, got ${value.length}`);
  if (value.length > 64) throw new InvalidToken(`token too long: expected 64 hex characters for the ${what}, got ${value.length}`);
  const lower = value.toLowerCase();
  if (!HEX64.test(lower)) throw new InvalidToken(`token's ${what} is not hexadecimal (only 0-9 and a-f are allowed)`);
  return lower;
}

/** Parses a pasted token strictly; each kind of damage gets its own message. */
export function parseToken(token: string): ParsedToken {
  const text = token.trim(); // a trailing newline from copy and paste is not damage
  if (text === '') throw new InvalidToken(`token is empty: expected ${SHAPE}`);
  if (HEX64.test(text.toLowerCase())) {
    throw new InvalidToken(`this is a bare 64-hex secret; Flotilla tokens look like ${SHAPE}: copy the whole token`);
  }
  const parts = text.split('-');
  if (parts[0] !== TOKEN_PREFIX) {
    // Echo a short wrong prefix (it helps spot another product's token), never a long one: it may be a secret.
    const got = parts[0]!.length <= 8 ? `, got "${parts[0]}"` : '';
    throw new InvalidToken(`token must start with "${TOKEN_PREFIX}-"${got}: expected ${SHAPE}`);
  }
  if (parts.length < 3) {
    throw new InvalidToken(`token too short: expected ${SHAPE} (${TOKEN_LENGTH} characters), got ${text.length}`);
  }
  if (parts.length > 3) throw new InvalidToken(`token has ${parts.length} '-'-separated parts, expected 3: ${SHAPE}`);
  return { caFingerprint: hexPart(parts[1]!, 'CA fingerprint'), secret: hexPart(parts[2]!, 'secret') };
}

/**
 * HMAC-SHA256 of token secrets under a dedicated random key (never derived from the CA,
 * so a leaked CA certificate or database row does not let anyone test guesses offline).
 */
export class TokenHasher {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  /** Loads the 32-byte key from `file`, creating it (0600) on first use. */
  static async loadOrCreate(file: string): Promise<TokenHasher> {
    await ensurePrivateDir(path.dirname(file));
    const existing = await readIfExists(file);
    if (existing !== undefined) {
      if (existing.length !== 32) throw new PkiFileCorrupt(file, `${file} must hold exactly 32 bytes (the token HMAC key), found ${existing.length}`);
      return new TokenHasher(existing);
    }
    const key = crypto.randomBytes(32);
    if (await createFileExclusive(file, key, 0o600)) return new TokenHasher(key);
    return TokenHasher.loadOrCreate(file); // another process created it first: use theirs
  }

  /** Lowercase hex HMAC-SHA256 of the secret: what the store keeps. */
  digest(secret: string): string {
    return crypto.createHmac('sha256', this.#key).update(secret.toLowerCase(), 'utf8').digest('hex');
  }

  /** Constant-time comparison, so response timing does not reveal a digest prefix. */
  matches(secret: string, digest: string): boolean {
    const expected = Buffer.from(this.digest(secret), 'hex');
    const given = Buffer.from(HEX64.test(digest) ? digest : '', 'hex');
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  }
}

function untrusted(message: string): UntrustedServer {
  return new UntrustedServer(message);
}

/**
 * Checks the certificates a server presented during the TLS handshake (leaf first)
 * against the token's CA fingerprint. The handshake proved the server holds the leaf's
 * key; this proves the leaf was issued by the CA the operator's token names. Returns the
 * CA certificate for the agent to pin from then on. `serverName`, when given, must be
 * covered by the leaf's SANs (the address the agent dialled).
 */
export function verifyServerChain(
  peerChainPems: string[],
  expectedFingerprint: string,
  options: { serverName?: string; now?: Date } = {},
): { caPem: string } {
  const fingerprint = expectedFingerprint.toLowerCase();
  if (!HEX64.test(fingerprint)) throw new InvalidToken('CA fingerprint must be 64 hex characters (SHA-256)');
  if (peerChainPems.length === 0) throw untrusted('the server presented no certificate');
  const chain = peerChainPems.map((pem, i) => parseCertificate(pem, `server certificate #${i + 1}`));
  const ca = chain.find((cert) => crypto.createHash('sha256').update(cert.raw).digest('hex') === fingerprint);
  if (ca === undefined) {
    throw untrusted(`the server presented no certificate with fingerprint ${fingerprint}: this is not the Flotilla server that minted the token (or its CA was regenerated)`);
  }
  if (!ca.ca) throw untrusted('the certificate matching the token fingerprint is not a CA certificate');
  const leaf = chain[0]!;
  if (leaf === ca || leaf.ca) throw untrusted('the server presented a CA certificate as its own; expected a server certificate issued by the CA');
  if (!isSignedBy(leaf, ca)) throw untrusted('the server certificate is not signed by the CA the token names');
  const now = options.now ?? new Date();
  if (!isValidAt(leaf, now)) {
    throw untrusted(`the server certificate is not valid now (valid ${leaf.validFromDate.toISOString()} to ${leaf.validToDate.toISOString()}); check both clocks`);
  }
  if (options.serverName !== undefined && !coversName(leaf, options.serverName)) {
    throw untrusted(`the server certificate does not cover "${options.serverName}": add it to FLOTILLA_CLUSTER_ADVERTISE on the server`);
  }
  return { caPem: ca.toString() };
}

function coversName(leaf: crypto.X509Certificate, name: string): boolean {
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (net.isIP(bare) !== 0) return leaf.checkIP(bare) !== undefined;
  return leaf.checkHost(bare, { subject: 'never' }) !== undefined;
}
