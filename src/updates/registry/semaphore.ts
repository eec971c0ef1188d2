// A counting semaphore with a FIFO queue: at most `limit` requests in flight to
// one registry. A waiter whose signal aborts leaves the queue at once.

export class Semaphore {
  private active = 0;
  private readonly waiters: Array<{ grant: () => void }> = [];
  private limit: number;

  constructor(limit: number) {
    this.limit = sane(limit);
  }

  /** Resolves with a release function once a slot is free; call it exactly once. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.active < this.limit && this.waiters.length === 0) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.active < this.limit && this.waiters.length > 0) {
      this.active++;
      this.waiters.shift()!.grant();
    }
  }

  /** A registry's concurrency was changed: applies to requests not yet started. */
  setLimit(limit: number): void {
    this.limit = sane(limit);
    this.pump();
  }
}

/** A limit below 1 (or NaN) would queue every request forever. */
function sane(limit: number): number {
  return Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : 1;
}
