import { describe, expect, it } from 'vitest';
import { runServerFaults } from './faults';

// The proof's server-side faults at their CI size (8 sessions, ~3 s of load each), through
// the same code as `npm run test:proof`: real redis-server, real server processes, a real
// tmpfs. The full run (`npm run test:proof -- --only faults`) is larger and also pauses Redis.

describe('faults (CI size)', () => {
  it('Redis killed, server kill -9, disk full: nothing acknowledged lost, fail closed, recovery', async () => {
    const rows = await runServerFaults('ci', () => {});
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(Object.keys(byName)).toEqual([
      'Redis kill -9 under load',
      'server kill -9 under load (SQLite)',
      'disk full under load (SQLite on tmpfs)',
    ]);
    for (const row of rows) {
      if (row.detail.startsWith('skipped: ')) {
        // Only the tmpfs may be impossible (not root): said, never faked.
        expect(row.name).toMatch(/disk full/);
        console.warn(`${row.name}: ${row.detail}`);
        continue;
      }
      expect(row.acknowledged, row.name).toBeGreaterThan(0);
      expect(row.found, row.name).toBe(row.acknowledged);
      expect(row.auditOk, row.name).toBe(true);
      expect(row.recovered, `${row.name}: ${row.detail}`).toBe(true);
    }

    // Redis down: fail closed with the stable 503, never a bare 500; same process recovers.
    const redis = byName['Redis kill -9 under load']!;
    expect(redis.duringFault).toBe('503 ERR_STORE_UNAVAILABLE');
    expect(redis.answers?.ERR_STORE_UNAVAILABLE ?? 0).toBeGreaterThan(0);
    expect(redis.answers).not.toHaveProperty('ERR_INTERNAL');
    expect(redis.serverStayedUp).toBe(true);

    const disk = byName['disk full under load (SQLite on tmpfs)']!;
    if (!disk.detail.startsWith('skipped: ')) {
      expect(disk.duringFault).toBe('503 ERR_STORAGE_FULL');
      expect(disk.answers).not.toHaveProperty('ERR_INTERNAL');
      expect(disk.serverStayedUp).toBe(true);
    }
  }, 120_000);
});
