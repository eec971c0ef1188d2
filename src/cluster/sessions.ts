// Live agent channels, one per host. A reconnecting agent replaces its stale
// stream; commands are matched to results by correlation id and time out on
// the server side; tunnels are matched to the OpenTunnel that asked for them.
import crypto from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { AgentMessage, Command, CommandResult, ServerMessage } from '../proto/generated/flotilla.ts';
import { HostTimeout, HostUnreachable } from '../errors.ts';

export type ChannelCall = ServerDuplexStream<AgentMessage, ServerMessage>;
export type CommandBody = NonNullable<Command['body']>;

interface Pending<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class AgentSession {
  readonly hostId: string;
  readonly hostName: string;
  readonly call: ChannelCall;
  readonly connectedAt = Date.now();
  /** Why the server ended this session, if it did. */
  endedBy: 'replaced' | 'revoked' | 'removed' | 'shutdown' | 'silent' | undefined;
  readonly commands = new Map<string, Pending<CommandResult>>();

  constructor(hostId: string, hostName: string, call: ChannelCall) {
    this.hostId = hostId;
    this.hostName = hostName;
    this.call = call;
  }

  send(msg: ServerMessage): void {
    this.call.write(msg);
  }

  /** Ends the stream from the server side, failing everything still waiting on it. */
  close(why: NonNullable<AgentSession['endedBy']>): void {
    this.endedBy ??= why;
    for (const [id, p] of this.commands) {
      clearTimeout(p.timer);
      p.reject(new HostUnreachable(this.hostName, `host "${this.hostName}": agent channel closed (${why}) before command ${id} answered`));
    }
    this.commands.clear();
    this.call.end();
  }
}

export class SessionRegistry {
  private readonly byHost = new Map<string, AgentSession>();
  private readonly tunnels = new Map<string, { hostId: string } & Pending<Duplex>>();
  /** Tunnel calls claimed and not yet over, per host: what a leak test counts. */
  private readonly liveTunnels = new Map<string, number>();
  private readonly inflight = new Set<Promise<unknown>>();

  /** Work started on behalf of a session (store writes); shutdown waits for it before the store closes. */
  track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  get(hostId: string): AgentSession | undefined {
    return this.byHost.get(hostId);
  }

  count(): number {
    return this.byHost.size;
  }

  all(): AgentSession[] {
    return [...this.byHost.values()];
  }

  /** Registers a new session; returns the stale one it replaced, already closed. */
  attach(session: AgentSession): AgentSession | undefined {
    const stale = this.byHost.get(session.hostId);
    this.byHost.set(session.hostId, session);
    if (stale && stale !== session) stale.close('replaced');
    return stale;
  }

  /** Removes the session if it is still the current one for its host. */
  detach(session: AgentSession): boolean {
    if (this.byHost.get(session.hostId) !== session) return false;
    this.byHost.delete(session.hostId);
    return true;
  }

  async command(hostId: string, hostName: string, body: CommandBody, timeoutMs: number): Promise<CommandResult> {
    const session = this.requireSession(hostId, hostName);
    const id = crypto.randomUUID();
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.commands.delete(id);
        reject(new HostTimeout(hostName, `host "${hostName}": agent did not answer command ${body.$case} within ${timeoutMs} ms`));
      }, timeoutMs);
      session.commands.set(id, { resolve, reject, timer });
      session.send({ body: { $case: 'command', value: { id, timeoutMs, body } } });
    });
  }

  /** Called by the channel handler when a CommandResult arrives. */
  settleCommand(session: AgentSession, result: CommandResult): void {
    const p = session.commands.get(result.id);
    if (!p) return; // late answer after a timeout: nobody is waiting any more
    session.commands.delete(result.id);
    clearTimeout(p.timer);
    p.resolve(result);
  }

  /** Asks the agent to open a Tunnel call and resolves with its byte stream. */
  async openTunnel(hostId: string, hostName: string, timeoutMs = 10_000): Promise<Duplex> {
    const session = this.requireSession(hostId, hostName);
    const tunnelId = crypto.randomUUID();
    return new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.tunnels.delete(tunnelId);
        reject(new HostTimeout(hostName, `host "${hostName}": agent did not open tunnel within ${timeoutMs} ms`));
      }, timeoutMs);
      this.tunnels.set(tunnelId, { hostId, resolve, reject, timer });
      session.send({ body: { $case: 'openTunnel', value: { tunnelId } } });
    });
  }

  /**
   * Hands a Tunnel call to whoever asked for it; false when the id is unknown or belongs to another host.
   * The call counts as open (openTunnels) until it emits 'close': gRPC calls do once they are over either way.
   */
  claimTunnel(hostId: string, tunnelId: string, stream: () => Duplex, call?: { once(event: 'close', fn: () => void): unknown }): boolean {
    const p = this.tunnels.get(tunnelId);
    if (!p || p.hostId !== hostId) return false;
    this.tunnels.delete(tunnelId);
    clearTimeout(p.timer);
    if (call) {
      this.liveTunnels.set(hostId, (this.liveTunnels.get(hostId) ?? 0) + 1);
      call.once('close', () => {
        const left = (this.liveTunnels.get(hostId) ?? 1) - 1;
        if (left > 0) this.liveTunnels.set(hostId, left);
        else this.liveTunnels.delete(hostId);
      });
    }
    p.resolve(stream());
    return true;
  }

  /** Tunnel calls open now (idle pooled connections included), for one host or all. Read-only, for tests and metrics. */
  openTunnels(hostId?: string): number {
    if (hostId !== undefined) return this.liveTunnels.get(hostId) ?? 0;
    let n = 0;
    for (const v of this.liveTunnels.values()) n += v;
    return n;
  }

  private requireSession(hostId: string, hostName: string): AgentSession {
    const s = this.byHost.get(hostId);
    if (!s) throw new HostUnreachable(hostName, `host "${hostName}": agent is not connected`);
    return s;
  }
}
