// Update notifications (SPEC S15): the notice type, the Notifier, and the
// signature check a webhook receiver makes.
export type { UpdateNotice, NotifyEvent, NoticeKind, TargetKind, DeliveryResult, LastDelivery, OutgoingRequest } from './types.ts';
export { NOTICE_KINDS, TARGET_KINDS } from './types.ts';
export { Notifier, type NotifierOptions, type TargetSource } from './notifier.ts';
export { DEFAULT_RETRY, type RetryPolicy } from './deliver.ts';
export { signWebhook, verifyWebhookSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER, EVENT_HEADER } from './signature.ts';
