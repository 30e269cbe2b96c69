/**
 * The closed message protocol between the extension's contexts. Wire types only, no logic.
 * Every message is a member of one of these unions; handlers live in tables keyed by `type`
 * (see background/handlers.ts, offscreen/index.ts) that check the sender and drop the rest.
 */
import type { RawEventBatch } from '../../model/events/schema';
import type { SessionSignals } from '../../model/signals';

export type { SessionSignals };

/** Model state reported by the worker. */
export type ModelState = 'enrolling' | 'scoring';

/**
 * Whose model a batch may train and be scored by. The service worker gives one only for a
 * session the bank has vouched for: bound by the enrolled device, live, opened for a subject this
 * device is enrolled for. Without one, nothing is learned or scored (typing on a login page,
 * before binding, after the session ended).
 */
export interface LearningContext {
  /** Derived from the server URL and the subject (background/subject-key.ts); opaque here. */
  subjectKey: string;
}

/** What the worker says after ingesting a batch. */
export interface ScoreUpdate {
  /** False when the batch had no learning context: nothing was learned or scored. */
  learning: boolean;
  state: ModelState;
  /** Enrolment progress in [0, 1] (1 once every modality with data is trained). */
  progress: number;
  /**
   * Session confidence in [0, 1] (the product's decision state, model/product/decision.ts:
   * below 0.5 exactly when the decision has fired), or null while nothing has been scored.
   */
  confidence: number | null;
  /**
   * The session decision, null while nothing has been scored: whether the product decided the
   * person changed (sticky for the session, until the bank confirms it with a strong factor),
   * and the windows per modality it rests on. `dipped`: the session's confidence fell below
   * the safe level of template growth since it started (or since its last confirmation), so it
   * teaches the model nothing until the bank confirms it (absent: not below).
   */
  decision: {
    takeover: boolean;
    windows: { k: number; p: number };
    dipped?: boolean;
  } | null;
  /** Windows scored by this call. */
  windowsScored: number;
  /** Trusted events behind this call, per modality. */
  counts: { k: number; p: number };
  modelVersion: string;
  /**
   * The session's signals so far (model/signals), attested as `sig`; absent without a session
   * id. Values only: the events behind them stay in the worker.
   */
  signals?: SessionSignals;
}

export interface WorkerStatus {
  /** False when asked without a learning context: the rest describes no one's model. */
  subject: boolean;
  backend: string;
  state: ModelState;
  progress: number;
  modelVersion: string;
  modalities: Record<'keystroke' | 'pointer', { trained: boolean; enrolWindows: number }>;
}

/** Metadata of what the model store holds (worker/model-store.ts): never vectors or weights. */
export interface StoreDescription {
  windows: {
    subject: string;
    modality: 'keystroke' | 'pointer';
    count: number;
    oldestAt: number;
    newestAt: number;
  }[];
  models: {
    subject: string;
    modality: 'keystroke' | 'pointer';
    featureSchema: number;
    hasEmbedding: boolean;
    savedAt: number;
    usedAt: number;
  }[];
}

/** Page hints a bank page declares through `<meta>` tags (docs/protocol.md §5). */
export interface PageHints {
  session?: { sid: string; challenge: string };
  enrollmentCode?: string;
}

/** Content script → service worker. */
export type ContentMessage =
  | { type: 'capture-policy' }
  | { type: 'events'; batch: RawEventBatch }
  | { type: 'page-hints'; hints: PageHints };

/** Service worker → offscreen document (Chrome only; Firefox's background page hosts the worker itself). */
export type OffscreenMessage =
  | {
      target: 'offscreen';
      type: 'ingest';
      batch: RawEventBatch;
      sid: string | null;
      learn: LearningContext | null;
    }
  | { target: 'offscreen'; type: 'status'; learn: LearningContext | null }
  | { target: 'offscreen'; type: 'confirm-session'; sid: string; learn: LearningContext }
  | { target: 'offscreen'; type: 'check-golden' }
  | { target: 'offscreen'; type: 'describe' }
  | { target: 'offscreen'; type: 'apply-retention'; maxAgeMs: number }
  | { target: 'offscreen'; type: 'erase-all' }
  | { target: 'offscreen'; type: 'federated-update'; spec: FederatedRoundSpec }
  | {
      target: 'offscreen';
      type: 'adopt-encoder';
      encoder: string;
      ver: number;
      enc: string;
      centres: string;
    };

/** Extension pages (popup, options) → service worker. */
export type PageMessage =
  | { type: 'status' }
  | { type: 'check-golden' }
  /** The server's view of the session the page in tab `tabId` declared. */
  | { type: 'session-assurance'; tabId: number }
  /** Revoke this device at the server, then delete the device key and the enrolment. */
  | { type: 'forget-device' }
  /** What is stored about the user, as a JSON document (ExportDocument). */
  | { type: 'export-data' }
  /** Revoke at the server, then delete keys, models, windows, history and settings. */
  | { type: 'delete-everything' }
  /** Everything the popup shows about the page in tab `tabId` (its site, its session). */
  | { type: 'tab-status'; tabId: number }
  /** Pauses or resumes capture on a protected origin (stored under `PAUSED_ORIGINS_KEY`). */
  | { type: 'set-site-paused'; origin: string; paused: boolean };

