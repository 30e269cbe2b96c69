import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type FeatureWindow, createWindower } from '../features/windower';
import type { Modality } from '../features/schema';
import { POINTER_A, TYPIST_A, syntheticKeystrokes, syntheticPointer } from '../testing/synthetic';
import { UserModel } from './user-model';

// Repeated fit / score / serialize / dispose cycles must leave tfjs exactly where they found it,
// on both backends the product uses. The worker engine (src/worker/engine.ts) cannot be imported
// in Node (IndexedDB model store, vite `?url` wasm imports); its model path is the same calls with
// its detector config `{ minEnrollWindows: 10 }` on 10 stored windows, which is what runs here.

const windows = (modality: Modality, seed: number): Float32Array[] => {
  const events =
    modality === 'keystroke'
      ? syntheticKeystrokes(TYPIST_A, 220, { seed })
      : syntheticPointer(POINTER_A, 700, { seed });
  return createWindower()
    .push(events)
    .filter((w: FeatureWindow) => w.modality === modality)
    .map((w) => w.vector);
};

describe.each(['cpu', 'wasm'] as const)('UserModel on the %s backend', (backend) => {
  it('returns tf.memory() exactly to its start after fit + score + dispose cycles', async () => {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    const data = { keystroke: windows('keystroke', 3), pointer: windows('pointer', 4) };
    expect(data.keystroke.length).toBeGreaterThanOrEqual(10);
    expect(data.pointer.length).toBeGreaterThanOrEqual(10);
    const engineConfig = { minEnrollWindows: 10, epochs: 10 };
    // One cycle first: backends keep kernel-level state on first use.
    await new UserModel('keystroke', engineConfig).fit(data.keystroke);
    const before = tf.memory();
    for (let cycle = 0; cycle < 6; cycle++) {
      for (const modality of ['keystroke', 'pointer'] as const) {
        const m = new UserModel(modality, { ...engineConfig, seed: cycle });
        await m.fit(data[modality].slice(0, 10));
        for (const v of data[modality]) m.score(v);
        const loaded = UserModel.fromJSON(JSON.stringify(m.toJSON()));
        loaded.score(data[modality][0]!);
        loaded.dispose();
        m.dispose();
      }
      // A fit that fails (too few windows) must not leak either.
      await expect(
        new UserModel('pointer', engineConfig).fit(data.pointer.slice(0, 3)),
      ).rejects.toThrow();
    }
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
  });
});
