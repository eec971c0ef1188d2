// Fans notices out to every enabled target subscribed to their kind: one message
// per target and kind (a check cycle's ten available updates are one message).
// Never throws into its caller; failures are logged with the target's name and
// scheme://host only, never its URL path, query, credentials or secret. The last
// delivery per target is kept in memory for the API to show.
import type { Logger } from '../../log.ts';
import { redactUrl } from '../../store/notifications-repo.ts';
import { buildRequest, newDeliveryId } from './format.ts';
import { deliver, DEFAULT_RETRY, type RetryPolicy } from './deliver.ts';
import { NOTICE_KINDS, type DeliveryResult, type LastDelivery, type NotifyEvent, type OpenedNotificationTarget, type UpdateNotice } from './types.ts';

/** Where targets come from: NotificationTargetsRepo fits. */
export interface TargetSource {
  openEnabled(onError?: (target: { id: string; name: string }, err: Error) => void): Promise<OpenedNotificationTarget[]>;
  open(idOrName: string): Promise<OpenedNotificationTarget>;
}

export interface NotifierOptions {
  targets: TargetSource;
  log: Logger;
  retry?: Partial<RetryPolicy>;
}

export class Notifier {
  private readonly targets: TargetSource;
  private readonly log: Logger;
  private readonly retry: RetryPolicy;
  private readonly last = new Map<string, LastDelivery>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();

  constructor(opts: NotifierOptions) {
    this.targets = opts.targets;
    this.log = opts.log;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
  }

  /**
   * Delivers the notices and resolves when every delivery has finished (retries
   * included) with one result per message sent. Never rejects.
   */
  async notify(notices: UpdateNotice[]): Promise<DeliveryResult[]> {
    if (notices.length === 0 || this.stopping.signal.aborted) return [];
    return this.track(this.fanOut(notices));
  }

  /** The same, without waiting: for a check cycle that must not wait on a slow receiver. */
  notifySoon(notices: UpdateNotice[]): void {
    void this.notify(notices);
  }

  /**
   * Sends a test message to one target (enabled or not) and returns how it went.
   * Rejects only when there is no such target (NotFound from the source).
   */
  async test(idOrName: string): Promise<DeliveryResult> {
    const target = await this.targets.open(idOrName);
    return this.track(this.deliverTo(target, 'test', []));
  }

  lastDelivery(targetId: string): LastDelivery | undefined {
    return this.last.get(targetId);
  }

  /** Target id → its last delivery, for targets delivered to since start. */
  deliveryStatus(): Record<string, LastDelivery> {
    return Object.fromEntries(this.last);
  }

  /** Resolves when nothing is being delivered. */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops waiting for retries (deliveries end as failed) and waits for attempts in progress. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.idle();
  }

  private async fanOut(notices: UpdateNotice[]): Promise<DeliveryResult[]> {
    let targets: OpenedNotificationTarget[];
    try {
      targets = await this.targets.openEnabled((t, err) => {
        this.log.error({ target: t.name, target_id: t.id, err: err.message }, 'notification target cannot be opened (was the secret key replaced?); skipped');
      });
    } catch (err) {
      this.log.error({ err: (err as Error).message, notices: notices.length }, 'notification targets could not be read; notices not sent');
      return [];
    }
    const jobs: Promise<DeliveryResult>[] = [];
    for (const target of targets) {
      for (const kind of NOTICE_KINDS) {
        if (!target.events.includes(kind)) continue;
        const subset = notices.filter((n) => n.kind === kind);
        if (subset.length) jobs.push(this.deliverTo(target, kind, subset));
      }
    }
    return Promise.all(jobs);
  }

  private async deliverTo(target: OpenedNotificationTarget, event: NotifyEvent, notices: UpdateNotice[]): Promise<DeliveryResult> {
    const deliveryId = newDeliveryId();
    const started = Date.now();
    const scrub = scrubberFor(target);
    const fields = { target: target.name, target_id: target.id, target_kind: target.kind, url: redactUrl(target.url), event, delivery: deliveryId };
    let result: DeliveryResult;
    try {
      const outcome = await deliver(buildRequest(target, event, notices, deliveryId), {
        policy: this.retry, scrub, signal: this.stopping.signal,
        onRetry: (attempt, o, delayMs) => this.log.info({ ...fields, attempt, status: o.status, err: o.error, retry_in_ms: delayMs }, 'notification attempt failed; retrying'),
      });
      result = { targetId: target.id, targetName: target.name, event, deliveryId, ...outcome, durationMs: Date.now() - started };
    } catch (err) {
      // deliver() handles every failure it knows; this is a bug, still not the caller's problem.
      result = { targetId: target.id, targetName: target.name, event, deliveryId, ok: false, attempts: 0, error: scrub(String((err as Error)?.message ?? err)), durationMs: Date.now() - started };
    }
    this.last.set(target.id, {
      ok: result.ok, at: new Date().toISOString(), attempts: result.attempts, event,
      ...(result.status !== undefined ? { status: result.status } : {}), ...(result.error ? { error: result.error } : {}),
    });
    const logged = { ...fields, attempts: result.attempts, status: result.status, duration_ms: result.durationMs, notices: notices.length };
    if (result.ok) this.log.info(logged, 'notification delivered');
    else this.log.warn({ ...logged, err: result.error }, 'notification delivery failed');
    return result;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => {});
    return work;
  }
}

/** Replaces everything secret about a target that might appear in an error text. */
export function scrubberFor(target: Pick<OpenedNotificationTarget, 'url' | 'secret'>): (text: string) => string {
  const parts = new Set<string>();
  if (target.secret) parts.add(target.secret);
  parts.add(target.url);
  try {
    const u = new URL(target.url);
    parts.add(u.href);
    if (u.pathname.length > 1) parts.add(u.pathname.replace(/^\//, ''));
    if (u.search.length > 1) parts.add(u.search.slice(1));
    // A receiver may echo one piece of the URL ("unknown token …"): long path segments and query values too.
    for (const seg of u.pathname.split('/')) if (seg.length >= 8) parts.add(seg);
    for (const value of u.searchParams.values()) if (value.length >= 8) parts.add(value);
    for (const cred of [u.username, u.password]) {
      if (cred) {
        parts.add(cred);
        parts.add(decodeURIComponent(cred));
      }
    }
  } catch {
    // Not a URL: the whole string is already in the set.
  }
  const secrets = [...parts].filter((p) => p.length >= 3).sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((t, s) => t.split(s).join('[redacted]'), text);
}
