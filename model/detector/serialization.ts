/**
 * The stored form of a user model (`format: 'tacit-user-model'`, `version: 1`). Loading checks
 * the format tag, the format version, then the feature schema version and feature names, before
 * it looks at anything else (STYLE.md point 12).
 */
import { FeatureSchemaError, ModelFormatError, ModelVersionError } from '../errors';
import {
  FEATURE_NAMES,
  FEATURE_SCHEMA_VERSION,
  type Modality,
  featureDimension,
  isModality,
} from '../features/schema';
import { type Activation, type DenseNet, architecture } from './autoencoder';
import { base64ToFloat32, float32ToBase64 } from './base64';
import type { Calibration } from './calibration';
import { type DetectorConfig, resolveDetectorConfig } from './config';
import type { Normalization } from './normalize';

/** Format tag of a stored user model. */
export const USER_MODEL_FORMAT = 'tacit-user-model' as const;

/** Current (and only readable) user model format version. */
export const USER_MODEL_VERSION = 1 as const;

/** One dense layer as stored: weights and biases as base64 of little-endian float32. */
export interface SerializedLayer {
  inputs: number;
  units: number;
  activation: Activation;
  /** `inputs × units` float32, row-major. */
  weights: string;
  /** `units` float32. */
  bias: string;
}

/** The JSON document of a fitted {@link UserModel}. Contains no raw events and no feature vectors. */
export interface UserModelJSON {
  format: typeof USER_MODEL_FORMAT;
  version: typeof USER_MODEL_VERSION;
  /** {@link FEATURE_SCHEMA_VERSION} the model was trained on. */
  featureSchema: number;
  modality: Modality;
  /** Feature names in vector order, checked on load against this build's schema. */
  featureNames: string[];
  /** Number of enrolment windows the model was fitted on. */
  windows: number;
  /** The resolved detector configuration. */
  config: DetectorConfig;
  /** Per-feature median and scale (feature units). */
  normalization: { method: 'median-iqr'; center: number[]; scale: number[] };
  /** Autoencoder layers, input to output. */
  network: { layers: SerializedLayer[] };
  /** Confidence calibration. */
  calibration: Calibration;
}

/** Everything a fitted model holds. */
export interface FittedState {
  normalization: Normalization;
  net: DenseNet;
  calibration: Calibration;
  windows: number;
}

/** Serialises a fitted state. */
export function toUserModelJSON(
  modality: Modality,
  config: Readonly<DetectorConfig>,
  s: FittedState,
): UserModelJSON {
  return {
    format: USER_MODEL_FORMAT,
    version: USER_MODEL_VERSION,
    featureSchema: FEATURE_SCHEMA_VERSION,
    modality,
    featureNames: [...FEATURE_NAMES[modality]],
    windows: s.windows,
    config: { ...config },
    normalization: {
      method: 'median-iqr',
      center: Array.from(s.normalization.center),
      scale: Array.from(s.normalization.scale),
    },
    network: {
      layers: s.net.map((l) => ({
        inputs: l.inputs,
        units: l.units,
        activation: l.activation,
        weights: float32ToBase64(l.weights),
        bias: float32ToBase64(l.bias),
      })),
    },
    calibration: { ...s.calibration },
  };
}

/**
 * Validates and decodes a stored model (an object or its JSON text).
 * @throws {ModelFormatError} `ERR_MODEL_FORMAT` for anything malformed.
 * @throws {ModelVersionError} `ERR_MODEL_VERSION` for another format version.
 * @throws {FeatureSchemaError} `ERR_FEATURE_SCHEMA` for another feature schema or feature list.
 */
export function parseUserModelJSON(input: unknown): {
  modality: Modality;
  config: Readonly<DetectorConfig>;
  state: FittedState;
} {
  let json: unknown = input;
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch {
      throw new ModelFormatError('user model is not valid JSON');
    }
  }
  if (!isRecord(json) || json.format !== USER_MODEL_FORMAT) {
    throw new ModelFormatError('not a tacit-user-model document');
  }
  if (json.version !== USER_MODEL_VERSION) throw new ModelVersionError();
  if (json.featureSchema !== FEATURE_SCHEMA_VERSION) {
    throw new FeatureSchemaError('user model was trained on another feature schema version');
  }
  const modality = json.modality;
  if (!isModality(modality)) throw new ModelFormatError('unknown modality');
  const names = json.featureNames;
  const expected = FEATURE_NAMES[modality];
  if (
    !Array.isArray(names) ||
    names.length !== expected.length ||
    names.some((n, j) => n !== expected[j])
  ) {
    throw new FeatureSchemaError('user model feature names differ from this build');
  }
  const d = featureDimension(modality);

  let config: Readonly<DetectorConfig>;
  try {
    if (!isRecord(json.config)) throw new TypeError('config');
    config = resolveDetectorConfig(json.config as Partial<DetectorConfig>);
  } catch {
    throw new ModelFormatError('user model has an invalid config');
  }

  const windows = json.windows;
  if (typeof windows !== 'number' || !Number.isInteger(windows) || windows < 1) {
    throw new ModelFormatError('user model has an invalid window count');
  }

  const norm = json.normalization;
  if (
    !isRecord(norm) ||
    norm.method !== 'median-iqr' ||
    !isFiniteArray(norm.center, d) ||
    !isFiniteArray(norm.scale, d) ||
    (norm.scale as number[]).some((v) => v <= 0)
  ) {
    throw new ModelFormatError('user model has invalid normalization');
  }

  const net = json.network;
  const arch = architecture(d, config.hiddenUnits, config.bottleneckUnits);
  if (!isRecord(net) || !Array.isArray(net.layers) || net.layers.length !== arch.length) {
    throw new ModelFormatError('user model has an invalid network');
  }
  const layers: DenseNet = arch.map((shape, i) => {
    const l: unknown = (net.layers as unknown[])[i];
    if (
      !isRecord(l) ||
      l.inputs !== shape.inputs ||
      l.units !== shape.units ||
      l.activation !== shape.activation ||
      typeof l.weights !== 'string' ||
      typeof l.bias !== 'string'
    ) {
      throw new ModelFormatError('user model has an invalid layer');
    }
    const weights = base64ToFloat32(l.weights);
    const bias = base64ToFloat32(l.bias);
    if (
      weights === undefined ||
      bias === undefined ||
      weights.length !== shape.inputs * shape.units ||
      bias.length !== shape.units ||
      !weights.every(Number.isFinite) ||
      !bias.every(Number.isFinite)
    ) {
      throw new ModelFormatError('user model has invalid layer weights');
    }
    return { ...shape, weights, bias };
  });

  const cal = json.calibration;
  if (
    !isRecord(cal) ||
    cal.method !== 'log-logistic' ||
    typeof cal.center !== 'number' ||
    !Number.isFinite(cal.center) ||
    typeof cal.width !== 'number' ||
    !Number.isFinite(cal.width) ||
    cal.width <= 0
  ) {
    throw new ModelFormatError('user model has an invalid calibration');
  }

  return {
    modality,
    config,
    state: {
      normalization: {
        center: Float64Array.from(norm.center as number[]),
        scale: Float64Array.from(norm.scale as number[]),
      },
      net: layers,
      calibration: { method: 'log-logistic', center: cal.center, width: cal.width },
      windows,
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteArray(v: unknown, length: number): boolean {
  return (
    Array.isArray(v) &&
    v.length === length &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x))
  );
}
