// Prometheus metrics (prom-client): one registry per server instance so tests
// can run several servers in one process.
import client from 'prom-client';

export interface Metrics {
  registry: client.Registry;
  httpRequests: client.Histogram<'method' | 'route' | 'status'>;
  hostSyncs: client.Histogram<'result'>;
  hostsByStatus: client.Gauge<'status'>;
}

/** hostCounts feeds the per-status gauge at scrape time, so it is never stale. */
export function createMetrics(hostCounts: () => Promise<Record<string, number>>): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'flotilla_' });
  return {
    registry,
    httpRequests: new client.Histogram({
      name: 'flotilla_http_request_duration_seconds', help: 'REST request duration', labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
    }),
    hostSyncs: new client.Histogram({
      name: 'flotilla_host_sync_duration_seconds', help: 'Duration of one host inventory sync', labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
    }),
    hostsByStatus: new client.Gauge({
      name: 'flotilla_hosts', help: 'Registered hosts by status', labelNames: ['status'], registers: [registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await hostCounts())) this.set({ status }, n);
      },
    }),
  };
}
