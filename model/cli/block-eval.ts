/**
 * `npx tsx model/cli/block-eval.ts --data ../shared/datasets/sapimouse-dev [--folds 2] [--seed 1]
 * [--sizes 128,64] [--dimensions 20] [--k 10] [--normalization ratio] [--out report.json]`:
 * the pointer block scorer (`model/pointer/`) on the SapiMouse protocol, k-fold by subject (the
 * projection of each fold learned on the other folds' subjects only). Prints, per block size,
 * fold and block count, the global-threshold EER, the AUC and the mean per-user EER.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BlockEvalFold, evaluateBlockFolds, userBlocksOf } from '../pointer/block-eval';
import type { BlockNormalization } from '../pointer/block-scorer';
import { loadSapiMouse } from './load-datasets';
import { runCli } from './run-cli';

const USAGE = `usage: npx tsx model/cli/block-eval.ts --data <sapimouse dir> [--folds 2] [--seed 1]
  [--sizes 128,64] [--dimensions N] [--shrinkage X] [--k N] [--normalization ratio|cohort|loo|both|both-ratio|none]
  [--out report.json]`;

const pct = (x: number): string => (100 * x).toFixed(1).padStart(5);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      folds: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      sizes: { type: 'string', default: '128,64' },
      dimensions: { type: 'string' },
      shrinkage: { type: 'string' },
      k: { type: 'string' },
      normalization: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (values.data === undefined) throw new TypeError(`--data is required\n${USAGE}`);
  const num = (v: string | undefined): number | undefined =>
    v === undefined ? undefined : Number(v);
  const sizes = values.sizes.split(',').map(Number);
  const started = performance.now();
  const users = loadSapiMouse(values.data);
  console.error(`${users.length} SapiMouse folders from ${values.data}`);
  const report: { eventsPerBlock: number; folds: BlockEvalFold[] }[] = [];
  for (const size of sizes) {
    const data = userBlocksOf(users, size);
    const folds = evaluateBlockFolds(data, {
      eventsPerBlock: size,
      folds: Number(values.folds),
      seed: Number(values.seed),
      projection: {
        ...(values.dimensions !== undefined && { dimensions: num(values.dimensions)! }),
        ...(values.shrinkage !== undefined && { shrinkage: num(values.shrinkage)! }),
      },
      scorer: {
        ...(values.k !== undefined && { k: num(values.k)! }),
        ...(values.normalization !== undefined && {
          normalization: values.normalization as BlockNormalization,
        }),
      },
    });
    report.push({ eventsPerBlock: size, folds });
    console.log(`\n${size}-event blocks (projection learned on the other fold's subjects)`);
    console.log('fold  n   EER %   AUC    mean user EER %   genuine  impostor  users');
    for (const f of folds) {
      for (const [n, x] of Object.entries(f.byBlocks)) {
        console.log(
          `${String(f.fold + 1).padStart(4)}  ${n.padStart(1)}  ${pct(x.eer)}   ${x.auc.toFixed(3)}  ${pct(x.meanUserEer)}            ${String(x.genuine).padStart(7)}  ${String(x.impostor).padStart(8)}  ${String(x.users).padStart(5)}`,
        );
      }
    }
    const ns = Object.keys(folds[0]?.byBlocks ?? {});
    for (const n of ns) {
      const avg = (key: 'eer' | 'auc' | 'meanUserEer'): number =>
        folds.reduce((s, f) => s + f.byBlocks[n]![key], 0) / folds.length;
      console.log(
        ` avg  ${n}  ${pct(avg('eer'))}   ${avg('auc').toFixed(3)}  ${pct(avg('meanUserEer'))}`,
      );
    }
  }
  console.log(`\nwall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (values.out !== undefined) {
    writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${values.out}`);
  }
}

await runCli(main);
