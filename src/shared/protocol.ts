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
export type PageMessage = { type: 'status' } | { type: 'check-golden' };

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
}
