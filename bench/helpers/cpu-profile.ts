// Samples this process's CPU with the V8 profiler for a while and says where the
// time went: self time per function and per area (grpc-js, TLS, SQLite …).
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuBreakdown {
  totalMs: number;
  areas: [string, number][];
  functions: [string, number][];
}

/** Where a function lives, coarsely: enough to see which layer is busy. */
function areaOf(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)' || (!url && fn.startsWith('('))) return 'V8/native (program)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').replace(/\/.*$/, '').replace(/_.*$/, '');
  const src = /\/(src\/[^/]+)\//.exec(url);
  if (src) return src[1]!;
  return url ? 'other' : `native: ${fn || '(anonymous)'}`;
}

export async function profileCpu(ms: number, top = 15): Promise<CpuBreakdown> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 1000 });
    await session.post('Profiler.start');
    await new Promise((r) => setTimeout(r, ms));
    const { profile } = await session.post('Profiler.stop');
    const nodes = new Map<number, ProfileNode>((profile.nodes as ProfileNode[]).map((n) => [n.id, n]));
    const parent = new Map<number, ProfileNode>();
    for (const n of nodes.values()) for (const c of n.children ?? []) parent.set(c, n);
    // Native code (SQLite, TLS, zlib) has no URL: name it after the nearest JavaScript caller.
    const caller = (n: ProfileNode): ProfileNode => {
      let p = parent.get(n.id);
      while (p && !p.callFrame.url) p = parent.get(p.id);
      return p ?? n;
    };
    const byFn = new Map<string, number>();
    const byArea = new Map<string, number>();
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    let totalMs = 0;
    for (let i = 0; i < samples.length; i++) {
      const node = nodes.get(samples[i]!);
      if (!node) continue;
      const dt = (deltas[i] ?? 0) / 1000;
      const native = !node.callFrame.url && !/^\((idle|program|garbage collector|root)\)$/.test(node.callFrame.functionName);
      const { functionName, url, lineNumber } = native ? caller(node).callFrame : node.callFrame;
      const name = `${native ? `native ${node.callFrame.functionName || '(anonymous)'} < ` : ''}${functionName || '(anonymous)'}`;
      const area = areaOf(url, name);
      byArea.set(area, (byArea.get(area) ?? 0) + dt);
      if (area !== 'idle' && area !== 'node:inspector') {
        const where = /node_modules\//.test(url) ? `${area}/${url.slice(url.lastIndexOf('/') + 1)}` : url.replace(/^.*\/(src\/)/, '$1');
        const key = `${name} ${where}${url ? `:${lineNumber + 1}` : ''}`;
        byFn.set(key, (byFn.get(key) ?? 0) + dt);
        totalMs += dt;
      }
    }
    const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
    return { totalMs, areas: sorted(byArea), functions: sorted(byFn) };
  } finally {
    session.disconnect();
  }
}
