// Signing of generic webhook deliveries, and the check a receiver makes.
//
// What is signed, exactly: the UTF-8 bytes of
//     <X-Flotilla-Timestamp> "." <X-Flotilla-Delivery> "." <raw request body>
// with HMAC-SHA256 and the target's secret as the key, sent as
//     X-Flotilla-Signature: sha256=<lowercase hex>
// The timestamp (Unix seconds, fresh on each attempt) lets a receiver refuse
// replays older than its tolerance; the delivery id (the same on each retry)
// lets it drop duplicates, and an attacker cannot swap either one.
import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'x-flotilla-signature';
export const TIMESTAMP_HEADER = 'x-flotilla-timestamp';
export const DELIVERY_HEADER = 'x-flotilla-delivery';
export const EVENT_HEADER = 'x-flotilla-event';

/** The header value `sha256=<hex>`. */
export function signWebhook(secret: string, timestamp: string, deliveryId: string, body: string): string {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(`${timestamp}.${deliveryId}.${body}`, 'utf8').digest('hex');
}

export interface SignedDelivery {
  secret: string;
  /** The raw body exactly as received, before any JSON parsing. */
  body: string;
  signature: string | undefined;
  timestamp: string | undefined;
  deliveryId: string | undefined;
  /** Oldest timestamp accepted, in seconds before `now`; default 300. */
  toleranceSeconds?: number;
  now?: Date;
}

/** A receiver's check: the signature matches and the timestamp is recent. Constant-time comparison. */
export function verifyWebhookSignature(d: SignedDelivery): boolean {
  if (!d.signature || !d.timestamp || !d.deliveryId || !/^\d{1,12}$/.test(d.timestamp)) return false;
  const age = (d.now ?? new Date()).getTime() / 1000 - Number(d.timestamp);
  if (Math.abs(age) > (d.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(d.secret, d.timestamp, d.deliveryId, d.body));
  const given = Buffer.from(d.signature);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}
