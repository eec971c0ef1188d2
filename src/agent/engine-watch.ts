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
  async follow(onEvent: (e: DockerEvent) => void): Promise<void> {
    let since = Math.floor(Date.now() / 1000);
    while (!this.stopCtl.signal.aborted) {
      try {
        for await (const event of streamEvents(this.docker, { signal: this.stopCtl.signal, since })) {
          if (event.time) since = event.time;
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
