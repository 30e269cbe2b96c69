/**
 * The closed message protocol between the extension's contexts. Wire types only, no logic.
 * Every message is a member of one of these unions; handlers live in tables keyed by `type`
 * (see background/handlers.ts, offscreen/index.ts) that check the sender and drop the rest.
 */
import type { RawEventBatch } from '../../model/events/schema';

/** Model state reported by the worker. */
export type ModelState = 'enrolling' | 'scoring';

/** What the worker says after ingesting a batch. */
export interface ScoreUpdate {
  state: ModelState;
  /** Enrolment progress in [0, 1] (1 once every modality with data is trained). */
  progress: number;
  /** Fused session confidence in [0, 1], or null while nothing has been scored. */
  confidence: number | null;
  /** Windows scored by this call. */
  windowsScored: number;
  /** Trusted events behind this call, per modality. */
  counts: { k: number; p: number };
  modelVersion: string;
}

export interface WorkerStatus {
  backend: string;
  state: ModelState;
  progress: number;
  modelVersion: string;
  modalities: Record<'keystroke' | 'pointer', { trained: boolean; enrolWindows: number }>;
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
  | { target: 'offscreen'; type: 'ingest'; batch: RawEventBatch; sid: string | null }
  | { target: 'offscreen'; type: 'status' }
  | { target: 'offscreen'; type: 'check-golden' };

/** Extension pages (popup, options) → service worker. */
export type PageMessage =
  | { type: 'status' }
  | { type: 'check-golden' }
  /** The server's view of the session the page in tab `tabId` declared. */
  | { type: 'session-assurance'; tabId: number }
  /** Revoke this device at the server, then delete the device key and the enrolment. */
  | { type: 'forget-device' };

export interface CapturePolicyReply {
  capture: boolean;
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

export interface ForgetDeviceReply {
  ok: boolean;
  /** Enrolments the server revoked; null when there was nothing to revoke there. */
  revoked: number | null;
  error: string | null;
}

/** The API the model worker exposes through comlink (its only surface). */
export interface ModelWorkerApi {
  ingest(batch: RawEventBatch, sid: string | null): Promise<ScoreUpdate>;
  status(): Promise<WorkerStatus>;
  checkGolden(): Promise<GoldenReply>;
}

/** Reply type for each message type (what the handler resolves with). */
export interface ContentReplies {
  'capture-policy': CapturePolicyReply;
  events: { accepted: number };
  'page-hints': { ok: true };
}

export interface OffscreenReplies {
  ingest: ScoreUpdate;
  status: WorkerStatus;
  'check-golden': GoldenReply;
}

export interface PageReplies {
  status: ExtensionStatus;
  'check-golden': GoldenReply;
  'session-assurance': SessionAssuranceReply;
  'forget-device': ForgetDeviceReply;
}
