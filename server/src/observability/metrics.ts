/**
 * Prometheus metrics, written by hand in the text exposition format 0.0.4 (no dependency):
 * counters and one histogram, in memory, per process. Label values come from bounded sets
 * only (route patterns, status codes, error codes, actions), never from ids or input.
 *
 * @module
 */

/** `Content-Type` of the exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const escapeLabel = (v: string) =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`).join(',')}}`;
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected key(labels: Labels): string[] {
    return this.labelNames.map((n) => labels[n] ?? '');
  }

  protected header(type: string): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${type}`];
  }

  abstract render(): string[];
}

/** A monotonically increasing counter, per label combination. */
export class Counter extends Metric {
  readonly #values = new Map<string, { labels: string[]; value: number }>();

  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const values = this.key(labels);
    const k = JSON.stringify(values);
    const entry = this.#values.get(k) ?? { labels: values, value: 0 };
    entry.value += by;
    this.#values.set(k, entry);
  }

  /** Current value of one series (0 if never incremented). */
  get(labels: Labels = {}): number {
    return this.#values.get(JSON.stringify(this.key(labels)))?.value ?? 0;
  }

  render(): string[] {
    const lines = this.header('counter');
    // A counter without labels is always exposed, 0 included.
    if (this.labelNames.length === 0 && this.#values.size === 0) lines.push(`${this.name} 0`);
    for (const { labels, value } of this.#values.values()) {
      lines.push(`${this.name}${labelText(this.labelNames, labels)} ${formatValue(value)}`);
    }
    return lines;
  }
}

/** A histogram with fixed upper bounds, per label combination. */
export class Histogram extends Metric {
  readonly #series = new Map<
    string,
    { labels: string[]; counts: number[]; sum: number; n: number }
  >();

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }

  /** Records one observation. */
  observe(labels: Labels, value: number): void {
    const values = this.key(labels);
    const k = JSON.stringify(values);
    let s = this.#series.get(k);
    if (!s) {
      s = { labels: values, counts: this.buckets.map(() => 0), sum: 0, n: 0 };
      this.#series.set(k, s);
    }
    for (const [i, le] of this.buckets.entries()) if (value <= le) s.counts[i]! += 1;
    s.sum += value;
    s.n += 1;
  }

  render(): string[] {
    const lines = this.header('histogram');
    const names = [...this.labelNames, 'le'];
    for (const s of this.#series.values()) {
      for (const [i, le] of this.buckets.entries()) {
        const labels = labelText(names, [...s.labels, formatValue(le)]);
        lines.push(`${this.name}_bucket${labels} ${s.counts[i]}`);
      }
      lines.push(`${this.name}_bucket${labelText(names, [...s.labels, '+Inf'])} ${s.n}`);
      const own = labelText(this.labelNames, s.labels);
      lines.push(`${this.name}_sum${own} ${formatValue(s.sum)}`);
      lines.push(`${this.name}_count${own} ${s.n}`);
    }
    return lines;
  }
}

/** The server's metrics. */
export interface Metrics {
  /** `tacit_http_requests_total{method, route, status}` */
  httpRequests: Counter;
  /** `tacit_http_request_duration_seconds{method, route}` */
  httpDuration: Histogram;
  /** `tacit_attestations_accepted_total` */
  attestationsAccepted: Counter;
  /** `tacit_attestations_rejected_total{code}` */
  attestationsRejected: Counter;
  /** `tacit_rate_limited_total{class}` (class: rp, device, address) */
  rateLimited: Counter;
  /** `tacit_policy_decisions_total{action}` */
  decisions: Counter;
  /** `tacit_audit_write_failures_total` */
  auditWriteFailures: Counter;
  /** The whole exposition, ending with a newline. */
  render(): string;
}

/** Upper bounds of the request-duration histogram (s). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Creates an empty set of the server's metrics. */
export function createMetrics(): Metrics {
  const m = {
    httpRequests: new Counter(
      'tacit_http_requests_total',
      'HTTP requests by route pattern and status.',
      ['method', 'route', 'status'],
    ),
    httpDuration: new Histogram(
      'tacit_http_request_duration_seconds',
      'Time to answer an HTTP request.',
      ['method', 'route'],
      DURATION_BUCKETS,
    ),
    attestationsAccepted: new Counter(
      'tacit_attestations_accepted_total',
      'Attestations accepted and committed.',
      [],
    ),
    attestationsRejected: new Counter(
      'tacit_attestations_rejected_total',
      'Attestations rejected, by error code.',
      ['code'],
    ),
    rateLimited: new Counter(
      'tacit_rate_limited_total',
      'Requests refused with ERR_RATE_LIMITED, by client class.',
      ['class'],
    ),
    decisions: new Counter('tacit_policy_decisions_total', 'Policy decisions by action.', [
      'action',
    ]),
    auditWriteFailures: new Counter(
      'tacit_audit_write_failures_total',
      'Audit records that could not be written.',
      [],
    ),
  };
  const all: Metric[] = Object.values(m);
  return { ...m, render: () => `${all.flatMap((x) => x.render()).join('\n')}\n` };
}

/** HTTP methods kept as a label value; anything else is `OTHER` (bounded cardinality). */
export function methodLabel(method: string): string {
  return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].includes(method)
    ? method
    : 'OTHER';
}
