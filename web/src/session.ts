// Who is signed in, and what they may do. The UI hides what a role cannot do;
// the API refuses it anyway.
import { signal } from '@preact/signals';
import { api, setCsrfToken } from './api.ts';

export interface User {
  id: string;
  username: string;
  role: 'admin' | 'operator' | 'viewer';
}

export interface Session {
  user: User;
  permissions: string[];
}

/** undefined: not known yet; null: signed out. */
export const session = signal<Session | null | undefined>(undefined);

export function can(permission: string): boolean {
  return session.value?.permissions.includes(permission) ?? false;
}

export async function loadSession(): Promise<Session | null> {
  try {
    const me = await api<Session & { csrfToken?: string }>('GET', '/auth/me');
    setCsrfToken(me.csrfToken);
    session.value = { user: me.user, permissions: me.permissions };
  } catch {
    session.value = null;
  }
  return session.value;
}

export async function signIn(username: string, password: string): Promise<void> {
  const r = await api<Session & { csrfToken: string }>('POST', '/auth/login', { username, password });
  setCsrfToken(r.csrfToken);
  session.value = { user: r.user, permissions: r.permissions };
}

export async function signOut(): Promise<void> {
  await api('POST', '/auth/logout').catch(() => undefined);
  setCsrfToken(undefined);
  session.value = null;
}
