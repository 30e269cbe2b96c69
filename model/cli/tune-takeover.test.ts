import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { TAKEOVER_GRID, runTuneTakeover } from './tune-takeover';

/** The shared public datasets, beside the repository (skipped when absent). */
const aalto = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/datasets/aalto-dev');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('npm run tune -- takeover', () => {
  it('refuses a hop outside [1, keysPerWindow]', async () => {
    await expect(runTuneTakeover(['--data', aalto, '--hops', '25'])).rejects.toThrow(
      /each hop must be an integer in \[1, 20\]/,
    );
  });

  it.skipIf(!existsSync(aalto))(
    'prints the hop × clamp × budget grid and the rule’s choice per hop, on validation users',
    async () => {
      const lines: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((l: string) => void lines.push(l));
      const err = vi.spyOn(console, 'error').mockImplementation(() => {});
      try {
        const args = ['--data', aalto, '--offset', '1000', '--users', '6', '--impostors', '2'];
        await runTuneTakeover([...args, '--hops', '20,10']);
      } finally {
        log.mockRestore();
        err.mockRestore();
      }
      const rows = lines.filter((l) => /^\s*\d+\s+\d+\s+\d+\s/.test(l));
      expect(rows).toHaveLength(2 * TAKEOVER_GRID.clamps.length * TAKEOVER_GRID.budgets.length);
      for (const r of rows) {
        const clean = Number(r.trim().split(/\s+/)[6]);
        expect(clean).toBeGreaterThanOrEqual(0);
        expect(clean).toBeLessThanOrEqual(100);
      }
      const chosen = lines.filter((l) => /^hop \d+: chosen/.test(l));
      expect(chosen).toHaveLength(2);
      expect(chosen[0]).toMatch(/^hop 20: chosen .* on 5 users, 10 pairs$/);
    },
    60_000,
  );
});
