/**
 * `npm run eval -- <task> --data <dir> [--out report.json] [--users N] [--offset K]`: runs a
 * benchmark protocol on a public dataset directory, prints a table next to the published
 * figures and writes the JSON report (and `report.roc.svg`) when `--out` is given. The work is
 * in `eval-run.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { formatReport } from '../eval/report';
import { USAGE, parseEvalArgs, runEval, writeReport } from './eval-run';
import { runCli } from './run-cli';

async function main(): Promise<void> {
  let args;
  try {
    args = parseEvalArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  // Node has no pthread workers for tfjs to spawn from blob: URLs; single-threaded is what the
  // extension runs too.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend(args.backend);
  await tf.ready();
  const log = (line: string): void => console.error(line);
  log(`${args.task} on ${args.data} (backend ${tf.getBackend()})`);
  const report = await runEval(args, { log });
  report.run = { ...report.run, backend: tf.getBackend() };
  console.log(formatReport(report));
  console.log(
    `wall time ${report.run['wallSeconds']} s (load ${report.run['loadSeconds']} s), ${report.fits} models fitted`,
  );
  if (args.out !== undefined) {
    const paths = writeReport(report, args.out);
    console.log(`wrote ${paths.json} and ${paths.svg}`);
  }
}

await runCli(main);
