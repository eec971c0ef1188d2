// The engine's event stream (GET /events) as typed events.
import type { DockerClient } from './client.ts';
import type { Filters } from './query.ts';
import { bodyChunks } from './request.ts';
import type { CallOptions } from './request.ts';
import { ndjson } from './stream.ts';

export type EventType =
  | 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin'
  | 'node' | 'service' | 'secret' | 'config';

export interface DockerEvent {
  Type: EventType;
  /** e.g. `create`, `start`, `die`, `exec_start: sh -c …`, `health_status: healthy`. */
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: 'local' | 'swarm';
  time: number;
  timeNano: number;
  [field: string]: unknown;
}

export interface EventsOptions extends CallOptions {
  /** Replay from this point: a Date, unix seconds, or a duration string like `10m`. */
  since?: Date | number | string;
  /** Stop at this point; with `until` in the past the stream ends by itself. */
  until?: Date | number | string;
  /** e.g. `{ type: 'container', container: id, event: ['start', 'die'] }`. */
  filters?: Filters;
}

function timeParam(value: Date | number | string | undefined): string | number | undefined {
  if (value instanceof Date) return (value.getTime() / 1000).toFixed(3);
  return value;
}

/**
 * Streams events until `until` passes, the engine goes away, or `signal` aborts
 * (which ends the iteration quietly). The deadline covers the response start only.
 */
export async function* streamEvents(docker: DockerClient, options: EventsOptions = {}): AsyncGenerator<DockerEvent> {
  const { since, until, filters, ...call } = options;
  let response;
  try {
    response = await docker.stream('GET', '/events', { ...call, query: { since: timeParam(since), until: timeParam(until), filters } });
  } catch (error) {
    if (call.signal?.aborted === true) return;
    throw error;
  }
  yield* ndjson<DockerEvent>(bodyChunks(response.body, docker.context('GET', '/events'), call.signal));
}
