// An accessible tab list (WAI-ARIA tabs: arrow keys move between tabs, only the
// chosen one is in the tab order); the panel is the caller's child.
import type { ComponentChildren } from 'preact';

export function Tabs<T extends string>(props: { tabs: readonly (readonly [T, string])[]; current: T; label: string; onSelect: (tab: T) => void; children: ComponentChildren; class?: string }) {
  const { tabs, current } = props;
  return (
    <>
      <div role="tablist" aria-label={props.label} class={props.class ?? 'resource-tabs'}>
        {tabs.map(([t, label]) => (
          <button key={t} type="button" role="tab" id={`tab-${t}`} aria-selected={t === current} aria-controls={t === current ? `panel-${t}` : undefined}
            tabIndex={t === current ? 0 : -1} onClick={() => props.onSelect(t)}
            onKeyDown={(e) => {
              const i = tabs.findIndex(([x]) => x === current);
              const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : undefined;
              if (next === undefined) return;
              const to = tabs[(next + tabs.length) % tabs.length]![0];
              props.onSelect(to);
              (document.getElementById(`tab-${to}`) as HTMLButtonElement | null)?.focus();
            }}>{label}</button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${current}`} aria-labelledby={`tab-${current}`} class="tabpanel">{props.children}</div>
    </>
  );
}
