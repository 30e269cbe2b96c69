/**
 * Benchmarks: `npm run bench -- <capture|features|server|model|memory|bundle|takeover> [--out file.json] [options]`.
 * Prints a table and writes JSON (default bench-results/<name>.json). See docs/benchmarks.md.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCHES, defaultOut, isBenchName, runBench, type BenchParams } from './benches';
import { STORES, type StoreName } from './server';

const USAGE = `usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [--out file.json] [--seconds N] [--events N] [--reps N]
  server: [--sessions N] [--step-seconds S] [--rates a,b,c] [--stores ${STORES.join(',')}] [--profile dir]
  model: [--events N scored windows per modality] [--reps N memory cycles]
  memory: [--seconds N of typing, default 600]
  takeover: [--pairs N, default 20] [--sentences N held-out per run, default 5] [--pointer]`;

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

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      out: { type: 'string' },
      seconds: { type: 'string' },
      events: { type: 'string' },
      reps: { type: 'string' },
      sessions: { type: 'string' },
      'step-seconds': { type: 'string' },
      rates: { type: 'string' },
      stores: { type: 'string' },
      profile: { type: 'string' },
      pairs: { type: 'string' },
      sentences: { type: 'string' },
      pointer: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
} catch (err) {
  fail((err as Error).message);
}
const { values: v, positionals } = parsed;
const name = positionals[0];
if (name === undefined) fail('which benchmark?');
if (positionals.length > 1) fail(`unexpected argument ${JSON.stringify(positionals[1])}`);
if (!isBenchName(name))
  fail(`unknown benchmark ${JSON.stringify(name)}; available: ${Object.keys(BENCHES).join(', ')}`);

const params: BenchParams = {};
const out = v.out;
if (v.seconds !== undefined) params.seconds = positive('--seconds', v.seconds);
if (v.events !== undefined) params.events = Math.round(positive('--events', v.events));
if (v.reps !== undefined) params.reps = Math.round(positive('--reps', v.reps));
if (v.sessions !== undefined) params.sessions = Math.round(positive('--sessions', v.sessions));
if (v['step-seconds'] !== undefined) {
  params.stepSeconds = positive('--step-seconds', v['step-seconds']);
}
if (v.rates !== undefined) {
  params.rates = v.rates.split(',').map((r) => Math.round(positive('--rates', r)));
}
if (v.stores !== undefined) {
  const stores = v.stores.split(',');
  const bad = stores.find((s) => !(STORES as readonly string[]).includes(s));
  if (bad !== undefined) fail(`--stores takes ${STORES.join(',')}, got ${JSON.stringify(bad)}`);
  params.stores = stores as StoreName[];
}
if (v.profile !== undefined) params.profileDir = resolve(v.profile);
if (v.pairs !== undefined) params.pairs = Math.round(positive('--pairs', v.pairs));
if (v.sentences !== undefined) params.sentences = Math.round(positive('--sentences', v.sentences));
if (v.pointer === true) params.pointer = true;
if (name === 'takeover') {
  params.progressFile = (out ?? defaultOut(name)).replace(/(\.json)?$/, '.partial.json');
}

try {
  await runBench(name, params, out);
} catch (error) {
  console.error(`bench ${name} failed:`, error);
  process.exit(1);
}
