/**
 * Reads encoder training settings from a JSON file (Node): `npm run train -- ... --config
 * tuned.json`. The file is either a report of `npm run tune` (its `chosen` field is used) or a
 * bare object of {@link EncoderTrainConfig} fields. Unknown fields are refused and every value
 * is range-checked now, before any data are loaded.
 */
import { readFileSync } from 'node:fs';
import {
  DEFAULT_ENCODER_TRAIN_CONFIG,
  type EncoderTrainConfig,
  resolveEncoderTrainConfig,
} from '../shared/train';

/**
 * Parses the text of a config file (see the module comment).
 * @throws {TypeError} when it is not a JSON object or has an unknown field.
 * @throws {RangeError} when a value is out of range (`resolveEncoderTrainConfig`).
 */
export function parseTrainConfig(text: string, source = 'config'): Partial<EncoderTrainConfig> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TypeError(`${source} is not JSON`);
  }
  const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(json)) throw new TypeError(`${source} must be a JSON object`);
  const config = 'chosen' in json ? json['chosen'] : json;
  if (!isObject(config)) throw new TypeError(`${source}: "chosen" must be an object`);
  const known = Object.keys(DEFAULT_ENCODER_TRAIN_CONFIG);
  for (const key of Object.keys(config)) {
    if (!known.includes(key))
      throw new TypeError(`${source}: unknown training setting ${JSON.stringify(key)}`);
  }
  const overrides = config as Partial<EncoderTrainConfig>;
  resolveEncoderTrainConfig(overrides);
  return { ...overrides };
}

/** {@link parseTrainConfig} of a file. */
export function readTrainConfigFile(path: string): Partial<EncoderTrainConfig> {
  return parseTrainConfig(readFileSync(path, 'utf8'), path);
}
