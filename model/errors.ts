/**
 * Typed errors of the model library. A `TypeError`/`RangeError` means the caller misconfigured
 * something (bad config, a vector of the wrong length); a {@link TacitModelError} means stored or
 * incoming data was rejected, and carries a stable `code` to `switch` on. Messages are fixed
 * text: they never contain feature values or any other behavioural data.
 */

/** Every code a {@link TacitModelError} can carry. */
export type ModelErrorCode =
  | 'ERR_FEATURE_SCHEMA'
  | 'ERR_MODEL_FORMAT'
  | 'ERR_MODEL_VERSION'
  | 'ERR_TOO_FEW_WINDOWS'
  | 'ERR_NOT_FITTED'
  | 'ERR_DISPOSED'
  | 'ERR_PRIVACY_BUDGET'
  | 'ERR_ACCOUNTANT_FORMAT'
  | 'ERR_ACCOUNTANT_VERSION'
  | 'ERR_NO_DEVICE_TARGET'
  | FederatedUpdateErrorCode
  | SignedModelErrorCode;

/** Codes of a {@link SignedModelError}. */
export type SignedModelErrorCode =
  'ERR_MODEL_SIGNATURE' | 'ERR_MODEL_CLAIMS' | 'ERR_MODEL_DIGEST' | 'ERR_MODEL_DOWNGRADE';

/** Codes of a {@link FederatedUpdateError}. */
export type FederatedUpdateErrorCode =
  | 'ERR_UPDATE_FORMAT'
  | 'ERR_UPDATE_VERSION'
  | 'ERR_UPDATE_SIZE'
  | 'ERR_UPDATE_ENCODER'
  | 'ERR_UPDATE_ROUND';

/** Base class of the model library's domain errors. */
export class TacitModelError extends Error {
  /** Stable machine-readable code. */
  readonly code: ModelErrorCode;

  /** @param code stable code; @param message fixed text without behavioural data. */
  constructor(code: ModelErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A stored model, golden file or vector set was made for another feature schema version (or
 * feature list) than the one compiled into this build. The data must not be used: features of
 * different versions are not comparable. The usual remedy is re-enrolment.
 */
export class FeatureSchemaError extends TacitModelError {
  /** @param message fixed text. */
  constructor(message = 'feature schema version mismatch') {
    super('ERR_FEATURE_SCHEMA', message);
  }
}

/** A serialized model is not a `tacit-user-model` document or is malformed. */
export class ModelFormatError extends TacitModelError {
  /** @param message fixed text. */
  constructor(message = 'malformed user model') {
    super('ERR_MODEL_FORMAT', message);
  }
}

/** A serialized model has a format version this build cannot read. */
export class ModelVersionError extends TacitModelError {
  /** @param message fixed text. */
  constructor(message = 'unsupported user model version') {
    super('ERR_MODEL_VERSION', message);
  }
}

/** `fit` got fewer windows than `minEnrollWindows`. */
export class NotEnoughWindowsError extends TacitModelError {
  /** @param message fixed text. */
  constructor(message = 'not enough enrolment windows') {
    super('ERR_TOO_FEW_WINDOWS', message);
  }
}

/** A model was used before `fit`/`fromJSON` (`ERR_NOT_FITTED`) or after `dispose` (`ERR_DISPOSED`). */
export class ModelStateError extends TacitModelError {
  /** @param code which misuse; @param message fixed text. */
  constructor(code: 'ERR_NOT_FITTED' | 'ERR_DISPOSED', message: string) {
    super(code, message);
  }
}

/**
 * A privacy accountant refused to record a release because it would take the cumulated ε past
 * the configured budget (`model/federated/accountant.ts`). Nothing was recorded: the caller must
 * not release the aggregate.
 */
export class PrivacyBudgetError extends TacitModelError {
  /** @param message fixed text. */
  constructor(message = 'privacy budget would be exceeded') {
    super('ERR_PRIVACY_BUDGET', message);
  }
}

/**
 * A serialized privacy accountant is malformed (`ERR_ACCOUNTANT_FORMAT`) or has a format version
 * this build cannot read (`ERR_ACCOUNTANT_VERSION`).
 */
export class AccountantStateError extends TacitModelError {
  /** @param code which failure; @param message fixed text. */
  constructor(code: 'ERR_ACCOUNTANT_FORMAT' | 'ERR_ACCOUNTANT_VERSION', message: string) {
    super(code, message);
  }
}

/**
 * A local round was asked to run the `positive-only` objective without a device-kept target
 * (`LocalUpdateOptions.ownCentre`, `federated/device-target.ts`): towards the own centre
 * recomputed under every version it is the collapsing baseline of Yu et al. (ICML 2020), which
 * must never run by accident (only a test that shows the collapse opts into it). Nothing ran.
 */
export class MissingDeviceTargetError extends TacitModelError {
  /** @param message fixed text. */
  constructor(message = 'positive-only local round without a device-kept target') {
    super('ERR_NO_DEVICE_TARGET', message);
  }
}

/**
 * Serialized federated update bytes were refused (`model/federated/update-format.ts`):
 * `ERR_UPDATE_SIZE` (larger than allowed, or not exactly the length its header implies),
 * `ERR_UPDATE_FORMAT` (not a Tacit update, or malformed), `ERR_UPDATE_VERSION` (a format version
 * or quantisation scheme this build cannot read), `ERR_UPDATE_ENCODER` (made for another encoder:
 * other id or parameter count), `ERR_UPDATE_ROUND` (made for another round). Nothing of it may be
 * used.
 */
export class FederatedUpdateError extends TacitModelError {
  /** @param code which failure; @param message fixed text. */
  constructor(code: FederatedUpdateErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * A published model version was refused before use (`model/federated/signed.ts`):
 * `ERR_MODEL_SIGNATURE` (not a `tacit-model+jwt` signed by a pinned aggregator key: bad
 * signature, unknown key, other algorithm or type), `ERR_MODEL_CLAIMS` (signed, but its claims are
 * missing or malformed), `ERR_MODEL_DIGEST` (the encoder bytes are not the ones signed),
 * `ERR_MODEL_DOWNGRADE` (a version older than the one the device already has). Nothing of it may
 * be used.
 */
export class SignedModelError extends TacitModelError {
  /** @param code which failure; @param message fixed text. */
  constructor(code: SignedModelErrorCode, message: string) {
    super(code, message);
  }
}
