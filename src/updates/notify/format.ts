// The three message formats: a generic signed JSON webhook, a Slack incoming
// webhook ({ text, blocks }), and ntfy (plain text body, Title/Tags/Priority
// headers). Each turns one event's notices into the request for one attempt.
import crypto from 'node:crypto';
import type { NotifyEvent, OpenedNotificationTarget, OutgoingRequest, UpdateNotice } from './types.ts';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './signature.ts';

const USER_AGENT = 'Flotilla-Notifier/1';
/** Lines listed in one Slack or ntfy message; the rest are counted ("… and 12 more"). */
const MAX_LINES = 40;
const MAX_LINE = 300;

/** Builds the request of one attempt; called again on each retry (fresh timestamp and signature). */
export type RequestBuilder = () => OutgoingRequest;

export function buildRequest(target: OpenedNotificationTarget, event: NotifyEvent, notices: UpdateNotice[], deliveryId: string): RequestBuilder {
  switch (target.kind) {
    case 'webhook': return webhookRequest(target, event, notices, deliveryId);
    case 'slack': return slackRequest(target, event, notices);
    case 'ntfy': return ntfyRequest(target, event, notices);
  }
}

export function newDeliveryId(): string {
  return crypto.randomUUID();
}

/** Body `{ event, delivery, summary, notices }`; signed when the target has a secret (see signature.ts). */
export function webhookRequest(target: OpenedNotificationTarget, event: NotifyEvent, notices: UpdateNotice[], deliveryId: string): RequestBuilder {
  const body = JSON.stringify({ event, delivery: deliveryId, summary: title(event, notices.length), notices });
  return () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json', 'user-agent': USER_AGENT,
      [EVENT_HEADER]: event, [DELIVERY_HEADER]: deliveryId, [TIMESTAMP_HEADER]: timestamp,
    };
    if (target.secret) headers[SIGNATURE_HEADER] = signWebhook(target.secret, timestamp, deliveryId, body);
    return { url: target.url, headers, body };
  };
}

export function slackRequest(target: OpenedNotificationTarget, event: NotifyEvent, notices: UpdateNotice[]): RequestBuilder {
  const heading = `Flotilla: ${title(event, notices.length)}`;
  const lines = listed(notices, target, (n) => slackEscape(noticeLine(n)));
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: heading.slice(0, 150) } }];
  for (let i = 0; i < lines.length; i += 10) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: lines.slice(i, i + 10).map((l) => `• ${l}`).join('\n') } });
  }
  const body = JSON.stringify({ text: [slackEscape(heading), ...lines].join('\n'), blocks });
  return () => ({ url: target.url, headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT }, body });
}

const NTFY_TAGS: Record<NotifyEvent, string> = {
  update_available: 'package', updated: 'white_check_mark', rolled_back: 'rewind', check_failed: 'warning', test: 'test_tube',
};
const NTFY_PRIORITY: Record<NotifyEvent, string> = { update_available: '3', updated: '3', rolled_back: '4', check_failed: '4', test: '2' };

/** POST to the topic URL; the secret, if any, is an access token sent as a bearer token. */
export function ntfyRequest(target: OpenedNotificationTarget, event: NotifyEvent, notices: UpdateNotice[]): RequestBuilder {
  const body = listed(notices, target, noticeLine).join('\n');
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8', 'user-agent': USER_AGENT,
    title: headerText(`Flotilla: ${title(event, notices.length)}`),
    tags: `${NTFY_TAGS[event]},flotilla`,
    priority: NTFY_PRIORITY[event],
  };
  if (target.secret) headers.authorization = `Bearer ${target.secret}`;
  return () => ({ url: target.url, headers, body });
}

export function title(event: NotifyEvent, count: number): string {
  const many = count > 1;
  switch (event) {
    case 'update_available': return many ? `${count} image updates available` : 'Image update available';
    case 'updated': return many ? `${count} containers updated` : 'Container updated';
    case 'rolled_back': return many ? `${count} updates rolled back` : 'Update rolled back';
    case 'check_failed': return many ? `${count} update checks failed` : 'Update check failed';
    case 'test': return 'Test notification';
  }
}

/** One human line per notice: `web1/app: nginx:1.27 has a new image (sha256:1a2b… → sha256:3c4d…)`. */
export function noticeLine(n: UpdateNotice): string {
  const where = n.container ? `${n.host.name}/${n.container.name}` : n.host.name;
  const image = n.image ? ` ${n.image}` : '';
  const digests = n.fromDigest || n.toDigest ? ` (${shortDigest(n.fromDigest)} → ${shortDigest(n.toDigest)})` : '';
  let line: string;
  switch (n.kind) {
    case 'update_available': line = `${where}:${image || ' its image'} has a new image${digests}`; break;
    case 'updated': line = `${where} updated to${image || ' a new image'}${digests}`; break;
    case 'rolled_back': line = `${where}: update of${image || ' its image'} rolled back${n.reason ? `: ${n.reason}` : ''}${digests}`; break;
    case 'check_failed': line = `${where}: update check${image ? ` of${image}` : ''} failed${n.error ? `: ${n.error}` : ''}`; break;
  }
  return line.length > MAX_LINE ? line.slice(0, MAX_LINE - 1) + '…' : line;
}

function listed(notices: UpdateNotice[], target: OpenedNotificationTarget, line: (n: UpdateNotice) => string): string[] {
  if (notices.length === 0) return [`This is a test notification from Flotilla to target "${target.name}".`];
  const lines = notices.slice(0, MAX_LINES).map(line);
  if (notices.length > MAX_LINES) lines.push(`… and ${notices.length - MAX_LINES} more`);
  return lines;
}

function shortDigest(digest: string | undefined): string {
  if (!digest) return '?';
  const [algo, hex] = digest.includes(':') ? digest.split(':', 2) as [string, string] : ['', digest];
  return `${algo ? algo + ':' : ''}${hex.slice(0, 12)}`;
}

/** Slack mrkdwn treats &, < and > as markup. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** HTTP headers carry Latin-1 only: anything else goes as an RFC 2047 encoded word (ntfy decodes them). */
function headerText(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(clean) ? clean : `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`;
}
