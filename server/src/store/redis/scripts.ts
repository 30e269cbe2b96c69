/**
 * The Lua scripts of the Redis store, read once from `lua/*.lua` (beside this file: the server
 * and its tests run from source, under tsx and vitest) and registered on a connection with
 * ioredis `defineCommand` (EVALSHA, falling back to EVAL once per script after a Redis restart).
 *
 * `tacitBatch` (`lua/batch.lua`) is assembled from its frame and the action files: each action
 * file is the body of one function of the batch script (see `batch.lua`).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const read = (file: string): string =>
  readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');

/** The actions `tacitBatch` runs: command name → file. */
export const ACTION_FILES = {
  tacitCreateCode: 'create-code',
  tacitEnroll: 'enroll',
  tacitRevoke: 'revoke',
  tacitCreateSession: 'create-session',
  tacitBind: 'bind',
  tacitAttest: 'attest',
  tacitEndSession: 'end-session',
  tacitTerminate: 'terminate',
  tacitConfirm: 'confirm',
  tacitAudit: 'audit',
  tacitUseJti: 'use-jti',
  tacitRotateDevice: 'rotate-device',
} as const;

/** Scripts called on their own: command name → file. ARGV[1] is always the key prefix. */
export const PLAIN_FILES = {
  tacitAddKey: 'add-key',
  tacitRotateKey: 'rotate-key',
  tacitListKeys: 'list-keys',
  tacitDevicesByKey: 'devices-by-key',
  tacitDevicesBySubject: 'devices-by-subject',
  tacitPurgeAudit: 'purge-audit',
  tacitPurgeExpired: 'purge-expired',
  tacitCounts: 'counts',
  tacitSsfPutStream: 'ssf-put-stream',
  tacitSsfFanOut: 'ssf-fan-out',
  tacitSsfEnqueue: 'ssf-enqueue',
  tacitSsfClaim: 'ssf-claim',
  tacitSsfSettle: 'ssf-settle',
  tacitSsfPoll: 'ssf-poll',
  tacitSsfDeleteStream: 'ssf-delete-stream',
} as const;

export type ActionName = keyof typeof ACTION_FILES;
export type ScriptName = 'tacitBatch' | keyof typeof PLAIN_FILES;
/** A script argument (Redis receives strings). */
export type Arg = string | number;

const ACTIONS_MARKER = /^-- @actions\b.*$/m;

/** `batch.lua` with every action file wrapped into `ACTIONS[name] = function(A) … end`. */
function batchSource(): string {
  const frame = read('batch');
  if (!ACTIONS_MARKER.test(frame)) throw new Error('lua/batch.lua: no "-- @actions" line');
  const actions = Object.entries(ACTION_FILES)
    .map(
      ([name, file]) =>
        `ACTIONS['${name}'] = function(A)\nlocal extra = function() return nil end\n` +
        `${read(file)}return read, apply, extra\nend`,
    )
    .join('\n');
  return frame.replace(ACTIONS_MARKER, () => actions);
}

/** Every script's source, read once (at the first store's creation). */
let sources: Record<ScriptName, string> | undefined;

function allSources(): Record<ScriptName, string> {
  sources ??= {
    tacitBatch: batchSource(),
    ...(Object.fromEntries(
      Object.entries(PLAIN_FILES).map(([name, file]) => [name, read(file)]),
    ) as Record<keyof typeof PLAIN_FILES, string>),
  };
  return sources;
}

/** Registers every script on `redis` as a command of the same name. */
export function defineScripts(redis: Redis): void {
  for (const [name, lua] of Object.entries(allSources())) {
    redis.defineCommand(name, { numberOfKeys: 0, lua });
  }
}

/** Calls script `name` with the key prefix as ARGV[1], then `args`. */
export function callScript(
  redis: Redis,
  prefix: string,
  name: ScriptName,
  args: readonly Arg[],
): Promise<unknown> {
  const command = (redis as unknown as Record<string, (...a: Arg[]) => Promise<unknown>>)[name]!;
  return command.call(redis, prefix, ...args);
}
