import { describe, expect, it } from 'vitest';
import { counterValue, createMetrics, methodLabel } from './metrics';

describe('the server’s metrics (prom-client)', () => {
  it('renders every metric in the text exposition, with valid names', async () => {
    const text = await createMetrics().render();
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trimEnd().split('\n').filter(Boolean)) {
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
      'tacit_ssf_events_queued_total',
      'tacit_ssf_push_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // A counter without labels is exposed at 0 before anything happened.
    expect(text).toContain('tacit_attestations_accepted_total 0');
  });

  it('counts per label set; each server instance has its own registry', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.attestationsRejected.inc({ code: 'ERR_REPLAY' });
    a.attestationsRejected.inc({ code: 'ERR_REPLAY' }, 2);
    a.httpDuration.observe({ method: 'POST', route: '/v1/attestations' }, 0.003);
    expect(await counterValue(a.attestationsRejected, { code: 'ERR_REPLAY' })).toBe(3);
    expect(await counterValue(a.attestationsRejected, { code: 'ERR_CHAIN' })).toBe(0);
    expect(await counterValue(b.attestationsRejected, { code: 'ERR_REPLAY' })).toBe(0);
    const text = await a.render();
    expect(text).toContain('tacit_attestations_rejected_total{code="ERR_REPLAY"} 3');
    expect(text).toContain(
      'tacit_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/attestations"} 1',
    );
  });

  it('unknown HTTP methods collapse into one label value', () => {
    expect(methodLabel('GET')).toBe('GET');
    expect(methodLabel('BREW')).toBe('OTHER');
  });
});
