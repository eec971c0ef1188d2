// What runs inside the updater container (`flotilla self-update-run`): the
// update of the agent's container through updateContainer, with its journal
// and steps written to stdout (protocol.ts) so they outlive this process; or,
// given the record of an updater that died, the recovery of that update.
import type { DockerClient } from '../../docker/client.ts';
import { FlotillaError } from '../../errors.ts';
import { recoverInterruptedUpdates, updateContainer, UpdateRefused } from '../recreate/index.ts';
import type { InFlightUpdate, UpdateJournal, UpdateResult } from '../recreate/index.ts';
import { errorLine, journalLine, resultLine, stepLine } from './protocol.ts';

/** The agent image's healthcheck turns healthy once the new agent holds its channel; reconnecting may take a while. */
export const DEFAULT_SELF_HEALTH_TIMEOUT_MS = 120_000;

export interface SelfUpdateRun {
  /** The agent container (id or name). */
  containerId: string;
  /** The new image; the launcher pulled it already (the updater runs from it), so it is not pulled again. */
  image: string;
  updateId: string;
  healthTimeoutMs?: number;
  stableMs?: number;
}

/** Writes one line to stdout; synchronous for a pipe on Linux, so a line is out before the step it announces. */
export type LineWriter = (line: string) => void;

/** The journal is the output: each record is printed before its step, and printed as cleared after. */
class OutputJournal implements UpdateJournal {
  readonly #records = new Map<string, InFlightUpdate>();
  readonly #write: LineWriter;

  constructor(write: LineWriter, seed: InFlightUpdate[] = []) {
    this.#write = write;
    for (const r of seed) this.#records.set(r.id, structuredClone(r));
  }

  async save(rec: InFlightUpdate): Promise<void> {
    this.#records.set(rec.id, structuredClone(rec));
    this.#write(journalLine(rec));
  }

  async clear(id: string): Promise<void> {
    this.#records.delete(id);
    this.#write(journalLine(null));
  }

  async list(): Promise<InFlightUpdate[]> {
    return [...this.#records.values()].map((r) => structuredClone(r));
  }
}

function exitCodeOf(result: UpdateResult): number {
  return result.outcome === 'updated' ? 0 : 1;
}

/** Runs the update; prints steps, journal and, last, the result (or the error that stopped it before anything changed). Returns the exit code. */
export async function runSelfUpdate(docker: DockerClient, run: SelfUpdateRun, write: LineWriter, signal?: AbortSignal): Promise<number> {
  const journal = new OutputJournal(write);
  try {
    const result = await updateContainer(
      docker,
      { containerId: run.containerId, image: run.image, skipPull: true, healthTimeoutMs: run.healthTimeoutMs ?? DEFAULT_SELF_HEALTH_TIMEOUT_MS, stableMs: run.stableMs },
      { journal, signal, updateId: run.updateId, onStep: (event) => write(stepLine(event)) },
    );
    write(resultLine(result));
    return exitCodeOf(result);
  } catch (error) {
    // updateContainer throws only before it touches anything (refusals, a container that is not there, the engine not answering).
    write(errorLine({
      code: error instanceof FlotillaError ? error.code : 'internal',
      message: error instanceof Error ? error.message : String(error),
      ...(error instanceof UpdateRefused ? { reason: error.reason } : {}),
    }));
    return 1;
  }
}

/** Puts back (or, past the health gate, finishes) the update of an updater that died; prints like runSelfUpdate. */
export async function runSelfUpdateRecovery(docker: DockerClient, record: InFlightUpdate, write: LineWriter): Promise<number> {
  // The record was written on this engine by the dead updater; its label for the engine may differ from ours.
  const { host: _host, ...rec } = record;
  const journal = new OutputJournal(write, [rec]);
  write(journalLine(rec));
  const [result] = await recoverInterruptedUpdates(docker, journal, { onStep: (event) => write(stepLine(event)) });
  if (result === undefined) {
    write(errorLine({ code: 'internal', message: `update ${rec.id}: recovery found nothing to do` }));
    return 1;
  }
  write(resultLine(result));
  return exitCodeOf(result);
}
