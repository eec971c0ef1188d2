// The agent's view of its own engine: a state snapshot on demand and a live
// event stream that reconnects on its own. Works whether or not the server is
// reachable; the runner decides where each event goes (channel or journal).
import { DockerClient } from '../docker/client.ts';
import { createTransport } from '../transports/index.ts';
import { listContainers } from '../docker/containers.ts';
import { getInfo } from '../docker/system.ts';
import { streamEvents, type DockerEvent } from '../docker/events.ts';
import type { StateReport } from '../proto/generated/flotilla.ts';
import type { Logger } from '../log.ts';

export class EngineWatch {
  readonly docker: DockerClient;
  private readonly log: Logger;
  private stopCtl = new AbortController();
  engineId = '';

  constructor(socketPath: string, log: Logger) {
    this.docker = new DockerClient(createTransport({ url: `unix://${socketPath}`, label: 'local engine' }));
    this.log = log;
  }

  async snapshot(): Promise<StateReport> {
    const signal = AbortSignal.timeout(15_000);
    const [info, containers] = await Promise.all([getInfo(this.docker, { signal }), listContainers(this.docker, { all: true, signal })]);
    this.engineId = info.ID;
    return {
      engineId: info.ID, engineVersion: info.ServerVersion, apiVersion: this.docker.apiVersion ?? '',
      containersJson: JSON.stringify(containers), infoJson: JSON.stringify(info), takenAtMs: Date.now(),
    };
  }

  /** Streams events to `onEvent` until stop(); reconnects to the engine after a pause when the stream breaks. */
  async follow(onEvent: (e: DockerEvent) => void, resumeAfter?: DockerEvent): Promise<void> {
    // Sub-second precision: whole seconds would replay this second's events after a restart or a reconnect.
    let since = resumeAfter?.timeNano ? justAfter(resumeAfter.timeNano) : (Date.now() / 1000).toFixed(3);
    while (!this.stopCtl.signal.aborted) {
      try {
        for await (const event of streamEvents(this.docker, { signal: this.stopCtl.signal, since })) {
          if (event.timeNano) since = justAfter(event.timeNano);
          onEvent(event);
        }
      } catch (err) {
        if (this.stopCtl.signal.aborted) return;
        this.log.warn({ err: (err as Error).message }, 'local engine event stream broke; retrying');
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  stop(): void {
    this.stopCtl.abort();
    void this.docker.close();
  }
}

/** Docker's `since` one microsecond after an event, as "seconds.micros". */
function justAfter(timeNano: number | string): string {
  return ((Math.floor(Number(timeNano) / 1000) + 1) / 1e6).toFixed(6);
}
