// Reconnect delays (SPEC A4): 1 s, 2 s, 4 s … capped at 30 s, each with up to
// ±20 % jitter so that a fleet does not reconnect in lockstep after an outage.
export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;

  constructor(opts: { baseMs?: number; capMs?: number; random?: () => number } = {}) {
    this.baseMs = opts.baseMs ?? 1000;
    this.capMs = opts.capMs ?? 30_000;
    this.random = opts.random ?? Math.random;
  }

  /** The nominal delay of the next attempt, without jitter. */
  nominal(): number {
    return Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
  }

  next(): number {
    const ms = this.nominal();
    this.attempt++;
    return Math.min(this.capMs, Math.round(ms * (0.8 + 0.4 * this.random())));
  }

  reset(): void {
    this.attempt = 0;
  }
}
