/**
 * `npm run train -- <task> --data <dir> --out <model-dir>`: trains a shared encoder on a
 * directory of users (see `train-run.ts`).
 */
import { TRAIN_USAGE, parseTrainArgs, runTrain } from './train-run';
import { startBackend } from './backend';
import { parseOrUsage, runCli } from './run-cli';

async function main(): Promise<void> {
  const args = parseOrUsage(parseTrainArgs, TRAIN_USAGE);
  if (args === undefined) return;
  const backend = await startBackend(args.backend);
  const log = (line: string): void => console.error(line);
  const { encoderPath, summary } = await runTrain(args, { log, backendName: backend });
  console.log(
    `wrote ${encoderPath} (${summary['users']} users, ${summary['trainSeconds']} s training, backend ${summary['backend']})`,
  );
}

await runCli(main);
