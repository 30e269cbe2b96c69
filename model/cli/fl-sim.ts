/**
 * `npm run fl:sim -- --data <dir> --clients N --rounds R --out report.json [...]`: simulated
 * devices run the real client code against the real aggregator and verifier processes over
 * loopback; the report (and `report.svg`) compares the federated encoder round by round with
 * the shipped and a centrally trained one. The work is in `fl-sim-run.ts`.
 */
import { FL_SIM_USAGE, parseFlSimArgs, runFlSim, writeFlSimReport } from './fl-sim-run';
import { startBackend } from './backend';
import { parseOrUsage, runCli } from './run-cli';

async function main(): Promise<void> {
  const args = parseOrUsage(parseFlSimArgs, FL_SIM_USAGE);
  if (args === undefined) return;
  const backend = await startBackend(args.backend);
  const log = (line: string): void => console.error(line);
  const report = await runFlSim(args, { log, backendName: backend });
  const paths = writeFlSimReport(report, args.out);
  console.log(
    `shipped EER ${report.shipped.eer.toFixed(4)}, central ${report.central.eer.toFixed(4)}, final ${report.final.eer.toFixed(4)} at ε ${report.final.epsilon.toFixed(2)}; wrote ${paths.json} and ${paths.svg}`,
  );
}

await runCli(main);
