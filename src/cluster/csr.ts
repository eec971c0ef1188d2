// The agent's side of enrollment (SPEC A1): a fresh ECDSA P-256 key that never leaves
// the host, and a PKCS#10 request the server signs. The subject only documents what
// the agent calls itself; the server puts its own host id in the certificate.
import { ECDSA_SHA256, generateP256KeyPair, privateKeyToPem, x509 } from './pki/x509.ts';
import { BadRequest } from '../errors.ts';

export interface AgentKeyAndCsr {
  /** PKCS#8 PEM; the caller stores it 0600 as agent-key.pem. */
  keyPem: string;
  csrPem: string;
}

const CN_MAX = 64; // the X.520 upper bound of a common name

export async function generateAgentKeyAndCsr(hostName: string): Promise<AgentKeyAndCsr> {
  if (hostName.length === 0 || hostName.length > CN_MAX || /\p{Cc}/u.test(hostName)) {
    throw new BadRequest(`host name must be 1 to ${CN_MAX} printable characters`, 'hostName');
  }
  const keys = await generateP256KeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    // A JSON name, not "CN=" + hostName: a comma or '=' in the name cannot inject attributes.
    name: [{ CN: [hostName] }],
    keys,
    signingAlgorithm: ECDSA_SHA256,
  });
  return { keyPem: privateKeyToPem(keys.privateKey), csrPem: csr.toString('pem') + '\n' };
}
