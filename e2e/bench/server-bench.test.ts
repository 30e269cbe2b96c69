import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJson } from './report';
import { STORES, isSkipped, runServerBench, type ServerBenchResult } from './server';

// The server bench with tiny parameters (50 sessions, one 2 s step at a low rate), through the
// same code as `npm run bench -- server`, so it cannot rot. No timing thresholds: figures on a
// shared machine mean nothing here; the full run is documented in docs/benchmarks.md.

const dir = mkdtempSync(join(tmpdir(), 'tacit-server-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectFinite(value: unknown, what: string, min = 0): void {
  expect(typeof value, what).toBe('number');
  expect(Number.isFinite(value), what).toBe(true);
  expect(value as number, what).toBeGreaterThanOrEqual(min);
}

describe('server bench (smoke)', () => {
  it('runs every store end to end and writes the documented JSON', async () => {
    const result = await runServerBench({
      sessions: 50,
      rates: [50],
      stepSeconds: 2,
      warmupSeconds: 0.5,
      verifySeconds: 0.2,
      setupConcurrency: 8,
      connections: 8,
      log: () => {},
    });
    const json = JSON.parse(
      readFileSync(writeJson(join(dir, 'server.json'), result), 'utf8'),
    ) as ServerBenchResult;

    expect(json.bench).toBe('server');
    expect(Number.isNaN(Date.parse(json.run.date))).toBe(false);
    expect(json.run.node).toBe(process.version);
    expectFinite(json.run.cpus, 'cpus', 1);
    expectFinite(json.run.durations.totalMs, 'totalMs', 1);
    expectFinite(json.rawVerifyPerSecond, 'rawVerifyPerSecond', 1);
    expect(json.stores.map((s) => s.store)).toEqual([...STORES]);

    // The reference handler continues the SQLite leg's chains: any error is a bug.
    expect(json.reference).not.toBeNull();
    expect(json.reference!.steps).toHaveLength(1);
    expect(json.reference!.steps[0]!.accepted).toBe(100);
    expect(json.reference!.steps[0]!.errorsByKind).toEqual({});
    expect(json.reference!.attestationsPerSecond).toBe(json.reference!.steps[0]!.pass ? 50 : 0);

    const sqlite = json.stores.find((s) => s.store === 'sqlite')!;
    expect(isSkipped(sqlite), 'the SQLite leg always runs').toBe(false);
    for (const store of json.stores) {
      if (isSkipped(store)) {
        expect(store.skipped.length).toBeGreaterThan(0);
        continue;
      }
      expect(store.sessions).toBe(50);
      expect(store.rawVerifyPerSecond).toBe(json.rawVerifyPerSecond);
      expect(store.steps).toHaveLength(1);
      const [step] = store.steps;
      expect(step!.rate).toBe(50);
      expect(step!.scheduled).toBe(100);
      expect(step!.sent).toBe(100);
      // Zero errors is not a timing threshold: any error is a bug in the server or the bench.
      expect(step!.errorsByKind).toEqual({});
      expect(step!.errors + step!.warmupErrors).toBe(0);
      expect(step!.accepted).toBe(100);
      for (const [key, value] of Object.entries(step!.latencyMs)) {
        expectFinite(value, `latencyMs.${key}`);
      }
      expect(step!.latencyMs.p50).toBeLessThanOrEqual(step!.latencyMs.p99);
      expectFinite(step!.sendSlipMs.p99, 'sendSlipMs.p99');
      expectFinite(step!.clientCpu, 'clientCpu');
      expect(typeof step!.pass).toBe('boolean');
      // A pass or not, the headline figures are those of the best passing step.
      expect(store.attestationsPerSecond).toBe(step!.pass ? 50 : 0);
      expectFinite(store.ratioToRawVerify, 'ratioToRawVerify');
      expect(store.errors).toBe(0);
      expect(step!.liveSessions).toBe(50);
      expect(store.referencePerSecond).toBe(json.reference!.attestationsPerSecond);
      const stages = step!.cpuUsPerAttestationByStage!;
      expectFinite(stages.mainThread, 'mainThread µs');
      expectFinite(stages.otherThreads, 'otherThreads µs');
      expect(stages.total).toBe(
        stages.mainThread + stages.otherThreads + (stages.redisServer ?? 0),
      );
      if (store.store === 'redis') expectFinite(stages.redisServer, 'redisServer µs');
    }
  }, 180_000);
});
