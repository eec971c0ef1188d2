// What the fleet needs from the cluster to reach agent hosts. The cluster
// provides it once it is up; until then agent hosts are simply unreachable.
import type { Duplex } from 'node:stream';

export interface AgentLink {
  openTunnel(hostId: string, hostName: string): Promise<Duplex>;
  isConnected(hostId: string): boolean;
}
