// Notification targets for image updates (SPEC S15). Their URLs and secrets are
// sealed with the SecretBox (webhook URLs often carry tokens): the views this
// repository returns show only scheme://host/… and whether a secret is set;
// `openEnabled`/`open` give the plaintext to the notifier alone.
import crypto from 'node:crypto';
import { z } from 'zod';
import type { Selectable } from 'kysely';
import type { Db } from './db.ts';
import { nowIso } from './db.ts';
import type { SecretBox } from './secret-box.ts';
import type { NotificationTargetsTable } from './schema.ts';
import { BadRequest, Conflict, NotFound } from '../errors.ts';

export const TARGET_KINDS = ['webhook', 'slack', 'ntfy'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
export const NOTICE_KINDS = ['update_available', 'updated', 'rolled_back', 'check_failed'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** What a caller may send to create a target. `secret`: the webhook's HMAC key, or ntfy's access token. */
export const newNotificationTargetSchema = z.object({
  name: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'a name is 1–64 letters, digits, spaces, dots, dashes or underscores'),
  kind: z.enum(TARGET_KINDS),
  url: z.string().trim().max(2048),
  secret: z.string().min(1).max(1024).nullish(),
  events: z.array(z.enum(NOTICE_KINDS)).min(1, 'subscribe to at least one event').optional(),
  enabled: z.boolean().optional(),
}).strict();
export type NewNotificationTarget = z.input<typeof newNotificationTargetSchema>;

export interface NotificationTargetView {
  id: string;
  name: string;
  kind: TargetKind;
  /** scheme://host[:port]/… — never the path, query or credentials. */
  url: string;
  hasSecret: boolean;
  events: NoticeKind[];
  enabled: boolean;
  createdAt: string;
}

/** A target with its URL and secret in plaintext: for the notifier, never for a response or a log. */
export interface OpenedNotificationTarget {
  id: string;
  name: string;
  kind: TargetKind;
  url: string;
  secret: string | null;
  events: NoticeKind[];
  enabled: boolean;
}

type Row = Selectable<NotificationTargetsTable>;

export class NotificationTargetsRepo {
  private readonly db: Db;
  private readonly box: SecretBox;

  constructor(db: Db, box: SecretBox) {
    this.db = db;
    this.box = box;
  }

  /** Validates and stores a target; BadRequest names the bad field, Conflict a name already taken. */
  async add(input: unknown): Promise<NotificationTargetView> {
    const parsed = newNotificationTargetSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || undefined;
      throw new BadRequest(`notification target: ${field ? `${field}: ` : ''}${issue.message}`, field);
    }
    const t = parsed.data;
    const url = checkTargetUrl(t.url);
    if (t.kind === 'slack' && t.secret) {
      throw new BadRequest('notification target: secret: a Slack incoming webhook carries its token in the URL; it takes no secret', 'secret');
    }
    if (await this.findRow(t.name)) throw new Conflict(`a notification target named "${t.name}" already exists`);
    const row: NotificationTargetsTable = {
      id: crypto.randomUUID(),
      name: t.name,
      kind: t.kind,
      url_sealed: this.box.seal(url),
      secret_sealed: t.secret ? this.box.seal(t.secret) : null,
      events: JSON.stringify([...new Set(t.events ?? NOTICE_KINDS)]),
      enabled: t.enabled === false ? 0 : 1,
      created_at: nowIso(),
    };
    try {
      await this.db.insertInto('notification_targets').values(row).execute();
    } catch (err) {
      // Two adds of the same name at once: the unique index decides.
      if (/UNIQUE|unique/.test(String((err as Error).message))) throw new Conflict(`a notification target named "${t.name}" already exists`);
      throw err;
    }
    return this.view(row);
  }

  async list(): Promise<NotificationTargetView[]> {
    const rows = await this.db.selectFrom('notification_targets').selectAll().orderBy('name').execute();
    return rows.map((r) => this.view(r));
  }

  /** By id or by name; NotFound otherwise. */
  async get(idOrName: string): Promise<NotificationTargetView> {
    return this.view(await this.rowOrThrow(idOrName));
  }

  async setEnabled(idOrName: string, enabled: boolean): Promise<NotificationTargetView> {
    const row = await this.rowOrThrow(idOrName);
    await this.db.updateTable('notification_targets').set({ enabled: enabled ? 1 : 0 }).where('id', '=', row.id).execute();
    return this.view({ ...row, enabled: enabled ? 1 : 0 });
  }

  async remove(idOrName: string): Promise<void> {
    const row = await this.rowOrThrow(idOrName);
    await this.db.deleteFrom('notification_targets').where('id', '=', row.id).execute();
  }

  /** The notifier's read: every enabled target, opened. A target that no longer opens (key changed) is skipped and reported. */
  async openEnabled(onError?: (target: { id: string; name: string }, err: Error) => void): Promise<OpenedNotificationTarget[]> {
    const rows = await this.db.selectFrom('notification_targets').selectAll().where('enabled', '=', 1).orderBy('name').execute();
    const out: OpenedNotificationTarget[] = [];
    for (const row of rows) {
      try {
        out.push(this.opened(row));
      } catch (err) {
        onError?.({ id: row.id, name: row.name }, err as Error);
      }
    }
    return out;
  }

  /** One target opened, enabled or not (for a test delivery); NotFound otherwise. */
  async open(idOrName: string): Promise<OpenedNotificationTarget> {
    return this.opened(await this.rowOrThrow(idOrName));
  }

  private opened(row: Row): OpenedNotificationTarget {
    return {
      id: row.id, name: row.name, kind: row.kind as TargetKind,
      url: this.box.open(row.url_sealed),
      secret: row.secret_sealed ? this.box.open(row.secret_sealed) : null,
      events: parseEvents(row.events), enabled: row.enabled === 1,
    };
  }

  private view(row: Row): NotificationTargetView {
    let url: string;
    try {
      url = redactUrl(this.box.open(row.url_sealed));
    } catch {
      url = '(cannot be decrypted with this server\'s key)';
    }
    return {
      id: row.id, name: row.name, kind: row.kind as TargetKind, url, hasSecret: row.secret_sealed !== null,
      events: parseEvents(row.events), enabled: row.enabled === 1, createdAt: row.created_at,
    };
  }

  private async findRow(idOrName: string): Promise<Row | undefined> {
    return this.db.selectFrom('notification_targets').selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst();
  }

  private async rowOrThrow(idOrName: string): Promise<Row> {
    const row = await this.findRow(idOrName);
    if (!row) throw new NotFound(`no notification target "${idOrName}"`);
    return row;
  }
}

/** scheme://host[:port]/… : enough to tell targets apart, nothing that may be a token. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(invalid URL)';
  }
}

function checkTargetUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    // The message must not echo the URL: it may hold a token.
    throw new BadRequest('notification target: url: not a valid absolute URL', 'url');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new BadRequest(`notification target: url: only http and https URLs are allowed, not ${u.protocol.replace(/:$/, '')}`, 'url');
  }
  if (!u.hostname) throw new BadRequest('notification target: url: the URL has no host', 'url');
  return u.href;
}

function parseEvents(text: string): NoticeKind[] {
  try {
    const list = JSON.parse(text) as unknown;
    return Array.isArray(list) ? list.filter((k): k is NoticeKind => (NOTICE_KINDS as readonly string[]).includes(k as string)) : [];
  } catch {
    return [];
  }
}
