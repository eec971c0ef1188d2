// Live resource charts of one container (uPlot): CPU %, memory, network and block
// I/O rates, fed by the NDJSON stats stream (one engine sample a second).
// Loaded on demand by the container page, like the terminal.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './stats-chart.css';
import { path } from '../api.ts';
import { followNdjson } from '../ndjson.ts';
import { bytes } from './ui.tsx';

/** The parts of an engine stats sample we chart (the stream line is the engine's object plus cpu_percent). */
interface StatsLine {
  read: string;
  cpu_percent: number;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
  error?: string;
}

interface Totals { t: number; rx: number; tx: number; blkRead: number; blkWrite: number }

export interface Reading {
  cpu: number;
  memory: number;
  memoryLimit: number;
  rxRate: number;
  txRate: number;
  readRate: number;
  writeRate: number;
  pids: number | undefined;
}

const MAX_POINTS = 120;

/** Memory as `docker stats` shows it: usage less the inactive page cache (cgroup v2, then v1). */
function memoryUsed(m: StatsLine['memory_stats']): number {
  const usage = m?.usage ?? 0;
  const cache = m?.stats?.inactive_file ?? m?.stats?.total_inactive_file ?? 0;
  return cache < usage ? usage - cache : usage;
}

function totalsOf(s: StatsLine): Totals {
  let rx = 0, tx = 0, blkRead = 0, blkWrite = 0;
  for (const n of Object.values(s.networks ?? {})) { rx += n.rx_bytes; tx += n.tx_bytes; }
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') blkRead += e.value;
    else if (op === 'write') blkWrite += e.value;
  }
  return { t: Date.parse(s.read) / 1000, rx, tx, blkRead, blkWrite };
}

/** A counter's rate between two samples; a counter that went back (a restart) counts from zero. */
function rate(now: number, before: number, seconds: number): number {
  if (seconds <= 0) return 0;
  return Math.max(0, now >= before ? now - before : now) / seconds;
}

interface ChartSpec { key: string; title: string; series: { label: string; stroke: string }[]; format: (v: number) => string }

const CHARTS: ChartSpec[] = [
  { key: 'cpu', title: 'CPU', series: [{ label: 'CPU %', stroke: '#1f5fbf' }], format: (v) => `${v.toFixed(v < 10 ? 1 : 0)} %` },
  { key: 'memory', title: 'Memory', series: [{ label: 'used', stroke: '#7a3db8' }], format: (v) => bytes(v) },
  { key: 'network', title: 'Network', series: [{ label: 'rx/s', stroke: '#1d6b35' }, { label: 'tx/s', stroke: '#b3261e' }], format: (v) => `${bytes(v)}/s` },
  { key: 'blkio', title: 'Block I/O', series: [{ label: 'read/s', stroke: '#1d6b35' }, { label: 'write/s', stroke: '#8a5a00' }], format: (v) => `${bytes(v)}/s` },
];

function Chart({ spec, data }: { spec: ChartSpec; data: uPlot.AlignedData }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>();
  useEffect(() => {
    const el = box.current!;
    const u = new uPlot({
      width: Math.max(200, el.clientWidth), height: 140,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 30), max] }, y: { range: (_u, min, max) => [0, Math.max(max, min + 1e-9, spec.key === 'cpu' ? 1 : 1024)] } },
      axes: [{ size: 28 }, { size: 70, values: (_u, vals) => vals.map((v) => spec.format(v)) }],
      series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5 }))],
    }, data, el);
    plot.current = u;
    const observer = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 140 }));
    observer.observe(el);
    return () => { observer.disconnect(); u.destroy(); plot.current = undefined; };
  }, [spec]);
  useEffect(() => { plot.current?.setData(data); }, [data]);
  return <div ref={box} class="chart-canvas" role="img" aria-label={`${spec.title} over the last ${MAX_POINTS} seconds`} />;
}

