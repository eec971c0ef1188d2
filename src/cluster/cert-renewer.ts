// Certificate renewal over the channel (SPEC A7): the agent sends a CSR for a
// new key before its certificate expires; the server signs it for the same
// host and records the new serial. The old certificate stays valid until it
// expires, so an agent that loses the answer can still reconnect and retry.
import type { CertRenewalResponse } from '../proto/generated/flotilla.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { ClusterCa } from './ca.ts';
import { normalizeSerial } from './pki/certs.ts';

export class CertRenewer {
  private readonly store: Store;
  private readonly ca: ClusterCa;
  private readonly log: Logger;

  constructor(store: Store, ca: ClusterCa, log: Logger) {
    this.store = store;
    this.ca = ca;
    this.log = log;
  }

  async renew(host: HostRow, csrPem: string): Promise<CertRenewalResponse> {
    try {
      const issued = await this.ca.signAgentCsr(csrPem, { hostId: host.id });
      const serial = normalizeSerial(issued.serial);
      await this.store.hosts.update(host.id, { cert_serial: serial, cert_not_after: issued.notAfter.toISOString() });
      this.log.info({ host: host.name, serial, not_after: issued.notAfter.toISOString() }, 'agent certificate renewed');
      return { certPem: issued.certPem, error: '' };
    } catch (err) {
      this.log.warn({ host: host.name, err: (err as Error).message }, 'agent certificate renewal refused');
      return { certPem: '', error: (err as Error).message };
    }
  }
}
