import { describe, expect, it } from 'vitest';
import { Counter, Histogram, createMetrics, methodLabel } from './metrics';

describe('exposition format 0.0.4', () => {
  it('counters: HELP, TYPE, one line per label set, escaped label values', () => {
    const c = new Counter('x_total', 'Things\\counted\nhere.', ['route', 'code']);
    c.inc({ route: '/a', code: 'E' });
    c.inc({ route: '/a', code: 'E' }, 2);
    c.inc({ route: 'quote"back\\slash\nnl', code: '' });
    expect(c.render()).toEqual([
      '# HELP x_total Things\\\\counted\\nhere.',
      '# TYPE x_total counter',
      'x_total{route="/a",code="E"} 3',
      'x_total{route="quote\\"back\\\\slash\\nnl",code=""} 1',
    ]);
    expect(c.get({ route: '/a', code: 'E' })).toBe(3);
  });

  it('a counter without labels is exposed at 0', () => {
    expect(new Counter('y_total', 'Y.', []).render()).toEqual([
      '# HELP y_total Y.',
      '# TYPE y_total counter',
      'y_total 0',
    ]);
  });

  it('histograms: cumulative buckets, +Inf, sum and count', () => {
    const h = new Histogram('d_seconds', 'D.', ['route'], [0.1, 1]);
    h.observe({ route: '/a' }, 0.05);
    h.observe({ route: '/a' }, 0.5);
    h.observe({ route: '/a' }, 3);
    expect(h.render()).toEqual([
      '# HELP d_seconds D.',
      '# TYPE d_seconds histogram',
      'd_seconds_bucket{route="/a",le="0.1"} 1',
      'd_seconds_bucket{route="/a",le="1"} 2',
      'd_seconds_bucket{route="/a",le="+Inf"} 3',
      'd_seconds_sum{route="/a"} 3.55',
      'd_seconds_count{route="/a"} 3',
    ]);
  });

  it('the registry renders every metric, newline-terminated, with valid names', () => {
    const text = createMetrics().render();
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+)$/,
      );
    }
    for (const name of [
      'tacit_http_requests_total',
      'tacit_http_request_duration_seconds',
      'tacit_attestations_accepted_total',
      'tacit_attestations_rejected_total',
      'tacit_rate_limited_total',
      'tacit_policy_decisions_total',
      'tacit_audit_write_failures_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('unknown HTTP methods collapse into one label value', () => {
    expect(methodLabel('GET')).toBe('GET');
    expect(methodLabel('BREW')).toBe('OTHER');
  });
});
