// What the cluster tells the rest of the server about agent hosts. The fleet
// implements it; the cluster never reaches into fleet internals.
import type { HostRow } from '../store/hosts-repo.ts';
import type { DisconnectReason } from '../store/schema.ts';
import type { Heartbeat, Hello, JournalEntry, StateReport } from '../proto/generated/flotilla.ts';

export interface AgentHooks {
  connected(host: HostRow, hello: Hello): Promise<void>;
  heartbeat(host: HostRow, hb: Heartbeat): Promise<void>;
  state(host: HostRow, report: StateReport): Promise<void>;
  /** One Docker event, as JSON text from the engine. */
  event(host: HostRow, eventJson: string): Promise<void>;
  journal(host: HostRow, entries: JournalEntry[]): Promise<void>;
  disconnected(host: HostRow, reason: DisconnectReason, detail: string): Promise<void>;
  /** The host's agent was refused for its certificate before any stream opened. */
  certRefused(hostId: string, detail: string): Promise<void>;
}