export function StatsCharts({ host, id }: { host: string; id: string }) {
  const [series, setSeries] = useState<Record<string, uPlot.AlignedData>>({});
  const [reading, setReading] = useState<Reading>();
  const [samples, setSamples] = useState(0);
  const [note, setNote] = useState<string>();

  useEffect(() => {
    const ctl = new AbortController();
    const times: number[] = [];
    const columns: Record<string, number[]> = { cpu: [], memory: [], rx: [], tx: [], read: [], write: [] };
    let previous: Totals | undefined;
    let count = 0;
    const add = (s: StatsLine) => {
      const totals = totalsOf(s);
      const dt = previous ? totals.t - previous.t : 0;
      const r: Reading = {
        cpu: s.cpu_percent, memory: memoryUsed(s.memory_stats), memoryLimit: s.memory_stats?.limit ?? 0,
        rxRate: previous ? rate(totals.rx, previous.rx, dt) : 0, txRate: previous ? rate(totals.tx, previous.tx, dt) : 0,
        readRate: previous ? rate(totals.blkRead, previous.blkRead, dt) : 0, writeRate: previous ? rate(totals.blkWrite, previous.blkWrite, dt) : 0,
        pids: s.pids_stats?.current,
      };
      previous = totals;
      times.push(totals.t);
      columns.cpu!.push(r.cpu); columns.memory!.push(r.memory);
      columns.rx!.push(r.rxRate); columns.tx!.push(r.txRate);
      columns.read!.push(r.readRate); columns.write!.push(r.writeRate);
      if (times.length > MAX_POINTS) { times.shift(); for (const c of Object.values(columns)) c.shift(); }
      const t = times.slice();
      setSeries({
        cpu: [t, columns.cpu!.slice()], memory: [t, columns.memory!.slice()],
        network: [t, columns.rx!.slice(), columns.tx!.slice()], blkio: [t, columns.read!.slice(), columns.write!.slice()],
      });
      setReading(r);
      setSamples(++count);
    };
    void (async () => {
      try {
        await followNdjson<StatsLine>(`/api/v1${path`/hosts/${host}/containers/${id}/stats`}?stream=true`, ctl.signal, (lines) => {
          for (const line of lines) {
            if (line.error) throw new Error(line.error);
            add(line);
          }
        });
        setNote('The stats stream ended (the container stopped?).');
      } catch (err) {
        if (!ctl.signal.aborted) setNote((err as Error).message);
      }
    })();
    return () => ctl.abort();
  }, [host, id]);

  return (
    <section class="stats" aria-labelledby="stats-title" data-samples={samples}>
      <div class="toolbar"><h2 id="stats-title">Resources</h2>{note && <span class="muted">{note}</span>}</div>
      <dl class="readings" aria-label="current usage">
        <div><dt>CPU</dt><dd data-reading="cpu">{reading ? CHARTS[0]!.format(reading.cpu) : '–'}</dd></div>
        <div><dt>Memory</dt><dd data-reading="memory">{reading ? `${bytes(reading.memory)}${reading.memoryLimit ? ` of ${bytes(reading.memoryLimit)}` : ''}` : '–'}</dd></div>
        <div><dt>Network rx / tx</dt><dd data-reading="network">{reading ? `${bytes(reading.rxRate)}/s / ${bytes(reading.txRate)}/s` : '–'}</dd></div>
        <div><dt>Block read / write</dt><dd data-reading="blkio">{reading ? `${bytes(reading.readRate)}/s / ${bytes(reading.writeRate)}/s` : '–'}</dd></div>
        <div><dt>Processes</dt><dd data-reading="pids">{reading?.pids ?? '–'}</dd></div>
      </dl>
      <div class="charts">
        {CHARTS.map((spec) => (
          <figure key={spec.key} class="chart" data-chart={spec.key}>
            <figcaption>{spec.title} <span class="legend">{spec.series.map((s) => <span key={s.label}><i class="swatch" style={{ background: s.stroke }} />{s.label}</span>)}</span></figcaption>
            <Chart spec={spec} data={series[spec.key] ?? [[], ...spec.series.map(() => [])]} />
          </figure>
        ))}
      </div>
    </section>
  );
}
