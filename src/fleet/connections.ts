// One DockerClient per registered host, built from its record on first use and
// kept (pooled keep-alive connections) until the host changes or is removed.
import { createDuplexTransport, createTransport } from '../transports/index.ts';
import { HostUnreachable } from '../errors.ts';
import type { AgentLink } from './agent-link.ts';
import { DockerClient } from '../docker/client.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { SecretBox } from '../store/secret-box.ts';
import type { TlsMaterial } from '../transports/types.ts';

interface Entry {
  endpoint: string;
  tls: string | null;
  client: DockerClient;
}

export class Connections {
  private readonly clients = new Map<string, Entry>();
  private readonly secrets: SecretBox;
  /** Set when the agent endpoint is up; agent hosts are reached through it. */
  agents: AgentLink | undefined;

  constructor(secrets: SecretBox) {
    this.secrets = secrets;
  }

  clientFor(host: HostRow): DockerClient {
    const cur = this.clients.get(host.id);
    if (cur && cur.endpoint === host.endpoint && cur.tls === host.tls_sealed) return cur.client;
    if (cur) void cur.client.close().catch(() => undefined);
    const client = new DockerClient(host.kind === 'agent' ? this.agentTransport(host) : this.directTransport(host));
    this.clients.set(host.id, { endpoint: host.endpoint, tls: host.tls_sealed, client });
    return client;
  }

  private directTransport(host: HostRow) {
    const tls = host.tls_sealed ? (JSON.parse(this.secrets.open(host.tls_sealed)) as TlsMaterial) : undefined;
    return createTransport({ url: host.endpoint, label: host.name, tls });
  }

  /** Every pooled connection is one Tunnel stream through the agent (SPEC A9). */
  private agentTransport(host: HostRow) {
    return createDuplexTransport({
      label: host.name,
      endpoint: host.endpoint,
      openStream: async () => {
        if (!this.agents) throw new HostUnreachable(host.name, `host "${host.name}": the agent endpoint is not running`);
        return this.agents.openTunnel(host.id, host.name);
      },
    });
  }

  async drop(hostId: string): Promise<void> {
    const cur = this.clients.get(hostId);
    this.clients.delete(hostId);
    await cur?.client.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.clients.keys()].map((id) => this.drop(id)));
  }
}
