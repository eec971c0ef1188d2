// Records the steps of one update (for its result) and passes each to the listener.
import type { StepListener, UpdateStep, UpdateStepEvent } from './types.ts';

export class StepRecorder {
  readonly events: UpdateStepEvent[] = [];
  readonly startedAt = Date.now();
  readonly #listener: StepListener | undefined;
  /** The last step begun: a failure is reported as a failure of this step. */
  current: UpdateStep = 'inspect';

  constructor(listener: StepListener | undefined) {
    this.#listener = listener;
  }

  async emit(step: UpdateStep, message: string, progress?: UpdateStepEvent['progress']): Promise<void> {
    if (progress === undefined) this.current = step;
    const event: UpdateStepEvent = { step, at: Date.now(), message, ...(progress === undefined ? {} : { progress }) };
    this.events.push(event);
    await this.#listener?.(event);
  }

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error && error.name === 'AbortError') return 'aborted';
  return error instanceof Error ? error.message : String(error);
}
