/**
 * Where the server's event loop spends a step, by stage, from a V8 CPU profile
 * (`npm run bench -- server --profile dir`): each sample taken during the step's window is
 * given to the stage of the innermost frame that names one (our own modules first, then the
 * libraries and Node internals they call), and the stages' shares of the busy samples scale
 * the step's measured main-thread CPU per attestation.
 *
 * V8 samples the thread on a timer, so time the thread spends blocked inside a native call
 * (a lock in the crypto job queue, a syscall) is counted where it blocks; the shares are those
 * of the busy event loop, and the µs are the /proc CPU figure split in those proportions.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The stages, in the order they are reported. */
export const STAGES = [
  'http',
  'framework',
  'middleware',
  'validation',
  'verify',
  'service',
  'audit',
  'store',
  'gc',
  'other',
] as const;

export type Stage = (typeof STAGES)[number];

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
/** The parts of a `.cpuprofile` this module reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Modules that decide a sample's stage: the innermost of them on the stack wins, so a hash
 * computed for the audit trail is `audit`, zod called by the body reader is `validation`, and
 * Hono's dispatch between two middlewares is `framework`. Our modules most specific first.
 */
const DECISIVE: [RegExp, Stage][] = [
  [/\/server\/src\/crypto\//, 'verify'],
  [/\/server\/src\/services\/audit\.ts/, 'audit'],
  [/\/server\/src\/store\//, 'store'],
  [/\/server\/src\/(services|domain)\//, 'service'],
  [/\/server\/src\/contract\/|node_modules\/zod\//, 'validation'],
  [/\/server\/src\/http\/(middleware|routes)\/|\/server\/src\/(app|observability\/)/, 'middleware'],
  [/node_modules\/(prom-client|pino)\//, 'middleware'],
  [/\/server\/src\/http\/|node_modules\/hono\//, 'framework'],
  [/node_modules\/jose\//, 'verify'],
  [/node_modules\/(better-sqlite3|ioredis)\//, 'store'],
];

/**
 * Node internals and the HTTP adapter: they name the stage only when no decisive module is on
 * the stack (a response written after an `await`, with none of our frames left below it).
 */
const WEAK: [RegExp, Stage][] = [
  [/node:internal\/crypto/, 'verify'],
  [/node:internal\/worker/, 'store'],
  [
    /^node:(_http|net|internal\/(streams|deps\/undici|stream_base|http))|@hono\/node-server/,
    'http',
  ],
];

function match(table: [RegExp, Stage][], url: string): Stage | undefined {
  for (const [re, stage] of table) if (re.test(url)) return stage;
  return undefined;
}

/** The stage of a sample, from its frames innermost first. */
function stageOf(frames: CallFrame[]): Stage {
  let weak: Stage | undefined;
  for (const f of frames) {
    const decisive = match(DECISIVE, f.url);
    if (decisive) return decisive;
    weak ??= match(WEAK, f.url);
  }
  if (weak) return weak;
  return frames[0]?.functionName === '(garbage collector)' ? 'gc' : 'other';
}

/**
 * Busy time per stage (µs of samples) between `from` and `to` (µs on the profile's clock,
 * which is `process.hrtime` / 1000 of any process on the machine). Idle and the profiler's own
 * `(program)` samples are left out.
 */
export function stageTimes(profile: CpuProfile, from: number, to: number): Record<Stage, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOfNode = new Map<number, Stage | null>();
  const nodeStage = (id: number): Stage | null => {
    const known = stageOfNode.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id)!.callFrame.functionName;
    let stage: Stage | null = null;
    if (leaf !== '(idle)' && leaf !== '(program)' && leaf !== '(root)') {
      const frames: CallFrame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        frames.push(byId.get(at)!.callFrame);
      }
      stage = stageOf(frames);
    }
    stageOfNode.set(id, stage);
    return stage;
  };
  const out = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i]!;
    t += dt;
    if (t < from || t > to) continue;
    const stage = nodeStage(profile.samples[i]!);
    if (stage) out[stage] += dt;
  }
  return out;
}

/** Splits `totalUs` in the proportions of `times` (rounded; the parts add up to about it). */
export function splitByStage(times: Record<Stage, number>, totalUs: number): Record<Stage, number> {
  const busy = STAGES.reduce((a, s) => a + times[s], 0);
  return Object.fromEntries(
    STAGES.map((s) => [s, busy === 0 ? 0 : Math.round((totalUs * times[s]) / busy)]),
  ) as Record<Stage, number>;
}

/**
 * The main-thread profile of process `pid` in `dir` (Node names it
 * `CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile`), or undefined when there is none.
 */
export function mainThreadProfile(dir: string, pid: number): CpuProfile | undefined {
  const name = readdirSync(dir).find((f) =>
    new RegExp(`^CPU\\.\\d+\\.\\d+\\.${pid}\\.0\\.\\d+\\.cpuprofile$`).test(f),
  );
  return name === undefined
    ? undefined
    : (JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile);
}
