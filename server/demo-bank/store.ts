/**
 * The demo bank's own store: its logins (cookie → subject, Tacit session, pending enrollment
 * code, the WebAuthn challenge in flight), its users' passkeys (public keys only) and the secret
 * keying its username pseudonyms, in one small SQLite file
 * (better-sqlite3; `:memory:` in tests). Nothing here is the verifier's: the bank knows the
 * verifier only through the SDK.
 *
 * @module
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** One login (the cookie value is stored by its hash only). */
export interface BankLogin {
  /** SHA-256 (base64url) of the cookie value. */
  idHash: string;
  /** Display name (normalized username), shown in the page header. */
  username: string;
  /** The pseudonymous subject the bank opens Tacit sessions for. */
  subject: string;
  /** The Tacit session opened at login. */
  tacitSid: string;
  /** Its challenge, handed to the extension in the page. */
  challenge: string;
  /** ms since the epoch. */
  createdAt: number;
  /** ms since the epoch: the Tacit session's expiry. */
  expiresAt: number;
  /** Enrollment code shown to the user until used or expired. */
  pendingCode: string | null;
  pendingCodeIssuedAt: number | null;
  pendingCodeExpiresAt: number | null;
}

/** A pending enrollment code of a login. */
export interface PendingCode {
  code: string;
  issuedAt: number;
  expiresAt: number;
}

/** A Security Event Token the bank's receiver accepted (its summary, not the token). */
export interface ReceivedEvent {
  jti: string;
  /** The Tacit session it is about, null for stream-level events (verification). */
  sid: string | null;
  /** Short event name, e.g. `risk-level-change`. */
  type: string;
  /** One line for the page, e.g. `LOW → HIGH (ASSURANCE_BELOW_TERMINATE)`. */
  summary: string;
  /** ms since the epoch. */
  receivedAt: number;
}

/** A passkey (WebAuthn credential) registered by a user: its public key, never a secret. */
export interface Passkey {
  /** base64url credential id. */
  id: string;
  /** The user's pseudonymous subject (the passkeys of one user, whichever login). */
  subject: string;
  /** COSE public key. */
  publicKey: Uint8Array;
  /** Signature counter last seen (0 for authenticators that keep none). */
  counter: number;
  /** Transports the browser reported (hints for the next assertion). */
  transports: string[];
  /** ms since the epoch. */
  createdAt: number;
}

