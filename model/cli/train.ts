/**
 * `npm run train -- <task> --data <dir> --out <model-dir>`: trains a shared encoder on a
 * directory of users (see `train-run.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { TRAIN_USAGE, parseTrainArgs, runTrain } from './train-run';
import { runCli } from './run-cli';

async function main(): Promise<void> {
  let args;
  try {
    args = parseTrainArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${TRAIN_USAGE}`);
    process.exitCode = 2;
    return;
  }
  // Single-threaded wasm, as in the extension (no pthread workers from blob: URLs).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend(args.backend);
  await tf.ready();
  const log = (line: string): void => console.error(line);
  const { encoderPath, summary } = await runTrain(args, { log, backendName: tf.getBackend() });
  console.log(
    `wrote ${encoderPath} (${summary['users']} users, ${summary['trainSeconds']} s training, backend ${summary['backend']})`,
  );
}

await runCli(main);
