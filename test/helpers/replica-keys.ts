// What server replicas share besides the database: the key that seals secrets,
// the built-in CA and the enrollment-token key (README, "Replicas").
import fs from 'node:fs';
import path from 'node:path';

export const SHARED_KEY_FILES = ['secret.key', 'cluster/ca.pem', 'cluster/ca-key.pem', 'cluster/hmac-key.bin'];

/** Copies them from one replica's data directory into another's (mode 0600). */
export function copyReplicaKeys(fromDataDir: string, toDataDir: string): void {
  for (const f of SHARED_KEY_FILES) {
    fs.mkdirSync(path.dirname(path.join(toDataDir, f)), { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(fromDataDir, f), path.join(toDataDir, f));
    fs.chmodSync(path.join(toDataDir, f), 0o600);
  }
}
