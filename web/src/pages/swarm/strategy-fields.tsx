// The deploy form's strategy (W6): rolling (the engine's update config),
// blue-green or canary, the services it applies to, an optional HTTP probe run
// from inside the stack network, canary steps and how long each is watched,
// and what blue-green does with the old version. The server validates it all
// again and names the field it refuses.
import type { DeployBody, StrategyOptions } from './stack-deploys.ts';

export interface StrategyState {
  strategy: DeployBody['strategy'];
  services: string; probePort: string; probePath: string; steps: string; stepSeconds: string; keepOldRunning: boolean; removeOldAfter: string;
}

export const INITIAL_STRATEGY: StrategyState = { strategy: 'rolling', services: '', probePort: '', probePath: '/', steps: '10,50,100', stepSeconds: '15', keepOldRunning: false, removeOldAfter: '' };

/** The body's strategy and options, or an error naming the field to fix. */
export function strategyBody(s: StrategyState): { strategy: DeployBody['strategy']; strategyOptions?: StrategyOptions } | { error: string } {
  if (s.strategy === 'rolling') return { strategy: 'rolling' };
  const o: StrategyOptions = {};
  const services = s.services.split(/[\s,]+/).filter(Boolean);
  if (services.length) o.services = services;
  if (s.probePort.trim()) {
    const port = Number(s.probePort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return { error: 'Probe port: a number from 1 to 65535.' };
    if (!s.probePath.startsWith('/')) return { error: 'Probe path: starts with /.' };
    o.probe = { port, path: s.probePath };
  }
  if (s.strategy === 'canary') {
    const steps = s.steps.split(/[\s,%]+/).filter(Boolean).map(Number);
    if (!steps.length || steps.some((v, i) => !Number.isInteger(v) || v < 1 || v > 100 || (i > 0 && v <= steps[i - 1]!)) || steps.at(-1) !== 100) {
      return { error: 'Canary steps: increasing percentages ending at 100, e.g. 10,50,100.' };
    }
    o.steps = steps;
    if (s.stepSeconds.trim()) o.stepSeconds = Number(s.stepSeconds);
  } else {
    o.keepOldRunning = s.keepOldRunning;
    if (s.removeOldAfter.trim()) o.removeOldAfterSeconds = Number(s.removeOldAfter);
  }
  return { strategy: s.strategy, strategyOptions: o };
}

export function StrategyFields({ value, onChange }: { value: StrategyState; onChange: (v: StrategyState) => void }) {
  const set = (patch: Partial<StrategyState>) => onChange({ ...value, ...patch });
  const text = (key: keyof StrategyState) => (e: Event) => set({ [key]: (e.target as HTMLInputElement).value } as Partial<StrategyState>);
  return (
    <fieldset class="deploy-strategy">
      <legend>Strategy</legend>
      <label class="inline">Strategy
        <select name="strategy" value={value.strategy} onChange={(e) => set({ strategy: (e.target as HTMLSelectElement).value as DeployBody['strategy'] })}>
          <option value="rolling">rolling (the engine's update, rolled back on failure)</option>
          <option value="blue-green">blue-green (the new version beside the old, then the name switches)</option>
          <option value="canary">canary (the new version on a share of the tasks, step by step)</option>
        </select>
      </label>
      {value.strategy !== 'rolling' && (
        <>
          <label>Services it applies to (Compose names, comma-separated; empty: every changed one)<input name="strategyServices" value={value.services} onInput={text('services')} spellcheck={false} /></label>
          <label class="inline">HTTP probe port (optional)<input name="probePort" type="number" min={1} max={65535} value={value.probePort} onInput={text('probePort')} /></label>
          <label class="inline">Probe path<input name="probePath" value={value.probePath} onInput={text('probePath')} spellcheck={false} /></label>
        </>
      )}
      {value.strategy === 'canary' && (
        <>
          <label class="inline">Canary steps (% of tasks)<input name="canarySteps" value={value.steps} onInput={text('steps')} spellcheck={false} /></label>
          <label class="inline">Watch each step for (s)<input name="stepSeconds" type="number" min={1} max={3600} value={value.stepSeconds} onInput={text('stepSeconds')} /></label>
        </>
      )}
      {value.strategy === 'blue-green' && (
        <>
          <label class="check"><input type="checkbox" name="keepOldRunning" checked={value.keepOldRunning} onChange={(e) => set({ keepOldRunning: (e.target as HTMLInputElement).checked })} /> keep the old version running after the switch (instant rollback)</label>
          <label class="inline">Remove the old version after (s; empty: the server's default)<input name="removeOldAfter" type="number" min={0} max={86400} value={value.removeOldAfter} onInput={text('removeOldAfter')} /></label>
        </>
      )}
    </fieldset>
  );
}