export interface CapturePolicyReply {
  capture: boolean;
}

/** After a confirmation: whether the session had a decision to reset. */
export interface ConfirmReply {
  reset: boolean;
}

export interface GoldenReply {
  ok: boolean;
  maxAbsDiff: number;
}

/** Everything the popup shows. Never contains behavior data. */
export interface ExtensionStatus {
  enrolled: boolean;
  deviceId: string | null;
  serverUrl: string;
  model: WorkerStatus | null;
  lastConfidence: number | null;
  session: { sid: string; bound: boolean; seq: number; lastSentAt: number | null } | null;
  lastError: string | null;
}

/** What the popup shows for one tab. Never contains behavior data. */
export interface TabStatus {
  /** The page's origin as its content script reported it; null when Tacit is not on the page. */
  site: { origin: string; protected: boolean; paused: boolean } | null;
  /** Events from this page reach the model now (consent given, protected, not paused). */
  capturing: boolean;
  /** Whether capture may run at all, and on whose word (the person's, or the organisation's). */
  consent: { given: boolean; by: 'user' | 'organisation' | null };
  device: { enrolled: boolean; deviceId: string | null; subjects: number };
  serverUrl: string;
  /** The session this tab's page declared, or null (e.g. the login page). */
  session: {
    sid: string;
    bound: boolean;
    ended: boolean;
    /** The bank vouched for this session's subject: the model learns and scores here. */
    learning: boolean;
    seq: number;
  } | null;
  /** The model of this tab's subject (or of no one); null when the worker did not answer. */
  model: WorkerStatus | null;
  /** Why `model` is null, as a stable code (shared/error-text.ts has the sentence). */
  modelError: string | null;
  /** The session's latest fused confidence (worker), null before the first scored window. */
  confidence: number | null;
  /** The confidences this session's statements carried, oldest first (the popup's chart). */
  series: { at: number; conf: number }[];
  /** The last statement sent for this session, with the server's answer. */
  lastStatement: AttestationRecord | null;
  /** The last problem, as a stable code. */
  lastError: string | null;
}

export interface SetSitePausedReply {
  ok: boolean;
  paused: string[];
  error: string | null;
}

/** The server's view of a session, as its bound device reads it (GET /v1/device/sessions/:sid). */
export interface ServerSessionView {
  /** `revoked`: this device's enrolment for the session was revoked. */
  status: 'active' | 'ended' | 'terminated' | 'expired' | 'revoked';
  /** Current (decayed) assurance in [0, 1], null before the first scored attestation. */
  assurance: number | null;
  level: 'none' | 'enrolling' | 'high' | 'medium' | 'low';
  state: ModelState | null;
  attestations: number;
}

export interface SessionAssuranceReply {
  /** Null when the tab declared no session or this device is not enrolled. */
  session: (ServerSessionView & { sid: string }) | null;
  /** Stable code when the server could not be asked (e.g. `ERR_NETWORK`, `ERR_SERVER/…`). */
  error: string | null;
}

/** One statement the device sent (or tried to), as kept in the attestation history. */
export interface AttestationRecord {
  sid: string;
  seq: number;
  /** When it was sent, ms since the epoch. */
  at: number;
  state: ModelState;
  /** The confidence it carried (null while enrolling). */
  conf: number | null;
  progress: number;
  /** `accepted`; `refused` by the server (with its stable code); `unreachable` (not delivered). */
  result: 'accepted' | 'refused' | 'unreachable';
  code: string | null;
  /** The session's assurance and level as the server answered (accepted statements). */
  assurance: number | null;
  level: string | null;
}

/**
 * The export ("what does Tacit keep about me"): metadata, counts and the attestation history.
 * Never a timing, a feature vector, a step, a model weight, a key class or text.
 */
export interface ExportDocument {
  format: 'tacit-export';
  version: 1;
  exportedAt: string;
  extensionVersion: string;
  serverUrl: string;
  retentionDays: number;
  device: { deviceId: string; enrolledAt: string; subjects: string[] } | null;
  /** Per subject (named when enrolled here, else by its key): stored windows and models. */
  subjects: {
    subject: string | null;
    subjectKey: string;
    windows: { modality: string; count: number; oldestAt: string; newestAt: string }[];
    models: {
      modality: string;
      featureSchema: number;
      withSharedEncoder: boolean;
      trainedAt: string;
      lastUsedAt: string;
    }[];
  }[];
  attestations: (Omit<AttestationRecord, 'at'> & { at: string })[];
}

export interface ExportReply {
  ok: boolean;
  document: ExportDocument | null;
  error: string | null;
}

