import { describe, expect, it } from 'vitest';
import { MIN_RATE, START_RATE, searchRates, type ServerBenchStep } from './server';

/** A step of a server that sustains `capacity`/s: only the fields the search reads. */
const against = (capacity: number) => async (rate: number) =>
  ({ rate, pass: rate <= capacity, failures: rate <= capacity ? [] : ['p99'] }) as ServerBenchStep;

const bestOf = (steps: ServerBenchStep[]) =>
  Math.max(0, ...steps.filter((s) => s.pass).map((s) => s.rate));

describe('the server bench step search', () => {
  it.each([3, 40, 180, 260, 1234, 2900, 7450, 20_000])(
    'finds a sustained rate within 15%% of a capacity of %i/s, never 0',
    async (capacity) => {
      const { steps, stoppedBy } = await searchRates(null, against(capacity));
      const found = bestOf(steps);
      if (capacity < MIN_RATE) {
        expect(found).toBe(0);
        expect(stoppedBy).toContain(`${MIN_RATE}/s`);
        return;
      }
      expect(found).toBeGreaterThan(0);
      expect(found).toBeLessThanOrEqual(capacity);
      expect(found).toBeGreaterThanOrEqual(capacity * 0.85 - 5);
      expect(steps[0]!.rate).toBe(START_RATE);
      expect(steps.length).toBeLessThanOrEqual(12);
    },
  );

  it('with given rates, stops at the first failing one', async () => {
    const { steps, stoppedBy } = await searchRates([100, 200, 300, 400], against(250));
    expect(steps.map((s) => s.rate)).toEqual([100, 200, 300]);
    expect(stoppedBy).toBe('300/s: p99');
  });
});
