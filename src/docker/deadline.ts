// One AbortSignal per call that fires on the caller's signal or on our deadline,
// so undici has a single thing to listen to and we can tell the two apart.
import type { HostTimeout } from '../errors.ts';

export class CallDeadline {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #callerSignal: AbortSignal | undefined;
  readonly #onCallerAbort = (): void => this.#controller.abort(this.#callerSignal?.reason);
  #timer: NodeJS.Timeout | undefined;
  #expired = false;

  /** `timeoutMs` 0 means no deadline (the caller's signal still applies). */
  constructor(timeoutMs: number, callerSignal: AbortSignal | undefined, onExpire: () => HostTimeout) {
    this.signal = this.#controller.signal;
    this.#callerSignal = callerSignal;
    if (callerSignal?.aborted) this.#controller.abort(callerSignal.reason);
    else callerSignal?.addEventListener('abort', this.#onCallerAbort, { once: true });
    if (timeoutMs > 0) {
      this.#timer = setTimeout(() => {
        this.#expired = true;
        // The HostTimeout itself is the abort reason, so undici rejects with it.
        this.#controller.abort(onExpire());
      }, timeoutMs);
    }
  }

  get expired(): boolean {
    return this.#expired;
  }

  /** True when the caller, not our deadline, aborted. */
  get cancelledByCaller(): boolean {
    return this.#callerSignal?.aborted === true && !this.#expired;
  }

  /** Streams: the deadline covers getting the response headers only. */
  stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  dispose(): void {
    this.stopTimer();
    this.#callerSignal?.removeEventListener('abort', this.#onCallerAbort);
  }
}
