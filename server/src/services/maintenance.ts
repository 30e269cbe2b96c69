/**
 * Maintenance: deletes what is past its retention. `main.ts` runs it at start and every
 * 10 minutes (docs/server.md, "Storage and retention").
 *
 * @module
 */
import type { AuditTrail } from './audit';
import type { Clock } from '../clock';
import { POLICY } from '../domain/policy';
import type { PurgeResult, Store } from '../store/store';

/** What the maintenance service needs. */
export interface MaintenanceDeps {
  store: Store;
  clock: Clock;
  audit: AuditTrail;
  /** Audit records older than this are purged (days; default 365). */
  auditRetentionDays?: number;
}

/** What {@link MaintenanceService.purgeExpired} removed. */
export type Purged = PurgeResult & { auditRecords: number };

/** Retention. See the module comment. */
export class MaintenanceService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #audit: AuditTrail;
  readonly #auditRetentionDays: number;

  constructor(deps: MaintenanceDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#auditRetentionDays = deps.auditRetentionDays ?? 365;
  }

  /**
   * Deletes what is past its retention: `jti`s out of the freshness window, enrollment codes and
   * sessions (with their attestations) past `POLICY`'s retention, expired demo-bank logins,
   * and audit records older than the audit retention (the chain stays verifiable). Returns what
   * was removed.
   */
  async purgeExpired(): Promise<Purged> {
    const now = this.#clock.now();
    const purged = await this.#store.purgeExpired({
      jtisBefore: now,
      enrollmentCodesBefore: now - POLICY.enrollmentCodeRetentionMs,
      sessionsBefore: now - POLICY.sessionRetentionMs,
    });
    return { ...purged, auditRecords: await this.#audit.purge(this.#auditRetentionDays) };
  }
}
