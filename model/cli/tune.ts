/**
 * `npm run tune -- <task> --data <dir> --out <report.json>`: cross-validates a small grid of
 * shared-encoder settings by user on the training users (see `tune-run.ts`);
 * `npm run tune -- decision --data <dir> …` tunes the product decision on validation users
 * (`tune-decision.ts`); `npm run tune -- takeover --data <aalto dir> …` measures the keystroke
 * decision against takeovers in the middle of a window, on validation users (`tune-takeover.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { TUNE_USAGE, formatTuneReport, parseTuneArgs, runTune, writeTuneReport } from './tune-run';
import { runCli } from './run-cli';
import { runTuneDecision } from './tune-decision';
import { runTuneTakeover } from './tune-takeover';

async function main(): Promise<void> {
  const task = process.argv[2];
  const decisionTask =
    task === 'decision' ? runTuneDecision : task === 'takeover' ? runTuneTakeover : undefined;
  if (decisionTask !== undefined) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await tf.setBackend('wasm');
    await tf.ready();
    await decisionTask(process.argv.slice(3));
    return;
  }
  let args;
  try {
    args = parseTuneArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${TUNE_USAGE}`);
    process.exitCode = 2;
    return;
  }
  // Single-threaded wasm, as in the extension and `npm run train`.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend(args.backend);
  await tf.ready();
  const report = await runTune(args, {
    log: (line) => console.error(line),
    backendName: tf.getBackend(),
  });
  writeTuneReport(report, args.out);
  console.log(formatTuneReport(report));
  console.log(`wrote ${args.out}`);
}

await runCli(main);
