/**
 * `npm run eval -- <task> --data <dir> [--out report.json] [--users N] [--offset K]`: runs a
 * benchmark protocol on a public dataset directory, prints a table next to the published
 * figures and writes the JSON report (and `report.roc.svg`) when `--out` is given. The work is
 * in `eval-run.ts`.
 */
import { formatReport } from '../eval/report';
import { USAGE, parseEvalArgs, runEval, writeReport } from './eval-run';
import { startBackend } from './backend';
import { parseOrUsage, runCli } from './run-cli';

async function main(): Promise<void> {
  const args = parseOrUsage(parseEvalArgs, USAGE);
  if (args === undefined) return;
  const backend = await startBackend(args.backend);
  const log = (line: string): void => console.error(line);
  log(`${args.task} on ${args.data} (backend ${backend})`);
  const report = await runEval(args, { log });
  report.run = { ...report.run, backend };
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
