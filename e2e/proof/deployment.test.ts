import { describe, expect, it } from 'vitest';
import { deploymentPart } from './deployment';
import { violations, type ProofReport } from './report';

// The deployment part at CI size (seconds, a few sessions), through the same code as
// `npm run test:proof -- --only deployment`. No throughput threshold (a shared 2-core machine
// decides those); what must hold whatever the load: nothing acknowledged is lost, the drain
// sees no error, every session is served after each event.
describe('proof: deployment (CI size)', () => {
  it('nginx + 2 instances + Redis: throughput rows, kill -9 and drain under load', async () => {
    const report: ProofReport = { size: 'ci', startedAt: new Date().toISOString() };
    await deploymentPart({ size: 'ci' }, report);

    expect(report.deployment?.map((d) => [d.topology, d.instances])).toEqual([
      ['one instance, direct (baseline)', 1],
      ['nginx TLS 1.3 + 1 instance', 1],
      ['nginx TLS 1.3 + 2 instances', 2],
    ]);
    const events = report.deploymentEvents ?? [];
    expect(events.map((e) => e.name)).toEqual([
      'kill -9 tacit-2 under load',
      'drain + restart tacit-1 under load',
    ]);
    for (const e of events) {
      expect(e.acknowledged, e.name).toBeGreaterThan(0);
      expect(e.found, e.name).toBe(e.acknowledged);
      expect(e.sessionsServed, e.name).toBe(e.liveSessions);
      expect(e.liveSessions, e.name).toBeGreaterThan(0);
    }
    const drain = events[1]!;
    expect(drain.errorsByKind).toEqual({});
    expect(drain.detail).toMatch(/exit 0/);
    expect(violations(report)).toEqual([]);
  }, 120_000);
});
