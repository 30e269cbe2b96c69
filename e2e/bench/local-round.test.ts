import { describe, expect, it } from 'vitest';
import { updateByteLength } from '../../model/federated/update-format';
import { runLocalRoundBench } from './local-round';

// The model bench's federated part at its smallest (one round each side), so it cannot rot. A
// vitest test rather than a Playwright spec: the worker's modules import JSON (the shipped
// encoder and centres), which Playwright's loader refuses without import attributes. No timing
// threshold: on a shared machine the figures mean nothing (`npm run bench -- model` reports them).
describe('model bench, federated part', () => {
  it('times one local round in the Chromium worker (wasm) and in Node, same update bytes', async () => {
    const r = await runLocalRoundBench({ reps: 1 });
    // The shipped keystroke encoder: 26,592 parameters and its 42-byte id.
    expect(r.updateBytes).toBe(
      updateByteLength(26_592, 'keystroke:keystroke-pohmm:2026-11-25:90:48'),
    );
    expect(r.worker?.backend).toBe('wasm');
    expect(r.node.medianMs).toBeGreaterThan(0);
    expect(r.worker!.medianMs).toBeGreaterThan(0);
    expect(r.ratioWorkerToNode).toBeGreaterThan(0);
  }, 180_000);
});