/** A WebAuthn challenge a login has in flight, and what its ceremony is for. */
export interface PendingChallenge {
  /** base64url challenge. */
  challenge: string;
  /** `register`, or `transfer:<digest of the transfer>` (the assertion confirms that one). */
  purpose: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** The bank's store. Synchronous underneath (one small file, one process). */
export interface BankStore {
  /** Stores a verified passkey; false (nothing stored) if its id is registered already. */
  addPasskey(passkey: Passkey): boolean;
  /** The passkeys of one subject, oldest first. */
  passkeysOf(subject: string): Passkey[];
  /** Records the counter of a passkey after an accepted assertion. */
  setPasskeyCounter(id: string, counter: number): void;
  /** Sets (or, with null, clears) the login's challenge in flight: one at a time. */
  setChallenge(idHash: string, challenge: PendingChallenge | null): void;
  /** The login's challenge in flight, removed in the same step (a challenge is used once). */
  takeChallenge(idHash: string): PendingChallenge | undefined;
  /** Remembers an accepted SET; false (nothing stored) when its `jti` was seen already. */
  addEvent(event: ReceivedEvent): boolean;
  /** The newest events of one Tacit session, newest first. */
  eventsOf(sid: string, limit: number): ReceivedEvent[];
  /** Ends every login on this Tacit session (the verifier revoked it); returns how many. */
  deleteLoginsOfSession(sid: string): number;
  createLogin(login: BankLogin): void;
  getLogin(idHash: string): BankLogin | undefined;
  setPendingCode(idHash: string, pending: PendingCode | null): void;
  deleteLogin(idHash: string): void;
  /** Deletes logins that expired before `now`; returns how many. */
  purgeExpired(now: number): number;
  /** The named secret, created by `create` on first use. */
  secret(name: string, create: () => string): string;
  /** Number of stored logins (tests and diagnostics). */
  countLogins(): number;
  close(): void;
}

/** Numbered migrations; `user_version` is the number applied. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE logins (
     id_hash TEXT PRIMARY KEY,
     username TEXT NOT NULL,
     subject TEXT NOT NULL,
     tacit_sid TEXT NOT NULL,
     challenge TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     pending_code TEXT,
     pending_code_issued_at INTEGER,
     pending_code_expires_at INTEGER
   );
   CREATE INDEX logins_expiry ON logins (expires_at);
   CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // 2: Security Event Tokens the receiver accepted (summaries; jti is the replay cache).
  `CREATE TABLE security_events (
     jti TEXT PRIMARY KEY,
     sid TEXT,
     type TEXT NOT NULL,
     summary TEXT NOT NULL,
     received_at INTEGER NOT NULL
   );
   CREATE INDEX security_events_sid ON security_events (sid, received_at);`,
  // 3: passkeys (WebAuthn step-up, passkeys.ts) and the challenge a login has in flight.
  `CREATE TABLE passkeys (
     id TEXT PRIMARY KEY,
     subject TEXT NOT NULL,
     public_key BLOB NOT NULL,
     counter INTEGER NOT NULL,
     transports TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX passkeys_subject ON passkeys (subject, created_at);
   ALTER TABLE logins ADD COLUMN webauthn_challenge TEXT;
   ALTER TABLE logins ADD COLUMN webauthn_purpose TEXT;
   ALTER TABLE logins ADD COLUMN webauthn_expires_at INTEGER;`,
];

/** Received events are kept this long (ms). */
const EVENT_RETENTION_MS = 24 * 60 * 60 * 1000;

interface Row {
  id_hash: string;
  username: string;
  subject: string;
  tacit_sid: string;
  challenge: string;
  created_at: number;
  expires_at: number;
  pending_code: string | null;
  pending_code_issued_at: number | null;
  pending_code_expires_at: number | null;
}

const toLogin = (r: Row): BankLogin => ({
  idHash: r.id_hash,
  username: r.username,
  subject: r.subject,
  tacitSid: r.tacit_sid,
  challenge: r.challenge,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  pendingCode: r.pending_code,
  pendingCodeIssuedAt: r.pending_code_issued_at,
  pendingCodeExpiresAt: r.pending_code_expires_at,
});

/**
 * Opens (and migrates) the store at `path`, or in memory for `:memory:`. The file's directory
 * is created (0700) and the file is made 0600.
 *
 * @throws {Error} if the file is from a newer version of the bank.
 */
export function openBankStore(path: string): BankStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  if (path !== ':memory:') {
    chmodSync(path, 0o600);
    db.pragma('journal_mode = WAL');
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new Error(`demo bank store: version ${version} is newer than this bank`);
  }
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();

