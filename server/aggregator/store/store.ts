/**
 * The aggregator's own store: rounds, the updates of the open round, published model versions,
 * its signing key and its privacy accountant, in one SQLite file (better-sqlite3, WAL; `:memory:`
 * in tests). Nothing here is the verifier's. An update's bytes are kept only while its round is
 * open: closing (or refusing) a round deletes them in the same transaction that publishes.
 *
 * @module
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** A round. Ids start at 1. */
export interface RoundRecord {
  id: number;
  /** The model version devices train from (their updates name its encoder id). */
  baseVersion: number;
  status: 'open' | 'closed' | 'refused';
  openedAt: number;
  closedAt: number | null;
  /** Distinct devices whose updates were aggregated (closed rounds). */
  contributors: number | null;
}

/** A published model version. */
export interface VersionRecord {
  ver: number;
  round: number | null;
  /** `encoderId()` of the encoder. */
  enc: string;
  /** The encoder JSON text, exactly as signed (digest). */
  encoder: string;
  /**
   * The version's public centres JSON text, exactly as signed (`centresDigest`). Null only for
   * a version published before the store had centres (migration 2), until the start-up that
   * computes them and re-signs it (`VersionService.ensureCentres`).
   */
  centres: string | null;
  /** The `tacit-model+jwt`. */
  token: string;
  createdAt: number;
  rollbackOf: number | null;
  contributors: number;
  epsilon: number;
  evaluation: Record<string, number> | null;
}

/** What the close of a round writes, at once. */
export interface Publication {
  version: VersionRecord;
  /** The round closed by it (absent for the initial version and rollbacks). */
  round?: { id: number; contributors: number };
  /** The accountant's state after the round's spend. */
  accountant?: string;
}

/** Row counts (tests: "nothing stored"). */
export interface AggregatorCounts {
  rounds: number;
  updates: number;
  versions: number;
}

/** The store. Synchronous underneath (one file, one process). */
export interface AggregatorStore {
  meta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Opens round max+1 from `baseVersion`, or returns undefined when one is open. */
  openRound(baseVersion: number, now: number): RoundRecord | undefined;
  openRoundRecord(): RoundRecord | undefined;
  round(id: number): RoundRecord | undefined;
  /** Stores an update of an open round; false if the device already sent one for it. */
  insertUpdate(round: number, device: string, bytes: Uint8Array, now: number): boolean;
  updates(round: number): { device: string; bytes: Uint8Array }[];
  countUpdates(round: number): number;
  /** Publishes a version (and closes its round, saves the accountant) in one transaction. */
  publish(p: Publication, now: number): void;
  /** Marks an open round refused and deletes its updates. */
  refuseRound(id: number, now: number): void;
  versions(): VersionRecord[];
  version(ver: number): VersionRecord | undefined;
  latestVersion(): VersionRecord | undefined;
  /** Sets a version's centres and its re-signed token (the start-up backfill), same `ver`. */
  setVersionCentres(ver: number, centres: string, token: string): void;
  counts(): AggregatorCounts;
  close(): void;
}

