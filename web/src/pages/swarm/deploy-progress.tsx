// A deploy (or redeploy) as it runs: each step as the server reports it, each
// service's convergence, then the result — status, per-service outcome,
// warnings, or the error with the field the server named.
import { useRef, useState } from 'preact/hooks';
import { Status } from '../../components/ui.tsx';
import { runDeploy, duration, type DeployBody, type DeployEvent, type Deployment } from './stack-deploys.ts';

export interface DeployRun {
  events: DeployEvent[];
  running: boolean;
  result: Deployment | undefined;
  failure: { status?: number; message: string; field?: string } | undefined;
  start: (url: string, body?: DeployBody) => Promise<Deployment | undefined>;
  clear: () => void;
}

export function useDeployRun(): DeployRun {
  const [events, setEvents] = useState<DeployEvent[]>([]);
  const [running, setRunning] = useState(false);
  const busy = useRef(false);
  const start = async (url: string, body?: DeployBody) => {
    if (busy.current) return undefined;
    busy.current = true;
    setRunning(true);
    setEvents([]);
    let result: Deployment | undefined;
    try {
      await runDeploy(url, body, (e) => {
        if (e.type === 'done') result = e.deployment;
        setEvents((old) => [...old, e]);
      });
    } finally {
      busy.current = false;
      setRunning(false);
    }
    return result;
  };
  const done = events.find((e): e is Extract<DeployEvent, { type: 'done' }> => e.type === 'done');
  const failed = events.find((e): e is Extract<DeployEvent, { type: 'error' }> => e.type === 'error');
  return { events, running, result: done?.deployment, failure: failed, start, clear: () => setEvents([]) };
}

function describe(e: DeployEvent): string | undefined {
  switch (e.type) {
    case 'step': return `${e.kind} ${e.name}: ${e.action}${e.image ? ` (${e.image})` : ''}`;
    case 'warning': return `warning: ${e.message}`;
    case 'strategy': return `${e.service}: ${e.strategy} ${e.step}${e.detail ? ` — ${e.detail}` : ''}`;
    case 'converge': return `${e.service}: ${e.outcome.replace('_', ' ')}${e.message ? ` — ${e.message}` : ''}`;
    case 'deployment': return `deployment ${e.id.slice(0, 8)}: ${e.status}`;
    default: return undefined;
  }
}

/** Services the run touches, with their action and convergence so far. */
function convergence(events: DeployEvent[]): { name: string; action: string; outcome: string | undefined; message: string }[] {
  const out = new Map<string, { name: string; action: string; outcome: string | undefined; message: string }>();
  for (const e of events) {
    if (e.type === 'step' && e.kind === 'service') out.set(e.name, { name: e.name, action: e.action, outcome: e.action === 'unchanged' || e.action === 'removed' ? 'not_waited' : undefined, message: '' });
    if (e.type === 'converge') {
      const s = out.get(e.service) ?? { name: e.service, action: '?', outcome: undefined, message: '' };
      out.set(e.service, { ...s, outcome: e.outcome, message: e.message });
    }
  }
  return [...out.values()];
}

export function DeployProgress({ run, label }: { run: DeployRun; label: string }) {
  const { events, running, result, failure } = run;
  if (!events.length && !running) return null;
  const lines = events.map(describe).filter((l): l is string => Boolean(l));
  const services = convergence(events);
  return (
    <section class="card deploy-run" aria-label={label}>
      <h2>{label} {running && <span class="muted">— running…</span>}</h2>
      <ol class="deploy-steps mono" aria-label="deploy steps" aria-live="polite">
        {lines.map((l, i) => <li key={i}>{l}</li>)}
        {running && !lines.length && <li class="muted">Starting…</li>}
      </ol>
      {services.length > 0 && (
        <table class="grid" aria-label="convergence">
          <thead><tr><th>Service</th><th>Action</th><th>Convergence</th><th>Message</th></tr></thead>
          <tbody>
            {services.map((s) => (
              <tr key={s.name} data-service={s.name} data-outcome={s.outcome ?? 'waiting'}>
                <td>{s.name}</td><td>{s.action}</td>
                <td>{s.outcome ? <Status value={s.outcome} /> : <span class="muted">{running ? 'waiting…' : '-'}</span>}</td>
                <td class="reason">{s.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result && <DeployResult d={result} />}
      {failure && (
        <div class="error" role="alert" data-field={failure.field}>
          {failure.status ? `Refused (${failure.status}): ` : 'Failed: '}{failure.message}
          {failure.field && <div>field: <code>{failure.field}</code></div>}
        </div>
      )}
    </section>
  );
}

export function DeployResult({ d }: { d: Deployment }) {
  return (
    <div class="deploy-result" aria-label="deploy result" role="status" data-status={d.status}>
      <p><strong>Deployment {d.id.slice(0, 8)}</strong> <Status value={d.status} /> in {duration(d.durationMs)}{d.redeployOf ? ` · redeploy of ${d.redeployOf.slice(0, 8)}` : ''}</p>
      {d.outcome.length > 0 && (
        <ul class="outcomes">
          {d.outcome.map((o) => <li key={o.name} data-service={o.name}><span class="mono">{o.name}</span> {o.action} · <Status value={o.outcome} />{o.running !== undefined ? ` ${o.running}/${o.desired}` : ''}{o.message && o.message !== o.action ? ` — ${o.message}` : ''}</li>)}
        </ul>
      )}
      {d.warnings.length > 0 && <ul class="warnings" aria-label="warnings">{d.warnings.map((w, i) => <li key={i}>warning: {w}</li>)}</ul>}
      {d.error && <p class="error">{d.error}</p>}
    </div>
  );
}
