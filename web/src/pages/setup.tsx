// First-run setup: the admin account, with the setup code the server printed.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { signIn } from '../session.ts';
import { navigate } from '../router.ts';
import { ErrorNote } from '../components/ui.tsx';

export function SetupPage() {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <main class="auth">
      <form class="card" onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const username = String(f.get('username'));
        const password = String(f.get('password'));
        if (password !== String(f.get('confirm'))) return setError('the two passwords differ');
        setBusy(true);
        setError(undefined);
        try {
          await api('POST', '/setup', { setupCode: String(f.get('code')).trim(), username, password });
          await signIn(username, password);
          navigate('/', true);
        } catch (err) {
          setError((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}>
        <h1>Welcome to Flotilla</h1>
        <p>Create the first admin. The setup code is printed on the server's console and stored in <code>&lt;data dir&gt;/setup-code</code>.</p>
        <label>Setup code<input name="code" required autocomplete="off" spellcheck={false} /></label>
        <label>Username<input name="username" required minLength={1} maxLength={64} pattern="[a-zA-Z0-9_.\-]+" autocomplete="username" /></label>
        <label>Password (at least 10 characters)<input name="password" type="password" required minLength={10} autocomplete="new-password" /></label>
        <label>Password again<input name="confirm" type="password" required minLength={10} autocomplete="new-password" /></label>
        <ErrorNote message={error} />
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : 'Create admin and sign in'}</button>
      </form>
    </main>
  );
}
