// How this replica reaches any agent (issue 13): through its own stream when it
// holds it, else through the replica the directory names — a mutual-TLS
// connection to that replica's endpoint that becomes the tunnel once it says OK.
// `isConnected` stays local on purpose: syncs, event streams and disk readings
// of an agent host run where its stream is, so each is done once.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { AgentLink } from '../fleet/agent-link.ts';
import { HostUnreachable } from '../errors.ts';
import type { AgentDirectory } from './directory.ts';
import type { ReplicaRegistry } from './registry.ts';
import { notAReplica } from './peer-tls.ts';

export interface PeerLinkOptions {
  local: AgentLink;
  directory: AgentDirectory;
  registry: ReplicaRegistry;
  /** This replica's server certificate and key (it is also its client certificate) and the CA. */
  certPem: string;
  keyPem: string;
  caPem: string;
  timeoutMs?: number;
}

export class PeerLink implements AgentLink {
  private readonly o: PeerLinkOptions;

  constructor(o: PeerLinkOptions) {
    this.o = o;
  }

  isConnected(hostId: string): boolean {
    return this.o.local.isConnected(hostId);
  }

  async openTunnel(hostId: string, hostName: string): Promise<Duplex> {
    if (this.o.local.isConnected(hostId)) return this.o.local.openTunnel(hostId, hostName);
    const holder = await this.o.directory.holder(hostId);
    if (!holder || holder === this.o.registry.id) {
      // Not held anywhere (or the entry is ours and stale): the local path gives the usual "not connected" error.
      return this.o.local.openTunnel(hostId, hostName);
    }
    const peer = await this.o.registry.alive(holder);
    if (!peer?.peer_address) {
      throw new HostUnreachable(hostName, `host "${hostName}": its agent's stream is on replica ${holder.slice(0, 8)}, which ${peer ? 'takes no forwarded calls' : 'is not answering'}; the agent reconnects to a live replica within its backoff`);
    }
    return this.dial(peer.peer_address, hostId, hostName, holder);
  }

  private dial(address: string, hostId: string, hostName: string, holder: string): Promise<Duplex> {
    const [host, port] = splitAddress(address);
    const timeoutMs = this.o.timeoutMs ?? 10_000;
    const via = `replica ${holder.slice(0, 8)} at ${address}`;
    return new Promise<Duplex>((resolve, reject) => {
      const fail = (why: string) => {
        socket.destroy();
        reject(new HostUnreachable(hostName, `host "${hostName}" through ${via}: ${why}`));
      };
      const socket = tls.connect({
        host, port, cert: this.o.certPem, key: this.o.keyPem, ca: this.o.caPem, minVersion: 'TLSv1.3',
        // The peer's name in its certificate is where agents dial, not necessarily its replica address: check it is a replica.
        checkServerIdentity: (_name, cert) => {
          const why = notAReplica(cert.raw ? new X509Certificate(cert.raw) : undefined);
          return why ? new Error(why) : undefined;
        },
      });
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      socket.once('error', (err) => { clearTimeout(timer); fail(err.message); });
      socket.once('secureConnect', () => socket.write(`TUNNEL ${hostId}\n`));
      let answer = '';
      const onData = (chunk: Buffer) => {
        answer += chunk.toString('latin1');
        const nl = answer.indexOf('\n');
        if (nl < 0) {
          if (answer.length > 1024) { clearTimeout(timer); fail('answered garbage'); }
          return;
        }
        clearTimeout(timer);
        socket.off('data', onData);
        socket.removeAllListeners('error');
        const line = answer.slice(0, nl);
        if (line !== 'OK') return fail(line.startsWith('ERR ') ? line.slice(4) : `answered "${line.slice(0, 80)}"`);
        socket.pause();
        const rest = Buffer.from(answer.slice(nl + 1), 'latin1');
        if (rest.length) socket.unshift(rest);
        resolve(socket);
      };
      socket.on('data', onData);
    });
  }
}

function splitAddress(address: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`replica address "${address}" is not host:port`);
  return [m[1]!, Number(m[2])];
}