export interface DeleteEverythingReply {
  ok: boolean;
  /** Enrolments the server revoked; null when there was nothing to revoke there. */
  revoked: number | null;
  error: string | null;
}

export interface ForgetDeviceReply {
  ok: boolean;
  /** Enrolments the server revoked; null when there was nothing to revoke there. */
  revoked: number | null;
  error: string | null;
}

/**
 * An open federated round as the worker needs it (from the aggregator's `GET /v1/rounds/current`,
 * checked by the background): the update is computed only for exactly this encoder and round.
 */
export interface FederatedRoundSpec {
  round: number;
  /** The round's encoder id: the worker refuses when its adopted encoder is another one. */
  encoderId: string;
  /** That encoder's parameter count. */
  parameters: number;
  clipNorm: number;
  noiseMultiplier: number;
  minDevices: number;
}

/** Why the worker computed no update (stable codes; nothing else is said). */
export type FederatedSkipCode =
  /** The round trains another encoder than the one this device adopted. */
  | 'ERR_FL_ENCODER'
  /** No public centres for the adopted encoder (only the `frozen-centres` objective needs them). */
  | 'ERR_FL_NO_CENTRES'
  /** No enrolled step sequences on this device. */
  | 'ERR_FL_NO_DATA';

/**
 * The worker's answer to a round: the `TFLU` bytes (base64url: runtime messages carry JSON only)
 * of the clipped, noised, quantised delta — never the fine-tuned encoder, never sequences.
 */
export type FederatedUpdateReply =
  { ok: true; update: string; bytes: number; ms: number } | { ok: false; code: FederatedSkipCode };

/**
 * Why a verified version was not adopted (nothing of it is stored or used):
 * `ERR_MODEL_ENCODER` — the encoder it carries does not load, or its id is not the one the
 * signed `enc` claim names; `ERR_MODEL_CENTRES` — its public centres do not parse for that
 * encoder's id and dimension.
 */
export type AdoptRefusalCode = 'ERR_MODEL_ENCODER' | 'ERR_MODEL_CENTRES';

/** After adopting a verified encoder: its id and how many subjects' models were refitted. */
export type AdoptEncoderReply =
  { ok: true; encoderId: string; refitted: number } | { ok: false; code: AdoptRefusalCode };

/** The API the model worker exposes through comlink (its only surface). */
export interface ModelWorkerApi {
  ingest(
    batch: RawEventBatch,
    sid: string | null,
    learn: LearningContext | null,
  ): Promise<ScoreUpdate>;
  status(learn: LearningContext | null): Promise<WorkerStatus>;
  /**
   * The bank confirmed session `sid` with a strong factor: its decision starts a new epoch
   * (confidence back to that of no evidence), and template growth may learn from its windows
   * from now on (never from those before).
   */
  confirmSession(sid: string, learn: LearningContext): Promise<ConfirmReply>;
  checkGolden(): Promise<GoldenReply>;
  describe(): Promise<StoreDescription>;
  /** Deletes windows older than `maxAgeMs` and models unused for that long. */
  applyRetention(maxAgeMs: number): Promise<{ windows: number; models: number }>;
  /** Deletes the model store: windows, models and its encryption key. */
  eraseAll(): Promise<void>;
  /** One local federated round on the stored step sequences (docs/federated.md "Client"). */
  federatedUpdate(spec: FederatedRoundSpec): Promise<FederatedUpdateReply>;
  /**
   * Adopts a shared encoder and its public centres, whose signature the background verified
   * (`verifyModelVersion`; `enc` is the signed claim naming the encoder): the encoder's id
   * checked against `enc` and the centres against the encoder, both stored, the encoder used for
   * scoring and its centres for local rounds, every subject's models rebuilt from its stored
   * sequences.
   */
  adoptEncoder(
    encoder: string,
    ver: number,
    enc: string,
    centres: string,
  ): Promise<AdoptEncoderReply>;
}

/** Reply type for each message type (what the handler resolves with). */
export interface ContentReplies {
  'capture-policy': CapturePolicyReply;
  /** `stop`: capture must end on this page (consent withdrawn, site no longer protected). */
  events: { accepted: number; stop?: true };
  'page-hints': { ok: true };
}

export interface OffscreenReplies {
  ingest: ScoreUpdate;
  status: WorkerStatus;
  'confirm-session': ConfirmReply;
  'check-golden': GoldenReply;
  describe: StoreDescription;
  'apply-retention': { windows: number; models: number };
  'erase-all': { ok: true };
  'federated-update': FederatedUpdateReply;
  'adopt-encoder': AdoptEncoderReply;
}

export interface PageReplies {
  status: ExtensionStatus;
  'check-golden': GoldenReply;
  'session-assurance': SessionAssuranceReply;
  'forget-device': ForgetDeviceReply;
  'export-data': ExportReply;
  'delete-everything': DeleteEverythingReply;
  'tab-status': TabStatus;
  'set-site-paused': SetSitePausedReply;
}
