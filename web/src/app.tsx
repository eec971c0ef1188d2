// The shell: decides between setup, sign-in and the app; the navigation; the
// live indicator; and which page a path shows.
import { useEffect } from 'preact/hooks';
import { api, whenSignedOut } from './api.ts';
import { session, loadSession, signOut } from './session.ts';
import { currentPath, match, navigate } from './router.ts';
import { liveState, startLive, stopLive } from './live.ts';
import { SetupPage } from './pages/setup.tsx';
import { LoginPage } from './pages/login.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { ContainersPage } from './pages/containers.tsx';
import { ContainerPage } from './pages/container.tsx';
import { HostsPage } from './pages/hosts.tsx';
import { ActivityPage } from './pages/activity.tsx';
import { SwarmPage } from './pages/swarm.tsx';
import { ResourcesPage } from './pages/resources.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { UpdatesPage } from './pages/updates.tsx';

const NAV: [string, string][] = [['/', 'Fleet'], ['/containers', 'Containers'], ['/resources', 'Images & volumes'], ['/hosts', 'Hosts'], ['/swarm', 'Swarm'], ['/updates', 'Updates'], ['/activity', 'Activity'], ['/settings', 'Settings']];

whenSignedOut(() => {
  stopLive();
  session.value = null;
  if (!currentPath.value.startsWith('/login')) navigate(`/login?next=${encodeURIComponent(currentPath.value)}`, true);
});

export function App() {
  const s = session.value;
  const p = currentPath.value;
  useEffect(() => {
    void (async () => {
      // Once setup is done the route asks for a session like any other (401 signed out): then no setup is needed.
      const needed = await api<{ needed: boolean }>('GET', '/setup').then((r) => r.needed, () => false);
      if (needed) return navigate('/setup', true);
      if (!(await loadSession()) && !p.startsWith('/login')) navigate(`/login${p === '/' ? '' : `?next=${encodeURIComponent(p)}`}`, true);
    })();
  }, []);
  useEffect(() => {
    if (s) startLive();
  }, [s]);
  if (p.startsWith('/setup')) return <SetupPage />;
  if (p.startsWith('/login')) return <LoginPage />;
  if (!s) return <main class="auth"><p class="muted">Loading…</p></main>;
  return (
    <div class="layout">
      <nav class="nav" aria-label="main">
        <a class="brand" href="/">Flotilla</a>
        {NAV.map(([href, label]) => <a key={href} href={href} aria-current={(href === '/' ? p === '/' : p.startsWith(href)) ? 'page' : undefined}>{label}</a>)}
        <span class="spacer" />
        <span class={`live live-${liveState.value}`} title="live updates">{liveState.value === 'live' ? '● live' : '○ ' + liveState.value}</span>
        <span class="who">{s.user.username} ({s.user.role})</span>
        <button type="button" onClick={async () => { stopLive(); await signOut(); navigate('/login', true); }}>Sign out</button>
      </nav>
      <main class="main">{route(p)}</main>
    </div>
  );
}

function route(p: string) {
  let m: Record<string, string> | undefined;
  if ((m = match('/containers/:host/:id', p))) return <ContainerPage host={m.host!} id={m.id!} />;
  if (match('/containers', p)) return <ContainersPage />;
  if (match('/hosts', p)) return <HostsPage />;
  if (p === '/swarm' || p.startsWith('/swarm/') || p.startsWith('/swarm?')) return <SwarmPage />;
  if (p === '/resources' || p.startsWith('/resources?')) return <ResourcesPage />;
  if (p === '/settings' || p.startsWith('/settings?')) return <SettingsPage />;
  if (p === '/updates' || p.startsWith('/updates?')) return <UpdatesPage />;
  if (match('/activity', p)) return <ActivityPage />;
  if (match('/', p)) return <OverviewPage />;
  return <section class="page"><h1>Not found</h1><p>No page at {p}. <a href="/">Back to the fleet</a></p></section>;
}
