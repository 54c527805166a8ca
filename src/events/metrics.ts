import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock/clock.js';
import type { RouteFamily } from './route-family.js';

// Project names are set by administrators, but with `auth: none` anyone names one by pushing: past this many
// distinct values a project counts as `other`, so that the series stay bounded.
const MAX_PROJECT_LABELS = 1000;
// Storage per project is a query over every link: computed on scrape at most this often.
const STORAGE_CACHE_MS = 30_000;

const PROMTOOL_REFUSED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export interface RequestObservation {
  family: RouteFamily;
  method: string;
  status: number;
  seconds: number;
  received: number;
  sent: number;
}

export interface MetricsOptions {
  clock: Clock;
  /** Bytes stored per project (blobs linked and manifests), computed from the metadata. */
  storageBytes: () => Promise<Map<string, number>>;
  /** Process metrics (CPU, memory, event loop, handles); off in tests that make many servers. */
  processMetrics?: boolean | undefined;
}

/**
 * The server's Prometheus metrics, in a registry of their own (never prom-client's global one, so two
 * servers in one process, as in tests, do not share counters). Labels are bounded: route families, methods,
 * status codes, projects; never repositories, digests, tags or user names.
 */
export class RegistryMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'family' | 'method' | 'status'>;
  private readonly durations: Histogram<'family' | 'method'>;
  private readonly received: Counter<'family'>;
  private readonly sent: Counter<'family'>;
  private readonly uploadsInProgress: Gauge;
  private readonly uploadDuration: Histogram;
  private readonly pushes: Counter<'project'>;
  private readonly pulls: Counter<'project'>;
  private readonly projects = new Set<string>();
  private storageCache: { at: number; value: Map<string, number> } | undefined;

  constructor(private readonly options: MetricsOptions) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'berth_http_requests_total',
      help: 'HTTP requests answered, by route family, method and status code.',
      labelNames: ['family', 'method', 'status'],
      registers,
    });
    this.durations = new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, by route family and method.',
      labelNames: ['family', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.received = new Counter({
      name: 'berth_http_received_bytes_total',
      help: 'Bytes read from clients, by route family.',
      labelNames: ['family'],
      registers,
    });
    this.sent = new Counter({
      name: 'berth_http_sent_bytes_total',
      help: 'Bytes written to clients, by route family.',
      labelNames: ['family'],
      registers,
    });
    this.uploadsInProgress = new Gauge({
      name: 'berth_uploads_in_progress',
      help: 'Requests writing blob bytes right now (upload sessions being written, monolithic uploads).',
      registers,
    });
    this.uploadDuration = new Histogram({
      name: 'berth_upload_request_duration_seconds',
      help: 'Time taken by requests that write blob bytes (POST, PATCH and PUT on upload sessions).',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800],
      registers,
    });
    this.pushes = new Counter({
      name: 'berth_pushes_total',
      help: 'Manifests pushed, by project.',
      labelNames: ['project'],
      registers,
    });
    this.pulls = new Counter({
      name: 'berth_pulls_total',
      help: 'Manifests pulled (GET), by project.',
      labelNames: ['project'],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'berth_storage_bytes',
      help: 'Bytes of blobs and manifests stored per project (a blob linked to two projects counts in both).',
      labelNames: ['project'],
      registers,
      async collect() {
        const usage = await metrics.storageBytes();
        this.reset();
        for (const [project, bytes] of usage) this.set({ project }, bytes);
      },
    });
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters, which `promtool check metrics` refuses; the per-type gauges beside
      // them (nodejs_active_handles{type=...}) carry the same figures.
      for (const name of PROMTOOL_REFUSED) this.registry.removeSingleMetric(name);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  observeRequest(o: RequestObservation): void {
    const status = String(o.status);
    this.requests.inc({ family: o.family, method: o.method, status });
    this.durations.observe({ family: o.family, method: o.method }, o.seconds);
    if (o.received > 0) this.received.inc({ family: o.family }, o.received);
    if (o.sent > 0) this.sent.inc({ family: o.family }, o.sent);
  }

  uploadStarted(): void {
    this.uploadsInProgress.inc();
  }

  uploadEnded(seconds: number): void {
    this.uploadsInProgress.dec();
    this.uploadDuration.observe(seconds);
  }

  pushed(project: string): void {
    this.pushes.inc({ project: this.projectLabel(project) });
  }

  pulled(project: string): void {
    this.pulls.inc({ project: this.projectLabel(project) });
  }

  private projectLabel(project: string): string {
    if (this.projects.has(project)) return project;
    if (this.projects.size >= MAX_PROJECT_LABELS) return 'other';
    this.projects.add(project);
    return project;
  }

  private async storageBytes(): Promise<Map<string, number>> {
    const now = this.options.clock.now();
    if (this.storageCache && now - this.storageCache.at < STORAGE_CACHE_MS) return this.storageCache.value;
    const value = await this.options.storageBytes();
    this.storageCache = { at: now, value };
    return value;
  }
}
