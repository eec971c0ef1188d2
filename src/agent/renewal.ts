// Certificate renewal (SPEC A7): when 2/3 of the certificate's lifetime has
// passed (FLOTILLA_RENEW_AT), make a new key and CSR and send it on the
// channel; the answer replaces key and certificate together on disk and the
// agent reconnects with them.
import crypto from 'node:crypto';
import { generateAgentKeyAndCsr } from '../cluster/csr.ts';
import { saveRenewed } from './identity.ts';
import type { AgentRunner } from './runner.ts';

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Renewal {
  private readonly agent: AgentRunner;
  private timer: NodeJS.Timeout | undefined;
  private pendingKeyPem: string | undefined;

  constructor(agent: AgentRunner) {
    this.agent = agent;
  }

  /** When renewal is due for the current certificate. */
  dueAt(): number {
    const cert = new crypto.X509Certificate(this.agent.identity.certPem);
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    return from + (to - from) * this.agent.config.renewAt;
  }

  schedule(): void {
    clearTimeout(this.timer);
    const wait = Math.max(0, this.dueAt() - Date.now());
    this.timer = setTimeout(() => void this.request(), Math.min(wait, MAX_TIMER_MS));
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private async request(): Promise<void> {
    if (Date.now() < this.dueAt()) return this.schedule(); // a long wait was cut to the timer's maximum
    const { keyPem, csrPem } = await generateAgentKeyAndCsr(this.agent.config.hostName);
    this.pendingKeyPem = keyPem;
    this.agent.log.info({ due_at: new Date(this.dueAt()).toISOString() }, 'renewing the agent certificate');
    this.agent.send({ body: { $case: 'renew', value: { csrPem } } });
  }

  async onRenewed(certPem: string, error: string): Promise<void> {
    const keyPem = this.pendingKeyPem;
    this.pendingKeyPem = undefined;
    if (error || !certPem || !keyPem) {
      this.agent.log.error({ err: error || 'empty answer' }, 'certificate renewal failed; retrying in an hour');
      this.timer = setTimeout(() => void this.request(), 3_600_000);
      this.timer.unref();
      return;
    }
    await saveRenewed(this.agent.config.clusterDir, certPem, keyPem);
    this.agent.log.info({ not_after: new crypto.X509Certificate(certPem).validTo }, 'agent certificate renewed');
    await this.agent.reloadIdentity();
  }
}
