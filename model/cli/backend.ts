/**
 * The model CLIs' TensorFlow.js start-up, one place: the chosen backend single-threaded, as the
 * extension runs it (tfjs would otherwise spawn pthread workers from blob: URLs, which the
 * extension's CSP blocks; Node has none to spawn either).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/** Starts `name` (`wasm` or `cpu`) and returns the backend tfjs actually runs on. */
export async function startBackend(name: string): Promise<string> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend(name);
  await tf.ready();
  return tf.getBackend();
}
