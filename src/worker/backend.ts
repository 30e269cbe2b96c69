/**
 * TensorFlow.js backend for the worker: wasm when it starts, cpu otherwise. In the extension
 * build `@tensorflow/tfjs` is tfjs-core plus the cpu backend (src/worker/tfjs-lite.ts).
 * Multithreaded wasm is switched off because it spawns pthread workers from blob: URLs,
 * which the extension CSP blocks and which would make setBackend hang forever.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

const WASM_START_TIMEOUT_MS = 5000;

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) =>
    setTimeout(() => reject(new Error('backend start timed out')), ms),
  );
}

export async function initBackend(): Promise<string> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  });
  try {
    const ok = await Promise.race([tf.setBackend('wasm'), timeout(WASM_START_TIMEOUT_MS)]);
    if (ok) {
      await tf.ready();
      return 'wasm';
    }
  } catch (error) {
    console.warn('[tacit] wasm backend unavailable, using cpu', error);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}
