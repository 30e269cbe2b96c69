/**
 * Public API of Tacit's on-device model library: raw events → feature windows → per-user
 * detector → product scorer and session decision. Pure TypeScript plus TensorFlow.js; no DOM, no Node. The synthetic
 * user generator for tests lives apart, in `model/testing/synthetic`.
 */
import { USER_MODEL_VERSION } from './detector/serialization';
import { FEATURE_SCHEMA_VERSION } from './features/schema';
import { SEQUENCE_SCHEMA_VERSION } from './features/sequence';

export {
  FLAG,
  KEY_CLASSES,
  RAW_EVENT_SCHEMA_VERSION,
  type KeyClass,
  type RawEvent,
  type RawEventBatch,
  type RawEventKind,
} from './events/schema';

export {
  FEATURE_NAMES,
  FEATURE_SCHEMA_VERSION,
  FEATURE_SPECS,
  KEYSTROKE_FEATURES,
  KEYSTROKE_LIMITS,
  MODALITIES,
  POINTER_FEATURES,
  POINTER_LIMITS,
  featureDimension,
  isModality,
  type FeatureSpec,
  type Modality,
} from './features/schema';
export {
  DEFAULT_WINDOWER_CONFIG,
  TIMELINE_TOLERANCE_MS,
  createWindower,
  resolveWindowerConfig,
  type FeatureWindow,
  type Windower,
  type WindowerConfig,
} from './features/windower';
export {
  IGNORED_KEY_FLAGS,
  keystrokeFeatures,
  pairKeyPresses,
  type KeyPress,
} from './features/keystroke';
export { IGNORED_POINTER_FLAGS, pointerFeatures } from './features/pointer';
export { checkGolden, type GoldenCheck, type GoldenFile } from './features/golden';

export {
  KEY_STEP_FEATURES,
  POINTER_STEP_FEATURES,
  SEQUENCE_SCHEMA_VERSION,
  keystrokeSteps,
  pointerSteps,
} from './features/sequence';
export {
  SHARED_ENCODER_FORMAT,
  SHARED_ENCODER_VERSION,
  encode,
  encoderFromJSON,
  encoderToJSON,
  type EncoderProvenance,
  type SharedEncoder,
  type SharedEncoderJSON,
} from './shared/encoder';
export {
  DEFAULT_EMBEDDING_MODEL_CONFIG,
  EmbeddingUserModel,
  encoderId,
  type EmbeddingModelConfig,
  type EmbeddingModelJSON,
} from './shared/embedding-model';

export { UserModel, type FitReport, type ScoreDetail } from './detector/user-model';
export {
  DEFAULT_DETECTOR_CONFIG,
  resolveDetectorConfig,
  type DetectorConfig,
} from './detector/config';
export {
  USER_MODEL_FORMAT,
  USER_MODEL_VERSION,
  type UserModelJSON,
} from './detector/serialization';

export {
  FeatureSchemaError,
  ModelFormatError,
  ModelStateError,
  ModelVersionError,
  NotEnoughWindowsError,
  TacitModelError,
  type ModelErrorCode,
} from './errors';

/**
 * Model version string for attestations (`mv`): user-model format, feature schema and step
 * sequence schema versions.
 * It changes whenever a stored model would stop being loadable.
 */
export const MODEL_VERSION =
  `um${USER_MODEL_VERSION}.fs${FEATURE_SCHEMA_VERSION}.sq${SEQUENCE_SCHEMA_VERSION}` as const;

export {
  PRODUCT,
  disposeProductModels,
  fitProductModels,
  productScore,
  productLlr,
  productComponents,
  productDecide,
  productConfidence,
  shippedBlockProjection,
  type FitOptions,
  type ProductConfig,
  type ProductModels,
  type ScorableWindow,
} from './product/scorer';
export { EMPTY_DECISION_STATE, type DecisionState } from './product/decision';
export { BlockScorer } from './pointer/block-scorer';
export { BLOCK_FEATURE_VERSION } from './pointer/block-features';
