// Detects a server whose CA was regenerated (SPEC A7): the agent's pinned CA no
// longer verifies the server. Logged once per agent lifetime, with the fix.
import { caFingerprintOfPem } from '../cluster/enroll-token.ts';
import type { Logger } from '../log.ts';
import { fetchServerChain } from './enroll.ts';

export class CaMismatchCheck {
  private reported = false;

  /** Call when a connection failed; looks at the server's chain only if the failure smells of TLS. */
  async check(failure: string, serverAddr: string, pinnedCaPem: string, dataDir: string, log: Logger): Promise<boolean> {
    if (this.reported || !/certificate|self.signed|unable to verify|CERT_|handshake/i.test(failure)) return false;
    let chain: string[];
    try {
      chain = await fetchServerChain(serverAddr, 5000);
    } catch {
      return false; // cannot tell now; a later failure will look again
    }
    const pinned = caFingerprintOfPem(pinnedCaPem);
    if (chain.some((pem) => caFingerprintOfPem(pem) === pinned)) return false;
    this.reported = true;
    log.error({
      pinned_ca: pinned, data_dir: dataDir,
      fix: `stop the agent, delete ${dataDir}, create a new enrollment token on the server and start the agent with FLOTILLA_ENROLL_TOKEN set to it`,
    }, 'server CA mismatch -- the server\'s TLS certificate has changed since this agent enrolled');
    return true;
  }
}
