/**
 * The user's control over what Tacit keeps: retention, export and delete-everything.
 * Export carries metadata, counts and the attestation history, never a timing, a feature, a
 * step, a model weight or text (the model store answers with metadata only).
 */
import type { TacitConfig } from '../shared/config';
import type { AttestationRecord, ExportDocument, StoreDescription } from '../shared/protocol';
import type { ModelHost } from './model-host';
import type { SessionService } from './session';
import { subjectKey } from './subject-key';

const DAY_MS = 86_400_000;
/** Retention runs at most this often (on activity; a stopped browser keeps nothing running). */
export const RETENTION_EVERY_MS = 3_600_000;

export interface DataControlDeps {
  config(): Promise<TacitConfig>;
  host(): ModelHost;
  sessions: Pick<SessionService, 'enrolment' | 'forgetDevice'>;
  history: {
    list(): Promise<AttestationRecord[]>;
    prune(cutoff: number): Promise<number>;
  };
  /** Wipes `storage.local` and `storage.session` (settings, enrolment, history, session state). */
  clearStorage(): Promise<void>;
  lastRetentionRun: { get(): Promise<number | null>; set(at: number): Promise<void> };
  extensionVersion: string;
  now?: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class DataControl {
  private readonly now: () => number;

  constructor(private readonly deps: DataControlDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Applies `retentionDays` to the model store and the history, at most once an hour. */
  async maybeApplyRetention(): Promise<void> {
    const last = await this.deps.lastRetentionRun.get();
    if (last !== null && this.now() - last < RETENTION_EVERY_MS) return;
    await this.deps.lastRetentionRun.set(this.now());
    await this.applyRetention();
  }

  async applyRetention(): Promise<void> {
    const { retentionDays } = await this.deps.config();
    const maxAgeMs = retentionDays * DAY_MS;
    await this.deps.host().applyRetention(maxAgeMs);
    await this.deps.history.prune(this.now() - maxAgeMs);
  }

  async exportDocument(): Promise<ExportDocument> {
    const config = await this.deps.config();
    const enrolment = await this.deps.sessions.enrolment();
    const description: StoreDescription = await this.deps.host().describe();
    const names = new Map<string, string>();
    for (const subject of enrolment?.subjects ?? []) {
      names.set(await subjectKey(enrolment!.serverUrl, subject), subject);
    }
    const keys = [
      ...new Set([...description.windows, ...description.models].map((r) => r.subject)),
    ];
    return {
      format: 'tacit-export',
      version: 1,
      exportedAt: iso(this.now()),
      extensionVersion: this.deps.extensionVersion,
      serverUrl: config.serverUrl,
      retentionDays: config.retentionDays,
      device: enrolment && {
        deviceId: enrolment.deviceId,
        enrolledAt: iso(enrolment.enrolledAt),
        subjects: [...enrolment.subjects],
      },
      subjects: keys.map((key) => ({
        subject: names.get(key) ?? null,
        subjectKey: key,
        windows: description.windows
          .filter((w) => w.subject === key)
          .map((w) => ({
            modality: w.modality,
            count: w.count,
            oldestAt: iso(w.oldestAt),
            newestAt: iso(w.newestAt),
          })),
        models: description.models
          .filter((m) => m.subject === key)
          .map((m) => ({
            modality: m.modality,
            featureSchema: m.featureSchema,
            withSharedEncoder: m.hasEmbedding,
            trainedAt: iso(m.savedAt),
            lastUsedAt: iso(m.usedAt),
          })),
      })),
      attestations: (await this.deps.history.list()).map((r) => ({
        sid: r.sid,
        seq: r.seq,
        at: iso(r.at),
        state: r.state,
        conf: r.conf,
        progress: r.progress,
        result: r.result,
        code: r.code,
        assurance: r.assurance,
        level: r.level,
      })),
    };
  }

  /**
   * Revokes the device at the server first (SessionService.forgetDevice: an unreachable server
   * stops it before anything is deleted, so the user can retry), then deletes the device key,
   * the model store with its key, the history, the settings and every session's state.
   */
  async deleteEverything(): Promise<{ revoked: number | null }> {
    const { revoked } = await this.deps.sessions.forgetDevice();
    await this.deps.host().eraseAll();
    await this.deps.clearStorage();
    return { revoked };
  }
}
