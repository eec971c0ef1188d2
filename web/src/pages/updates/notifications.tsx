// Where update notices go: webhook (HMAC-SHA256 signed), Slack-compatible or
// ntfy targets, the notices each gets, the last delivery; admins add, test and
// remove them. URLs come back redacted and secrets never.
import { useState } from 'preact/hooks';
import { api, path } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { ActionButton, ErrorNote, Status, ago } from '../../components/ui.tsx';
import { CreateForm } from '../../components/create-form.tsx';
import { NOTICE_KINDS, type Delivery, type NotificationTarget } from './types.ts';

const delivered = (d: Delivery) => (d.ok ? `delivered (HTTP ${d.status ?? '?'}, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'})` : `failed after ${d.attempts} attempts: ${d.error ?? `HTTP ${d.status}`}`);

export function NotificationsTab() {
  const list = useResource(() => api<NotificationTarget[]>('GET', '/notifications'));
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const admin = can('updates.admin');
  const rows = list.data ?? [];
  return (
    <>
      {admin && (
        <CreateForm label="add a notification target" submit="Add target" onCreate={async (f) => {
          const events = NOTICE_KINDS.filter((k) => f.get(`event-${k}`) === 'on');
          const secret = String(f.get('secret') ?? '');
          await api('POST', '/notifications', { name: String(f.get('name')).trim(), kind: f.get('kind'), url: String(f.get('url')).trim(), ...(secret ? { secret } : {}), ...(events.length ? { events } : {}) });
          list.reload();
        }}>
          <label>Name<input name="name" required maxLength={64} /></label>
          <label>Kind<select name="kind"><option value="webhook">webhook (JSON, signed)</option><option value="slack">Slack-compatible</option><option value="ntfy">ntfy</option></select></label>
          <label>URL<input name="url" type="url" required maxLength={2048} placeholder="https://hooks.example.com/flotilla" /></label>
          <label>Secret (webhook: HMAC key; ntfy: bearer token)<input name="secret" type="password" maxLength={1024} autoComplete="new-password" /></label>
          <fieldset class="events"><legend>Notices (none ticked: all)</legend>
            {NOTICE_KINDS.map((k) => <label key={k} class="check"><input type="checkbox" name={`event-${k}`} /> {k.replace('_', ' ')}</label>)}
          </fieldset>
        </CreateForm>
      )}
      <ErrorNote message={error ?? list.error} />
      {note && <p class="muted" role="status" aria-label="test delivery">{note}</p>}
      <table class="grid" aria-label="notification targets">
        <thead><tr><th>Name</th><th>Kind</th><th>URL</th><th>Notices</th><th>Last delivery</th>{admin && <th>Actions</th>}</tr></thead>
        <tbody>
          {rows.map((t) => (
            <tr key={t.id} data-target={t.name}>
              <td>{t.name}{!t.enabled && <span class="muted"> (disabled)</span>}</td>
              <td>{t.kind}{t.hasSecret ? ', secret set' : ''}</td>
              <td class="mono">{t.url}</td>
              <td>{t.events.map((e) => e.replace('_', ' ')).join(', ')}</td>
              <td>{t.lastDelivery ? <><Status value={t.lastDelivery.ok ? 'ok' : 'error'} /> {t.lastDelivery.event}</> : 'none yet'}</td>
              {admin && (
                <td><div class="actions">
                  <ActionButton label="send test" title={`send test notice to ${t.name}`} run={async () => {
                    setNote(`${t.name}: ${delivered(await api<Delivery>('POST', path`/notifications/${t.id}/test`))} ${ago(new Date().toISOString())}`);
                    list.reload();
                  }} onError={setError} />
                  <ActionButton label="remove" title={`remove target ${t.name}`} danger confirm={`Remove notification target ${t.name}?`}
                    run={() => api('DELETE', path`/notifications/${t.id}`).then(list.reload)} onError={setError} />
                </div></td>
              )}
            </tr>
          ))}
          {!list.loading && rows.length === 0 && <tr><td colSpan={6} class="empty">No notification targets: updates are only shown here.</td></tr>}
        </tbody>
      </table>
    </>
  );
}
