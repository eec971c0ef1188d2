// (stub: settings, users, API tokens, client certificates — being built)
import { Page } from '../components/ui.tsx';

export function SettingsPage() {
  return <Page title="Settings"><p class="muted">Coming.</p></Page>;
}
