import { describe, expect, it } from 'vitest';
import { UserModel } from '../detector/user-model';
import { runModelNodeBench } from './model-bench';

// Smoke test of `npm run bench -- model` (Node half) with tiny parameters: the JSON's shape and
// invariants, no timing thresholds (docs/benchmarks.md).
describe('model bench (Node half)', () => {
  it('reports size, fit, score latency against its baseline, and memory', async () => {
    const r = await runModelNodeBench({
      backends: ['cpu'],
      fitReps: 1,
      cycles: 2,
      windows: 20,
      batches: 40,
      detector: { epochs: 3 },
    });
    expect(r.bench).toBe('model');
    expect(r.enrolment).toEqual({ keystroke: 30, pointer: 10 });
    for (const modality of ['keystroke', 'pointer'] as const) {
      expect(r.size[modality].bytes).toBeGreaterThan(1000);
      const f = r.fit.cpu![modality];
      expect(f.timesMs).toHaveLength(1);
      expect(f.medianMs).toBeGreaterThan(0);
      for (const l of [r.score.node[modality].perCall, r.score.node[modality].batched]) {
        for (const x of [
          l.scoreUs.p50,
          l.scoreUs.p95,
          l.scoreUs.p99,
          l.featuresUs.p50,
          l.ratio.p50,
        ]) {
          expect(Number.isFinite(x)).toBe(true);
          expect(x).toBeGreaterThanOrEqual(0);
        }
        expect(l.scoreUs.p99).toBeGreaterThanOrEqual(l.scoreUs.p50);
      }
      expect(r.score.node[modality].perCall.batches).toBe(40);
      // The JSON handed to the worker half loads as a model.
      expect(
        UserModel.fromJSON(r.models[modality]).score(
          new Float32Array(modality === 'keystroke' ? 24 : 20),
        ),
      ).toBeGreaterThanOrEqual(0);
    }
    expect(r.memory.cycles).toBe(2);
    expect(r.memory.numTensorsAfter).toBe(r.memory.numTensorsBefore);
    expect(r.memory.numBytesAfter).toBe(r.memory.numBytesBefore);
    expect(Number.isFinite(r.memory.heapGrowthBytes)).toBe(true);
    expect(JSON.parse(JSON.stringify(r)).size).toEqual(r.size);
  });
});
