/**
 * Benchmarks: `npm run bench -- <capture|features|server|model> [--out file.json] [options]`.
 * Prints a table and writes JSON (default bench-results/<name>.json). See docs/benchmarks.md.
 */
import { resolve } from 'node:path';
import { BENCHES, isBenchName, runBench, type BenchParams } from './benches';
import { STORES, type StoreName } from './server';

const USAGE = `usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [--out file.json] [--seconds N] [--events N] [--reps N]
  server: [--sessions N] [--step-seconds S] [--rates a,b,c] [--stores ${STORES.join(',')}] [--profile dir]
  model: [--events N scored windows per modality] [--reps N memory cycles]
  memory: [--seconds N of typing, default 600]`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function positive(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0)
    fail(`${flag} needs a positive number, got ${JSON.stringify(value)}`);
  return n;
}

const args = process.argv.slice(2);
const name = args.shift();
if (name === undefined) fail('which benchmark?');
if (!isBenchName(name))
  fail(`unknown benchmark ${JSON.stringify(name)}; available: ${Object.keys(BENCHES).join(', ')}`);

const params: BenchParams = {};
let out: string | undefined;
while (args.length > 0) {
  const flag = args.shift()!;
  const value = args.shift();
  switch (flag) {
    case '--out':
      if (!value) fail('--out needs a file name');
      out = value;
      break;
    case '--seconds':
      params.seconds = positive(flag, value);
      break;
    case '--events':
      params.events = Math.round(positive(flag, value));
      break;
    case '--reps':
      params.reps = Math.round(positive(flag, value));
      break;
    case '--sessions':
      params.sessions = Math.round(positive(flag, value));
      break;
    case '--step-seconds':
      params.stepSeconds = positive(flag, value);
      break;
    case '--rates':
      params.rates = (value ?? '').split(',').map((r) => Math.round(positive(flag, r)));
      break;
    case '--stores': {
      const stores = (value ?? '').split(',');
      const bad = stores.find((s) => !(STORES as readonly string[]).includes(s));
      if (bad !== undefined) fail(`--stores takes ${STORES.join(',')}, got ${JSON.stringify(bad)}`);
      params.stores = stores as StoreName[];
      break;
    }
    case '--profile':
      if (!value) fail('--profile needs a directory');
      params.profileDir = resolve(value);
      break;
    default:
      fail(`unknown option ${JSON.stringify(flag)}`);
  }
}

try {
  await runBench(name, params, out);
} catch (error) {
  console.error(`bench ${name} failed:`, error);
  process.exit(1);
}
