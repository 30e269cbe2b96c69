/**
 * The server's Prometheus metrics, with prom-client: one registry per server instance (tests
 * build many apps in one process, so the library's global registry is not used). Label values
 * come from bounded sets only (route patterns, status codes, error codes, actions), never from
 * ids or input.
 *
 * @module
 */
import { Counter, Histogram, Registry, type LabelValues } from 'prom-client';

/** `Content-Type` of the exposition (text format 0.0.4). */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** The server's metrics. */
export interface Metrics {
  /** `tacit_http_requests_total{method, route, status}` */
  httpRequests: Counter<'method' | 'route' | 'status'>;
  /** `tacit_http_request_duration_seconds{method, route}` */
  httpDuration: Histogram<'method' | 'route'>;
  /** `tacit_attestations_accepted_total` */
  attestationsAccepted: Counter;
  /** `tacit_attestations_rejected_total{code}` */
  attestationsRejected: Counter<'code'>;
  /** `tacit_rate_limited_total{class}` (class: rp, device, address) */
  rateLimited: Counter<'class'>;
  /** `tacit_policy_decisions_total{action}` */
  decisions: Counter<'action'>;
  /** `tacit_audit_write_failures_total` */
  auditWriteFailures: Counter;
  /** `tacit_ssf_events_queued_total`: SETs queued for streams (fan-out and verification). */
  ssfQueued: Counter;
  /** `tacit_ssf_push_total{outcome}` (outcome: delivered, retry, dead) */
  ssfPush: Counter<'outcome'>;
  /** The whole exposition. */
  render(): Promise<string>;
}

/** Upper bounds of the request-duration histogram (s). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Creates an empty set of the server's metrics in a registry of its own. */
export function createMetrics(): Metrics {
  const registers = [new Registry()];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  return {
    httpRequests: counter(
      'tacit_http_requests_total',
      'HTTP requests by route pattern and status.',
      ['method', 'route', 'status'],
    ),
    httpDuration: new Histogram({
      name: 'tacit_http_request_duration_seconds',
      help: 'Time to answer an HTTP request.',
      labelNames: ['method', 'route'] as const,
      buckets: [...DURATION_BUCKETS],
      registers,
    }),
    attestationsAccepted: counter(
      'tacit_attestations_accepted_total',
      'Attestations accepted and committed.',
      [],
    ),
    attestationsRejected: counter(
      'tacit_attestations_rejected_total',
      'Attestations rejected, by error code.',
      ['code'],
    ),
    rateLimited: counter(
      'tacit_rate_limited_total',
      'Requests refused with ERR_RATE_LIMITED, by client class.',
      ['class'],
    ),
    decisions: counter('tacit_policy_decisions_total', 'Policy decisions by action.', ['action']),
    auditWriteFailures: counter(
      'tacit_audit_write_failures_total',
      'Audit records that could not be written.',
      [],
    ),
    ssfQueued: counter(
      'tacit_ssf_events_queued_total',
      'Security Event Tokens queued for Shared Signals streams.',
      [],
    ),
    ssfPush: counter(
      'tacit_ssf_push_total',
      'Shared Signals push attempts by outcome (delivered, retry, dead).',
      ['outcome'],
    ),
    render: () => registers[0]!.metrics(),
  };
}

/** The value of one series of a counter (0 when it was never incremented). */
export async function counterValue<L extends string>(
  counter: Counter<L>,
  labels: LabelValues<L> = {},
): Promise<number> {
  const wanted = Object.entries(labels);
  const { values } = await counter.get();
  const series = values.find(
    (v) =>
      Object.keys(v.labels).length === wanted.length &&
      wanted.every(([k, x]) => String((v.labels as Record<string, unknown>)[k]) === String(x)),
  );
  return series?.value ?? 0;
}

/** HTTP methods kept as a label value; anything else is `OTHER` (bounded cardinality). */
export function methodLabel(method: string): string {
  return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].includes(method)
    ? method
    : 'OTHER';
}
