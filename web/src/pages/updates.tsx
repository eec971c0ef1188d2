// Image updates (SPEC S15): what is out of date across the fleet, the update
// history with rollbacks and their reasons, agent versions, registries,
// notification targets and the update settings. Path: /updates?tab=…
import { navigate, queryParam } from '../router.ts';
import { Page } from '../components/ui.tsx';
import { Tabs } from '../components/tabs.tsx';
import { ChecksTab } from './updates/checks.tsx';
import { HistoryTab } from './updates/history.tsx';
import { AgentsTab } from './updates/agents.tsx';
import { RegistriesTab } from './updates/registries.tsx';
import { NotificationsTab } from './updates/notifications.tsx';
import { UpdateSettingsSection } from './updates/settings.tsx';

const TABS = [['available', 'Out of date'], ['history', 'History'], ['agents', 'Agents'], ['registries', 'Registries'], ['notifications', 'Notifications'], ['settings', 'Settings']] as const;
type Tab = (typeof TABS)[number][0];

export function UpdatesPage() {
  const tab: Tab = TABS.find(([t]) => t === queryParam('tab'))?.[0] ?? 'available';
  return (
    <Page title="Updates">
      <Tabs tabs={TABS} current={tab} label="updates" onSelect={(t) => navigate(`/updates?tab=${t}`, true)}>
        {tab === 'available' && <ChecksTab />}
        {tab === 'history' && <HistoryTab />}
        {tab === 'agents' && <AgentsTab />}
        {tab === 'registries' && <RegistriesTab />}
        {tab === 'notifications' && <NotificationsTab />}
        {tab === 'settings' && <UpdateSettingsSection />}
      </Tabs>
    </Page>
  );
}
