// (stub: images, networks and volumes per host — being built)
import { Page } from '../components/ui.tsx';

export function ResourcesPage() {
  return <Page title="Images, networks, volumes"><p class="muted">Coming.</p></Page>;
}
