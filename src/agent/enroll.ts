// Enrollment, agent side (SPEC A1, S2): verify the server against the CA
// fingerprint in the token (no trust-on-first-use), make a key and CSR, call
// Enroll over TLS pinned to that CA, and persist the identity.
import tls from 'node:tls';
import net from 'node:net';
import type { Logger } from '../log.ts';
import { parseToken, verifyServerChain } from '../cluster/enroll-token.ts';
import { generateAgentKeyAndCsr } from '../cluster/csr.ts';
import { Metadata } from '@grpc/grpc-js';
import type { EnrollResponse } from '../proto/generated/flotilla.ts';
import { enrollmentClient } from './grpc-client.ts';
import { saveIdentity, type AgentIdentity } from './identity.ts';
import { VERSION } from '../version.ts';

export const AGENT_VERSION = VERSION;
const ENROLL_DEADLINE_MS = 15_000;

export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

/** The certificates the server presents, leaf first, read without trusting them yet. */
export function fetchServerChain(addr: string, timeoutMs = 10_000): Promise<string[]> {
  const { host, port } = splitAddr(addr);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host, port, rejectUnauthorized: false, minVersion: 'TLSv1.3', ALPNProtocols: ['h2'],
      servername: net.isIP(host) ? undefined : host,
    }, () => {
      const pems: string[] = [];
      let cert = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        pems.push(`-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`);
        cert = cert.issuerCertificate;
      }
      socket.end();
      resolve(pems);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS answer from ${addr} within ${timeoutMs} ms`)));
    socket.on('error', (err) => reject(new Error(`cannot reach the Flotilla server at ${addr}: ${err.message}`)));
  });
}

export async function enroll(opts: { serverAddr: string; token: string; hostName: string; clusterDir: string; log: Logger }): Promise<AgentIdentity> {
  const { caFingerprint, secret } = parseToken(opts.token);
  const chain = await fetchServerChain(opts.serverAddr);
  const { caPem } = verifyServerChain(chain, caFingerprint, { serverName: splitAddr(opts.serverAddr).host });
  opts.log.info({ server: opts.serverAddr, ca_fingerprint: caFingerprint }, 'server verified against the token\'s CA fingerprint');
  const { keyPem, csrPem } = await generateAgentKeyAndCsr(opts.hostName);
  const client = enrollmentClient(opts.serverAddr, caPem);
  try {
    const res = await new Promise<EnrollResponse>((resolve, reject) => {
      client.enroll({ tokenSecret: secret, csrPem, hostName: opts.hostName, agentVersion: AGENT_VERSION },
        new Metadata(), { deadline: Date.now() + ENROLL_DEADLINE_MS }, (err, value) => (err ? reject(new Error(`enrollment refused: ${err.details || err.message}`)) : resolve(value!)));
    });
    if (res.caPem.trim() !== caPem.trim()) throw new Error('the server answered with a different CA than the one it presented');
    const identity: AgentIdentity = { hostId: res.hostId, caPem: res.caPem, certPem: res.certPem, keyPem };
    await saveIdentity(opts.clusterDir, identity);
    opts.log.info({ host_id: res.hostId, dir: opts.clusterDir }, 'enrolled');
    return identity;
  } finally {
    client.close();
  }
}
