/**
 * `npm run calibrate -- <keystroke|pointer> --data <dir>`: learns the product scorer's window
 * calibration on public users and writes it (model/product/calibration.json by default). The
 * work is in `calibrate-run.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  CALIBRATE_USAGE,
  calibrationEncoder,
  parseCalibrateArgs,
  runCalibrate,
} from './calibrate-run';
import { runCli } from './run-cli';

async function main(): Promise<void> {
  let args;
  try {
    args = parseCalibrateArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${CALIBRATE_USAGE}`);
    process.exitCode = 2;
    return;
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();
  const { calibration, samples } = await runCalibrate(args, calibrationEncoder(args), (l) =>
    console.error(l),
  );
  for (const set of calibration.sets) {
    const terms = set.components.map((c, i) => `${set.weights[i]!.toFixed(3)}·${c}`).join(' + ');
    console.log(
      `${args.task} ${set.components.join('+')}: llr = ${set.bias.toFixed(3)} + ${terms}`,
    );
  }
  console.log(`${samples} windows; ${calibration.learnedOn}; wrote ${args.out}`);
}

await runCli(main);
