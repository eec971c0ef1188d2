// The agent's identity on disk (SPEC A1): ca.pem, agent.pem, agent-key.pem
// (0600) and host-id in the cluster directory. After enrollment these are all
// the agent needs; the token is never stored.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { readIfExists, writeFileAtomic } from './files.ts';

export interface AgentIdentity {
  hostId: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const FILES = { ca: 'ca.pem', cert: 'agent.pem', key: 'agent-key.pem', hostId: 'host-id' } as const;

export async function loadIdentity(dir: string): Promise<AgentIdentity | undefined> {
  await finishRenewal(dir);
  const [ca, cert, key, hostId] = await Promise.all(Object.values(FILES).map((f) => readIfExists(path.join(dir, f))));
  if (!ca && !cert && !key && !hostId) return undefined;
  if (!ca || !cert || !key || !hostId) {
    throw new Error(`incomplete agent identity in ${dir}: expected ${Object.values(FILES).join(', ')}; delete the directory and enroll again`);
  }
  return { hostId: hostId.trim(), caPem: ca, certPem: cert, keyPem: key };
}

/** Key first, host id last: a crash part-way leaves an identity that loadIdentity reports as incomplete. */
export async function saveIdentity(dir: string, id: AgentIdentity): Promise<void> {
  await writeFileAtomic(path.join(dir, FILES.key), id.keyPem, 0o600);
  await writeFileAtomic(path.join(dir, FILES.cert), id.certPem, 0o600);
  await writeFileAtomic(path.join(dir, FILES.ca), id.caPem, 0o644);
  await writeFileAtomic(path.join(dir, FILES.hostId), id.hostId + '\n', 0o644);
}

function keyMatchesCert(keyPem: string, certPem: string): boolean {
  const fromKey = crypto.createPublicKey(crypto.createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const fromCert = new crypto.X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}

/**
 * A renewal replaces key and certificate together: both are written as .new
 * files first, then renamed key before certificate. A crash between the renames
 * leaves the new key beside the old certificate; the next load finishes the job.
 */
export async function saveRenewed(dir: string, certPem: string, keyPem: string): Promise<void> {
  if (!keyMatchesCert(keyPem, certPem)) throw new Error('renewed certificate does not match the new key');
  await writeFileAtomic(path.join(dir, `${FILES.cert}.new`), certPem, 0o600);
  await writeFileAtomic(path.join(dir, `${FILES.key}.new`), keyPem, 0o600);
  await fs.rename(path.join(dir, `${FILES.key}.new`), path.join(dir, FILES.key));
  await fs.rename(path.join(dir, `${FILES.cert}.new`), path.join(dir, FILES.cert));
}

async function finishRenewal(dir: string): Promise<void> {
  const pendingCert = await readIfExists(path.join(dir, `${FILES.cert}.new`));
  if (!pendingCert) return;
  const pendingKey = await readIfExists(path.join(dir, `${FILES.key}.new`));
  if (pendingKey && keyMatchesCert(pendingKey, pendingCert)) {
    await fs.rename(path.join(dir, `${FILES.key}.new`), path.join(dir, FILES.key));
  }
  const key = await readIfExists(path.join(dir, FILES.key));
  if (key && keyMatchesCert(key, pendingCert)) await fs.rename(path.join(dir, `${FILES.cert}.new`), path.join(dir, FILES.cert));
  else await fs.rm(path.join(dir, `${FILES.cert}.new`), { force: true }); // the crash came before the key moved: keep the old pair
}
