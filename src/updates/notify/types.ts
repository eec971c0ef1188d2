// What the update engine tells the outside world (SPEC S15): notices, and the
// result of delivering them to a target.
import type { NoticeKind, TargetKind, OpenedNotificationTarget } from '../../store/notifications-repo.ts';

export type { NoticeKind, TargetKind, OpenedNotificationTarget };
export { NOTICE_KINDS, TARGET_KINDS } from '../../store/notifications-repo.ts';

export interface UpdateNotice {
  kind: NoticeKind;
  /** ISO 8601 instant the thing happened. */
  at: string;
  host: { id: string; name: string };
  /** Absent for a failure of the whole host's check. */
  container?: { id: string; name: string };
  /** The image reference as the container names it, e.g. nginx:1.27. */
  image?: string;
  fromDigest?: string;
  toDigest?: string;
  /** Why an update was rolled back. */
  reason?: string;
  /** What went wrong in a check. */
  error?: string;
}

/** A message's event: one notice kind (notices are sent grouped by kind), or `test`. */
export type NotifyEvent = NoticeKind | 'test';

export interface DeliveryResult {
  targetId: string;
  targetName: string;
  event: NotifyEvent;
  /** Same across retries, so a receiver can drop duplicates. */
  deliveryId: string;
  ok: boolean;
  attempts: number;
  /** HTTP status of the last attempt, if one answered. */
  status?: number;
  /** Why it failed, without the URL's path, query or credentials. */
  error?: string;
  durationMs: number;
}

/** The last delivery to a target, kept in memory by the Notifier. */
export interface LastDelivery {
  ok: boolean;
  at: string;
  attempts: number;
  event: NotifyEvent;
  status?: number;
  error?: string;
}

/** One HTTP request of a delivery attempt. */
export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}
