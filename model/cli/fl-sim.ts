/**
 * `npm run fl:sim -- --data <dir> --clients N --rounds R --out report.json [...]`: simulated
 * devices run the real client code against the real aggregator and verifier processes over
 * loopback; the report (and `report.svg`) compares the federated encoder round by round with
 * the shipped and a centrally trained one. The work is in `fl-sim-run.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { FL_SIM_USAGE, parseFlSimArgs, runFlSim, writeFlSimReport } from './fl-sim-run';
import { runCli } from './run-cli';

async function main(): Promise<void> {
  let args;
  try {
    args = parseFlSimArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${FL_SIM_USAGE}`);
    process.exitCode = 2;
    return;
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend(args.backend);
  await tf.ready();
  const log = (line: string): void => console.error(line);
  const report = await runFlSim(args, { log, backendName: tf.getBackend() });
  const paths = writeFlSimReport(report, args.out);
  console.log(
    `shipped EER ${report.shipped.eer.toFixed(4)}, central ${report.central.eer.toFixed(4)}, final ${report.final.eer.toFixed(4)} at ε ${report.final.epsilon.toFixed(2)}; wrote ${paths.json} and ${paths.svg}`,
  );
}

await runCli(main);
