/**
 * `npm run drift:sim -- --data <aalto dir> --users N --out report.json [...]`: the drift
 * simulation (a genuine user's timing shifted gradually over many sessions: false-flag rate with
 * and without adaptation) and the poisoning simulation (an attacker feeding sessions that stay
 * above the safe level: does the model move toward them?). The work is in `drift-sim-run.ts`.
 */
import { startBackend } from './backend';
import {
  DRIFT_SIM_USAGE,
  formatDriftSim,
  parseDriftSimArgs,
  runDriftSim,
  writeDriftSimReport,
} from './drift-sim-run';
import { parseOrUsage, runCli } from './run-cli';

async function main(): Promise<void> {
  const args = parseOrUsage(parseDriftSimArgs, DRIFT_SIM_USAGE);
  if (args === undefined) return;
  await startBackend(args.backend);
  const report = await runDriftSim(args, { log: (line) => console.error(line) });
  writeDriftSimReport(report, args.out);
  for (const line of formatDriftSim(report)) console.log(line);
  console.log(`wrote ${args.out} (${report.seconds.toFixed(0)} s)`);
}

await runCli(main);