  const q = {
    insert: db.prepare(
      `INSERT INTO logins (id_hash, username, subject, tacit_sid, challenge, created_at,
         expires_at, pending_code, pending_code_issued_at, pending_code_expires_at)
       VALUES (@idHash, @username, @subject, @tacitSid, @challenge, @createdAt, @expiresAt,
         @pendingCode, @pendingCodeIssuedAt, @pendingCodeExpiresAt)`,
    ),
    get: db.prepare<[string], Row>('SELECT * FROM logins WHERE id_hash = ?'),
    pending: db.prepare(
      `UPDATE logins SET pending_code = ?, pending_code_issued_at = ?, pending_code_expires_at = ?
       WHERE id_hash = ?`,
    ),
    delete: db.prepare('DELETE FROM logins WHERE id_hash = ?'),
    purge: db.prepare('DELETE FROM logins WHERE expires_at < ?'),
    purgeEvents: db.prepare('DELETE FROM security_events WHERE received_at < ?'),
    addEvent: db.prepare(
      `INSERT OR IGNORE INTO security_events (jti, sid, type, summary, received_at)
       VALUES (@jti, @sid, @type, @summary, @receivedAt)`,
    ),
    events: db.prepare<[string, number], Record<string, unknown>>(
      `SELECT jti, sid, type, summary, received_at FROM security_events WHERE sid = ?
       ORDER BY received_at DESC, rowid DESC LIMIT ?`,
    ),
    deleteBySid: db.prepare('DELETE FROM logins WHERE tacit_sid = ?'),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM logins'),
    getSecret: db.prepare<[string], { value: string }>('SELECT value FROM secrets WHERE name = ?'),
    addPasskey: db.prepare(
      `INSERT OR IGNORE INTO passkeys (id, subject, public_key, counter, transports, created_at)
       VALUES (@id, @subject, @publicKey, @counter, @transports, @createdAt)`,
    ),
    passkeysOf: db.prepare<[string], Record<string, unknown>>(
      'SELECT * FROM passkeys WHERE subject = ? ORDER BY created_at, id',
    ),
    passkeyCounter: db.prepare('UPDATE passkeys SET counter = ? WHERE id = ?'),
    setChallenge: db.prepare(
      `UPDATE logins SET webauthn_challenge = ?, webauthn_purpose = ?, webauthn_expires_at = ?
       WHERE id_hash = ?`,
    ),
    getChallenge: db.prepare<[string], Record<string, unknown>>(
      `SELECT webauthn_challenge, webauthn_purpose, webauthn_expires_at FROM logins
       WHERE id_hash = ?`,
    ),
    putSecret: db.prepare('INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)'),
  };

  const takeChallenge = db.transaction((idHash: string): PendingChallenge | undefined => {
    const row = q.getChallenge.get(idHash);
    if (!row || row.webauthn_challenge === null) return undefined;
    q.setChallenge.run(null, null, null, idHash);
    return {
      challenge: String(row.webauthn_challenge),
      purpose: String(row.webauthn_purpose),
      expiresAt: Number(row.webauthn_expires_at),
    };
  });

  return {
    addPasskey(passkey) {
      const row = {
        ...passkey,
        publicKey: Buffer.from(passkey.publicKey),
        transports: JSON.stringify(passkey.transports),
      };
      return q.addPasskey.run(row).changes === 1;
    },
    passkeysOf(subject) {
      return q.passkeysOf.all(subject).map((r) => ({
        id: String(r.id),
        subject: String(r.subject),
        publicKey: new Uint8Array(r.public_key as Buffer),
        counter: Number(r.counter),
        transports: JSON.parse(String(r.transports)) as string[],
        createdAt: Number(r.created_at),
      }));
    },
    setPasskeyCounter(id, counter) {
      q.passkeyCounter.run(counter, id);
    },
    setChallenge(idHash, challenge) {
      q.setChallenge.run(
        challenge?.challenge ?? null,
        challenge?.purpose ?? null,
        challenge?.expiresAt ?? null,
        idHash,
      );
    },
    takeChallenge(idHash) {
      return takeChallenge(idHash);
    },
    createLogin(login) {
      q.insert.run(login);
    },
    getLogin(idHash) {
      const row = q.get.get(idHash);
      return row && toLogin(row);
    },
    setPendingCode(idHash, pending) {
      q.pending.run(
        pending?.code ?? null,
        pending?.issuedAt ?? null,
        pending?.expiresAt ?? null,
        idHash,
      );
    },
    deleteLogin(idHash) {
      q.delete.run(idHash);
    },
    purgeExpired(now) {
      q.purgeEvents.run(now - EVENT_RETENTION_MS);
      return q.purge.run(now).changes;
    },
    addEvent(event) {
      return q.addEvent.run(event).changes === 1;
    },
    eventsOf(sid, limit) {
      return q.events.all(sid, limit).map((r) => ({
        jti: String(r.jti),
        sid: r.sid === null ? null : String(r.sid),
        type: String(r.type),
        summary: String(r.summary),
        receivedAt: Number(r.received_at),
      }));
    },
    deleteLoginsOfSession(sid) {
      return q.deleteBySid.run(sid).changes;
    },
    secret(name, create) {
      const existing = q.getSecret.get(name);
      if (existing) return existing.value;
      q.putSecret.run(name, create());
      return q.getSecret.get(name)!.value;
    },
    countLogins() {
      return q.count.get()!.n;
    },
    close() {
      db.close();
    },
  };
}
