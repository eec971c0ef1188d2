// An API client for a server in another process: signs in as the admin with a
// password and makes an API token (the session cookie would need CSRF on each change).
import { ADMIN_PASSWORD, apiClient, type Api } from './server.ts';

export async function signIn(url: string, username = 'admin', password = ADMIN_PASSWORD): Promise<Api> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`sign-in as ${username} failed: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  // A session's changes carry its CSRF token (from the login answer).
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const tok = await fetch(`${url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-flotilla-csrf': csrfToken }, body: JSON.stringify({ name: 't' }) });
  return apiClient(url, ((await tok.json()) as { token: string }).token);
}