/** Numbered migrations; `user_version` is the number applied. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
   CREATE TABLE rounds (
     id INTEGER PRIMARY KEY,
     base_version INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'refused')),
     opened_at INTEGER NOT NULL,
     closed_at INTEGER,
     contributors INTEGER
   ) STRICT;
   CREATE UNIQUE INDEX one_open_round ON rounds (status) WHERE status = 'open';
   CREATE TABLE updates (
     round INTEGER NOT NULL REFERENCES rounds (id),
     device TEXT NOT NULL,
     bytes BLOB NOT NULL,
     received_at INTEGER NOT NULL,
     PRIMARY KEY (round, device)
   ) STRICT;
   CREATE TABLE versions (
     ver INTEGER PRIMARY KEY,
     round INTEGER,
     enc TEXT NOT NULL,
     encoder TEXT NOT NULL,
     token TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     rollback_of INTEGER,
     contributors INTEGER NOT NULL,
     epsilon REAL NOT NULL,
     evaluation TEXT
   ) STRICT;`,
  // 2: each version's public centres (docs/federated.md "Positive-only remedy"); versions of an
  // older store get theirs, and a re-signed token, at the next start.
  `ALTER TABLE versions ADD COLUMN centres TEXT;`,
];

interface RoundRow {
  id: number;
  base_version: number;
  status: RoundRecord['status'];
  opened_at: number;
  closed_at: number | null;
  contributors: number | null;
}

interface VersionRow {
  ver: number;
  round: number | null;
  enc: string;
  encoder: string;
  centres: string | null;
  token: string;
  created_at: number;
  rollback_of: number | null;
  contributors: number;
  epsilon: number;
  evaluation: string | null;
}

const roundOf = (r: RoundRow): RoundRecord => ({
  id: r.id,
  baseVersion: r.base_version,
  status: r.status,
  openedAt: r.opened_at,
  closedAt: r.closed_at,
  contributors: r.contributors,
});

const versionOf = (r: VersionRow): VersionRecord => ({
  ver: r.ver,
  round: r.round,
  enc: r.enc,
  encoder: r.encoder,
  centres: r.centres,
  token: r.token,
  createdAt: r.created_at,
  rollbackOf: r.rollback_of,
  contributors: r.contributors,
  epsilon: r.epsilon,
  evaluation: r.evaluation === null ? null : (JSON.parse(r.evaluation) as Record<string, number>),
});

/** Opens (creating and migrating) the store at `path` (`:memory:` for tests). */
export function openAggregatorStore(path: string): AggregatorStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // The file holds the signing key: owner only.
  if (path !== ':memory:') chmodSync(path, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > MIGRATIONS.length) {
    db.close();
    throw new Error(`aggregator store version ${applied} is newer than this build`);
  }
  for (let v = applied; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }

  const q = {
    meta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    openRound: db.prepare<[], RoundRow>("SELECT * FROM rounds WHERE status = 'open'"),
    round: db.prepare<[number], RoundRow>('SELECT * FROM rounds WHERE id = ?'),
    maxRound: db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM rounds'),
    insertRound: db.prepare(
      "INSERT INTO rounds (id, base_version, status, opened_at) VALUES (?, ?, 'open', ?)",
    ),
    insertUpdate: db.prepare(
      'INSERT INTO updates (round, device, bytes, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    updates: db.prepare<[number], { device: string; bytes: Buffer }>(
      'SELECT device, bytes FROM updates WHERE round = ? ORDER BY device',
    ),
    countUpdates: db.prepare<[number], { n: number }>(
      'SELECT count(*) AS n FROM updates WHERE round = ?',
    ),
    deleteUpdates: db.prepare('DELETE FROM updates WHERE round = ?'),
    closeRound: db.prepare(
      "UPDATE rounds SET status = ?, closed_at = ?, contributors = ? WHERE id = ? AND status = 'open'",
    ),
    insertVersion: db.prepare(
      `INSERT INTO versions (ver, round, enc, encoder, centres, token, created_at, rollback_of, contributors, epsilon, evaluation)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    setCentres: db.prepare('UPDATE versions SET centres = ?, token = ? WHERE ver = ?'),
    versions: db.prepare<[], VersionRow>('SELECT * FROM versions ORDER BY ver'),
    version: db.prepare<[number], VersionRow>('SELECT * FROM versions WHERE ver = ?'),
    latest: db.prepare<[], VersionRow>('SELECT * FROM versions ORDER BY ver DESC LIMIT 1'),
    count: (table: string) => db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`),
  };
  const counters = {
    rounds: q.count('rounds'),
    updates: q.count('updates'),
    versions: q.count('versions'),
  };

  const publish = db.transaction((p: Publication, now: number) => {
    const v = p.version;
    q.insertVersion.run(
      v.ver,
      v.round,
      v.enc,
      v.encoder,
      v.centres,
      v.token,
      v.createdAt,
      v.rollbackOf,
      v.contributors,
      v.epsilon,
      v.evaluation === null ? null : JSON.stringify(v.evaluation),
    );
    if (p.round) {
      const changed = q.closeRound.run('closed', now, p.round.contributors, p.round.id).changes;
      if (changed !== 1) throw new Error('round is not open');
      q.deleteUpdates.run(p.round.id);
    }
    if (p.accountant !== undefined) q.setMeta.run('accountant', p.accountant);
  });

  return {
    meta: (key) => q.meta.get(key)?.value,
    setMeta: (key, value) => void q.setMeta.run(key, value),
    openRound: db.transaction((baseVersion: number, now: number) => {
      if (q.openRound.get()) return undefined;
      const id = (q.maxRound.get()?.id ?? 0) + 1;
      q.insertRound.run(id, baseVersion, now);
      return roundOf(q.round.get(id)!);
    }),
    openRoundRecord: () => {
      const r = q.openRound.get();
      return r ? roundOf(r) : undefined;
    },
    round: (id) => {
      const r = q.round.get(id);
      return r ? roundOf(r) : undefined;
    },
    insertUpdate: db.transaction(
      (round: number, device: string, bytes: Uint8Array, now: number) => {
        if (q.round.get(round)?.status !== 'open') throw new Error('round is not open');
        return q.insertUpdate.run(round, device, Buffer.from(bytes), now).changes === 1;
      },
    ),
    updates: (round) =>
      q.updates.all(round).map((r) => ({ device: r.device, bytes: new Uint8Array(r.bytes) })),
    countUpdates: (round) => q.countUpdates.get(round)!.n,
    publish: (p, now) => publish(p, now),
    refuseRound: db.transaction((id: number, now: number) => {
      q.closeRound.run('refused', now, null, id);
      q.deleteUpdates.run(id);
    }),
    versions: () => q.versions.all().map(versionOf),
    version: (ver) => {
      const r = q.version.get(ver);
      return r ? versionOf(r) : undefined;
    },
    latestVersion: () => {
      const r = q.latest.get();
      return r ? versionOf(r) : undefined;
    },
    setVersionCentres: (ver, centres, token) => {
      if (q.setCentres.run(centres, token, ver).changes !== 1) throw new Error('no such version');
    },
    counts: () => ({
      rounds: counters.rounds.get()!.n,
      updates: counters.updates.get()!.n,
      versions: counters.versions.get()!.n,
    }),
    close: () => db.close(),
  };
}
