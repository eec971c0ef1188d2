// A windowed list over @tanstack/virtual-core: only the rows in view (plus a
// few) are in the DOM, so 10,000 containers render as fast as 100.
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';

export function VirtualList<T>(props: { items: T[]; rowHeight: number; height: string; row: (item: T, index: number) => ComponentChildren; label: string }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [v] = useState(() => new Virtualizer<HTMLDivElement, HTMLDivElement>({
    count: props.items.length, getScrollElement: () => scroller.current, estimateSize: () => props.rowHeight, overscan: 12,
    scrollToFn: elementScroll, observeElementRect, observeElementOffset, onChange: () => rerender(0),
  }));
  v.setOptions({ ...v.options, count: props.items.length, estimateSize: () => props.rowHeight });
  useEffect(() => v._didMount(), []);
  useLayoutEffect(() => v._willUpdate());
  return (
    <div ref={scroller} class="vlist" style={{ height: props.height }} role="list" aria-label={props.label}>
      <div style={{ height: `${v.getTotalSize()}px`, position: 'relative' }}>
        {v.getVirtualItems().map((it) => (
          <div key={it.key} role="listitem" class="vrow" style={{ position: 'absolute', top: 0, left: 0, right: 0, height: `${it.size}px`, transform: `translateY(${it.start}px)` }}>
            {props.row(props.items[it.index]!, it.index)}
          </div>
        ))}
      </div>
    </div>
  );
}
