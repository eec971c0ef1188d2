// Sign in with a username and password (a session cookie, HttpOnly, SameSite=Strict).
import { useState } from 'preact/hooks';
import { signIn } from '../session.ts';
import { navigate, queryParam } from '../router.ts';
import { ErrorNote } from '../components/ui.tsx';

export function LoginPage() {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <main class="auth">
      <form class="card" onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        setBusy(true);
        setError(undefined);
        try {
          await signIn(String(f.get('username')), String(f.get('password')));
          const next = queryParam('next');
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
        } catch (err) {
          setError((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}>
        <h1>Sign in to Flotilla</h1>
        <label>Username<input name="username" required autocomplete="username" /></label>
        <label>Password<input name="password" type="password" required autocomplete="current-password" /></label>
        <ErrorNote message={error} />
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
