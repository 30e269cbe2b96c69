/** The benchmarks by name, shared by the CLI (run.ts) and the smoke spec. */
import { join } from 'node:path';
import { ROOT } from '../support/server';
import { printCapture, runCaptureBench } from './capture';
import { printFeatures, runFeaturesBench } from './features';
import { printBundle, runBundleBench } from './bundle';
import { printMemory, runMemoryBench } from './memory';
import { printModel, runModelBench } from './model';
import { writeJson } from './report';
import { printServer, runServerBench, type StoreName } from './server';
import { printTakeover, runTakeoverBench } from './takeover';

export interface BenchParams {
  /** Events per run (capture: dispatched per phase; features: input events). */
  events?: number;
  /** capture only: length of each typing + mouse run, s. */
  seconds?: number;
  /** features: timed repetitions; model: fit + score + dispose cycles of the memory check. */
  reps?: number;
  /** server only: enrolled devices, one bound session each. */
  sessions?: number;
  /** server only: measured seconds per arrival-rate step. */
  stepSeconds?: number;
  /** server only: arrival rates to step through, attestations/s. */
  rates?: number[];
  /** server only: stores to run. */
  stores?: StoreName[];
  /** server only: write a V8 CPU profile of each server process here. */
  profileDir?: string;
  /** takeover only: genuine/impostor pairs (default 20). */
  pairs?: number;
  /** takeover only: held-out sentences per run (default 5). */
  sentences?: number;
  /** takeover only: the keystroke+pointer variant. */
  pointer?: boolean;
  /** takeover only: the partial result, rewritten after every pair. */
  progressFile?: string;
  /** takeover only: the extension's attestation interval, ms (default: the product's). */
  attestationIntervalMs?: number;
}

interface Bench {
  run(params: BenchParams): Promise<object>;
  print(result: object): void;
}

export const BENCHES = {
  capture: {
    run: (p: BenchParams) => runCaptureBench({ events: p.events, seconds: p.seconds }),
    print: (r: object) => printCapture(r as Awaited<ReturnType<typeof runCaptureBench>>),
  },
  features: {
    run: (p: BenchParams) => runFeaturesBench({ events: p.events, reps: p.reps }),
    print: (r: object) => printFeatures(r as Awaited<ReturnType<typeof runFeaturesBench>>),
  },
  model: {
    // --events: scored windows per modality (default 1,000); --reps: memory cycles (default 50).
    run: (p: BenchParams) => runModelBench({ windows: p.events, cycles: p.reps }),
    print: (r: object) => printModel(r as Awaited<ReturnType<typeof runModelBench>>),
  },
  bundle: {
    run: () => runBundleBench(),
    print: (r: object) => printBundle(r as Awaited<ReturnType<typeof runBundleBench>>),
  },
  memory: {
    // --seconds: length of the typing session (default 600).
    run: (p: BenchParams) => runMemoryBench({ seconds: p.seconds }),
    print: (r: object) => printMemory(r as Awaited<ReturnType<typeof runMemoryBench>>),
  },
  server: {
    run: (p: BenchParams) =>
      runServerBench({
        sessions: p.sessions,
        stepSeconds: p.stepSeconds,
        rates: p.rates,
        stores: p.stores,
        profileDir: p.profileDir,
      }),
    print: (r: object) => printServer(r as Awaited<ReturnType<typeof runServerBench>>),
  },
  takeover: {
    run: (p: BenchParams) =>
      runTakeoverBench({
        pairs: p.pairs,
        sentences: p.sentences,
        pointer: p.pointer,
        progressFile: p.progressFile,
        attestationIntervalMs: p.attestationIntervalMs,
      }),
    print: (r: object) => printTakeover(r as Awaited<ReturnType<typeof runTakeoverBench>>),
  },
} satisfies Record<string, Bench>;

export type BenchName = keyof typeof BENCHES;

export function isBenchName(name: string): name is BenchName {
  return Object.hasOwn(BENCHES, name);
}

export const defaultOut = (name: BenchName): string => join(ROOT, 'bench-results', `${name}.json`);

/** Runs a benchmark, prints its table and writes its JSON. Returns the result and the file. */
export async function runBench(
  name: BenchName,
  params: BenchParams,
  out: string = defaultOut(name),
): Promise<{ result: object; file: string }> {
  const bench: Bench = BENCHES[name];
  const result = await bench.run(params);
  bench.print(result);
  const file = writeJson(out, result);
  console.log(`\nwrote ${file}`);
  return { result, file };
}
