// "Update now" for one container: POST …/update?progress=true, the steps shown
// as they arrive (pull progress folded into one line), then the outcome — a
// rollback with its reason. Used by the updates list and the containers page.
import { useState } from 'preact/hooks';
import { path } from '../../api.ts';
import { postNdjson } from '../../ndjson.ts';
import { Status } from '../../components/ui.tsx';
import type { StepEvent, UpdateRun, UpdateStreamEvent } from './types.ts';

export interface UpdateState { host: string; container: string; steps: StepEvent[]; run?: UpdateRun; error?: string; busy: boolean }

/** Runs one update, handing on its state after every event; always ends with busy false. */
export async function runContainerUpdate(host: string, container: string, onState: (s: UpdateState) => void): Promise<UpdateRun | undefined> {
  let s: UpdateState = { host, container, steps: [], busy: true };
  const set = (next: Partial<UpdateState>) => onState((s = { ...s, ...next }));
  set({});
  try {
    for await (const e of postNdjson<UpdateStreamEvent>(`/api/v1${path`/hosts/${host}/containers/${container}/update`}?progress=true`, {})) {
      if (e.type === 'step') {
        const { type: _t, ...step } = e;
        // Pull progress repeats the same step: keep only its latest line.
        set({ steps: s.steps.at(-1)?.step === step.step && step.progress ? [...s.steps.slice(0, -1), step] : [...s.steps, step] });
      } else if (e.type === 'done') {
        set({ run: e.run, busy: false });
      } else {
        set({ error: e.message, busy: false });
      }
    }
    if (s.busy) set({ busy: false, error: 'the progress stream ended before the update finished: the history has its outcome' });
  } catch (err) {
    set({ busy: false, error: (err as Error).message });
  }
  return s.run;
}

/** The updates started from this page, by host/container, newest first; `start` refuses a second one of the same container. */
export function useContainerUpdates(onFinished?: () => void) {
  const [updates, setUpdates] = useState<Map<string, UpdateState>>(new Map());
  const key = (host: string, container: string) => `${host}/${container}`;
  const start = async (host: string, container: string) => {
    if (updates.get(key(host, container))?.busy) return;
    await runContainerUpdate(host, container, (st) => setUpdates((m) => new Map([[key(host, container), st], ...[...m].filter(([k]) => k !== key(host, container))])));
    onFinished?.();
  };
  const busy = (host: string, container: string) => updates.get(key(host, container))?.busy ?? false;
  return { updates: [...updates.values()], start, busy, clear: () => setUpdates(new Map()) };
}

/** What the update has done so far and how it ended. */
export function UpdateProgress({ state }: { state: UpdateState }) {
  return (
    <div class="update-progress card" role="status" aria-live="polite" aria-label={`update of ${state.container} on ${state.host}`} data-progress={`${state.host}/${state.container}`}>
      <h3>{state.container} <span class="muted">on {state.host}</span></h3>
      <ol class="steps">
        {state.steps.map((s, i) => <li key={i} data-step={s.step}><b>{s.step}</b> {s.message}</li>)}
      </ol>
      {state.busy && <p class="muted">updating…</p>}
      {state.run && (
        <p data-outcome={state.run.status}>
          <Status value={state.run.status} /> {state.run.reason ? <span class="reason">{state.run.reason}</span> : state.run.durationMs !== null ? <span class="muted">in {(state.run.durationMs / 1000).toFixed(1)} s</span> : null}
        </p>
      )}
      {state.error && <p class="error" role="alert">{state.error}</p>}
    </div>
  );
}

/** Every update started from the page, with a way to put the finished ones away. */
export function UpdatesInProgress({ updates, clear }: { updates: UpdateState[]; clear: () => void }) {
  if (updates.length === 0) return null;
  return (
    <section class="updates-running" aria-label="updates started here">
      {updates.map((u) => <UpdateProgress key={`${u.host}/${u.container}`} state={u} />)}
      {updates.every((u) => !u.busy) && <button type="button" onClick={clear}>Dismiss</button>}
    </section>
  );
}
