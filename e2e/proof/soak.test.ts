import { describe, expect, it } from 'vitest';
import { runSoak, soakSize } from './soak';

// The proof's soak at its CI size (100 sessions attesting every 5 s for 15 s, p99 per 5 s
// slice) through the same code as `npm run test:proof`. No latency or memory thresholds: on a
// shared machine they mean nothing here; the full run's figures are in docs/proof.md.

describe('soak (CI size)', () => {
  it('100 concurrent sessions for 15 s: zero errors, RSS and p99 per slice reported', async () => {
    const size = soakSize('ci');
    expect(size).toEqual({ sessions: 100, seconds: 15, sliceSeconds: 5 });
    const r = await runSoak({ ...size, log: () => {} });
    expect(r.errors).toBe(0);
    expect(r.sessions).toBe(100);
    // 100 sessions ÷ 5 s = 20 attestations/s for 15 s.
    expect(r.requests).toBe(300);
    expect(r.p99PerMinuteMs).toHaveLength(3);
    for (const p99 of r.p99PerMinuteMs) expect(p99).toBeGreaterThan(0);
    expect(r.rssStartMb).toBeGreaterThan(0);
    expect(r.rssEndMb).toBeGreaterThan(0);
    expect(r.rssPerSliceMb.length).toBeGreaterThanOrEqual(2);
  }, 90_000);
});
