// Test PKI made with openssl: a CA, a server certificate and client certificates.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pki {
  dir: string;
  ca: string;
  caKey: string;
  issue(cn: string, opts?: { server?: boolean; san?: string }): { cert: string; key: string };
  cleanup(): void;
}

export function makePki(name: string): Pki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pki-${name}-`));
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', `/CN=${name} test CA`);
  let n = 0;
  return {
    dir,
    ca: fs.readFileSync(f('ca.pem'), 'utf8'),
    caKey: fs.readFileSync(f('ca.key'), 'utf8'),
    issue(cn, opts = {}) {
      const base = f(`leaf${++n}`);
      ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`);
      const ext = opts.server
        ? `subjectAltName=${opts.san ?? 'IP:127.0.0.1,DNS:localhost'}\nextendedKeyUsage=serverAuth\n`
        : 'extendedKeyUsage=clientAuth\n';
      fs.writeFileSync(`${base}.ext`, ext);
      ssl('x509', '-req', '-in', `${base}.csr`, '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', `${base}.pem`, '-days', '1', '-extfile', `${base}.ext`);
      return { cert: fs.readFileSync(`${base}.pem`, 'utf8'), key: fs.readFileSync(`${base}.key`, 'utf8') };
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
