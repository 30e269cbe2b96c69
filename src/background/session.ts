/**
 * Device enrolment, session binding and attestations (docs/protocol.md §4–5).
 * State that must survive the service worker being stopped lives in extension storage:
 * the enrolment in `storage.local`, per-session sequence/chain state in `storage.session`.
 * All operations run one at a time so that sequence numbers never race.
 */
import browser from 'webextension-polyfill';
import type { TacitConfig } from '../shared/config';
import { ExtensionError, logError } from '../shared/errors';
import type {
  LearningContext,
  PageHints,
  SessionSignals,
  ScoreUpdate,
  ServerSessionView,
} from '../shared/protocol';
import { deviceKey, forgetDeviceKey, hashStatement, signStatement } from './device-key';
import {
  bindSession,
  enrollDevice,
  readDeviceSession,
  revokeThisDevice,
  sendAttestation,
} from './server-client';
import { recordAttestation } from './history';
import { subjectKey } from './subject-key';

export interface DeviceEnrolment {
  deviceId: string;
  /** The subjects this device key is enrolled for at `serverUrl` (more than one on a shared device). */
  subjects: string[];
  serverUrl: string;
  enrolledAt: number;
}

/** An enrolment as stored; builds before multi-subject enrolment stored one `subject`. */
type StoredEnrolment = Omit<DeviceEnrolment, 'subjects'> & {
  subjects?: string[];
  subject?: string;
};

function normaliseEnrolment(stored: StoredEnrolment): DeviceEnrolment {
  const subjects = stored.subjects ?? (stored.subject === undefined ? [] : [stored.subject]);
  return {
    deviceId: stored.deviceId,
    subjects,
    serverUrl: stored.serverUrl,
    enrolledAt: stored.enrolledAt,
  };
}

export interface SessionState {
  sid: string;
  challenge: string;
  bound: boolean;
  /** The subject the bank opened the session for, as the server said when it was bound. */
  subject?: string;
  seq: number;
  prev: string;
  lastSentAt: number | null;
  /** The server ended this session (terminated, expired, unknown): never attest to it again. */
  ended?: boolean;
  /** Don't send before this time (ms): the server asked us to slow down. */
  notBefore?: number;
  /** Trusted events seen since the last attestation. */
  pending: { k: number; p: number };
  last: ScoreUpdate | null;
  /** An accepted statement of this session already said the device decided on a takeover. */
  takeoverSent?: boolean;
  /** The signals the last accepted statement carried (a change is worth a statement). */
  signalsSent?: SessionSignals;
  /**
   * The server's `confirmedAt` of the bank's last strong-factor confirmation the device acted
   * on (its decision reset then), absent before any.
   */
  confirmedAt?: string;
}

type Sessions = Record<string, SessionState>;

const MAX_SESSIONS = 16;
/** Enrolment codes this browser session already redeemed, kept so a page reload does not resend one. */
const MAX_REDEEMED_CODES = 16;
/** Server codes after which a session will never accept a statement again. */
const SESSION_OVER = new Set([
  'ERR_SESSION_TERMINATED',
  'ERR_SESSION_EXPIRED',
  'ERR_UNKNOWN_SESSION',
]);
const RATE_LIMIT_BACKOFF_MS = 30_000;
/** Server codes meaning there is nothing of this device left to revoke there. */
const NOTHING_TO_REVOKE = new Set(['ERR_UNKNOWN_DEVICE', 'ERR_DEVICE_REVOKED']);

function sameSignals(a: SessionSignals, b: SessionSignals | undefined): boolean {
  return (
    b !== undefined &&
    a.bot === b.bot &&
    a.remote === b.remote &&
    a.paste === b.paste &&
    a.otp === b.otp &&
    a.syn === b.syn
  );
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Whether the bank may have stepped the session up: the device decided on a takeover (now or in
 * a statement already sent), or the session fell below the safe level of template growth. Only
 * then is a confirmation worth asking for.
 */
function underSuspicion(update: ScoreUpdate, state: SessionState): boolean {
  return (
    update.decision?.takeover === true ||
    update.decision?.dipped === true ||
    state.takeoverSent === true
  );
}

export class SessionService {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: () => Promise<TacitConfig>,
    private readonly now: () => number = Date.now,
    /**
     * Tells the model the bank confirmed session `sid` of the subject in `learn` with a strong
     * factor (background/index.ts: the worker's `confirmSession`).
     */
    private readonly onConfirmed: (sid: string, learn: LearningContext) => Promise<unknown> = () =>
      Promise.resolve(),
  ) {}

  /**
   * Asks the server whether the bank confirmed session `state` with a strong factor since the
   * device last acted on one; if so, remembers it and tells the model (its decision for the
   * session starts a new epoch). False when not, or when the server could not say (the
   * statement is then sent as it is: a confirmation is never assumed).
   */
  private async confirmedMeanwhile(config: TacitConfig, state: SessionState): Promise<boolean> {
    let confirmedAt: string | null;
    try {
      ({ confirmedAt } = await readDeviceSession(config.serverUrl, state.sid));
    } catch (error) {
      logError('session confirmation', error);
      return false;
    }
    if (confirmedAt === null || confirmedAt === state.confirmedAt) return false;
    state.confirmedAt = confirmedAt;
    state.takeoverSent = false;
    state.last = null;
    // The events so far were typed before the confirmation: the next statement counts its own.
    state.pending = { k: 0, p: 0 };
    await this.saveSession(state);
    const learn = await this.learningContext(state.sid);
    if (learn !== null) await this.onConfirmed(state.sid, learn);
    return true;
  }

  /** Runs `task` after every task queued before it. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async enrolment(): Promise<DeviceEnrolment | null> {
    const { device } = await browser.storage.local.get('device');
    const config = await this.config();
    const enrolment =
      device === undefined || device === null
        ? null
        : normaliseEnrolment(device as StoredEnrolment);
    // An enrolment belongs to one server: a new server means enrolling again.
    return enrolment && enrolment.serverUrl === config.serverUrl ? enrolment : null;
  }

  private async sessions(): Promise<Sessions> {
    const { sessions } = await browser.storage.session.get('sessions');
    return (sessions ?? {}) as Sessions;
  }

  private async saveSession(state: SessionState): Promise<void> {
    const sessions = await this.sessions();
    sessions[state.sid] = state;
    const ids = Object.keys(sessions);
    // Keep the newest few: a session the bank has long closed needs no state here.
    for (const sid of ids.slice(0, Math.max(0, ids.length - MAX_SESSIONS))) delete sessions[sid];
    await browser.storage.session.set({ sessions });
  }

  async recordError(error: unknown): Promise<void> {
    logError('session', error);
    const text =
      error instanceof ExtensionError
        ? `${error.code}${error.serverCode ? `/${error.serverCode}` : ''}`
        : 'ERR_INTERNAL';
    await browser.storage.session.set({ lastError: text, lastErrorAt: this.now() });
  }

  /** Acts on what a bank page declared: enrol with a code, then bind the page's session. */
  handleHints(hints: PageHints): Promise<void> {
    return this.serial(async () => {
      const config = await this.config();
      const { redeemedCodes } = await browser.storage.session.get('redeemedCodes');
      const redeemed = (redeemedCodes ?? []) as string[];
      if (hints.enrollmentCode && !redeemed.includes(hints.enrollmentCode)) {
        const key = await deviceKey();
        const enrollment = await signStatement('tacit-enroll+jwt', {
          code: hints.enrollmentCode,
          iat: Math.floor(this.now() / 1000),
          jti: randomId(),
        });
        // A one-time code is sent once, whatever the server says, unless it could not be reached.
        const spent = () =>
          browser.storage.session.set({
            redeemedCodes: [...redeemed, hints.enrollmentCode].slice(-MAX_REDEEMED_CODES),
          });
        const result = await enrollDevice(config.serverUrl, enrollment).catch(
          async (error: unknown) => {
            if (!(error instanceof ExtensionError && error.code === 'ERR_NETWORK')) await spent();
            throw error;
          },
        );
        await spent();
        if (result.deviceId !== key.jkt)
          throw new ExtensionError('ERR_SERVER', 'server named another device');
        // Another subject on the same device (where the bank allows it) is added, never replaces.
        const known = await this.enrolment();
        const device: DeviceEnrolment =
          known && known.deviceId === result.deviceId
            ? { ...known, subjects: [...new Set([...known.subjects, result.subject])] }
            : {
                deviceId: result.deviceId,
                subjects: [result.subject],
                serverUrl: config.serverUrl,
                enrolledAt: this.now(),
              };
        await browser.storage.local.set({ device });
      }
      if (hints.session) await this.bind(config, hints.session.sid, hints.session.challenge);
    });
  }

  private async bind(config: TacitConfig, sid: string, challenge: string): Promise<void> {
    const sessions = await this.sessions();
    const known = sessions[sid];
    if (known?.bound && known.challenge === challenge && known.subject !== undefined) return;
    const state: SessionState = known ?? {
      sid,
      challenge,
      bound: false,
      seq: 0,
      prev: '',
      lastSentAt: null,
      pending: { k: 0, p: 0 },
      last: null,
    };
    state.challenge = challenge;
    await this.saveSession(state);
    if (!(await this.enrolment())) return; // bound later, once the device is enrolled
    const binding = await signStatement('tacit-bind+jwt', {
      sid,
      chal: challenge,
      iat: Math.floor(this.now() / 1000),
      jti: randomId(),
    });
    const { subject } = await bindSession(config.serverUrl, binding);
    state.bound = true;
    state.subject = subject;
    await this.saveSession(state);
  }

  /**
   * Whose model session `sid` may train and be scored by: its subject, only while the session is
   * bound by this device, not over, and opened for a subject this device is enrolled for at the
   * configured server. Null otherwise (login page, before binding, after the end, another server).
   */
  async learningContext(sid: string): Promise<LearningContext | null> {
    const enrolment = await this.enrolment();
    if (!enrolment) return null;
    const state = (await this.sessions())[sid];
    if (!state?.bound || state.ended === true || state.subject === undefined) return null;
    if (!enrolment.subjects.includes(state.subject)) return null;
    return { subjectKey: await subjectKey(enrolment.serverUrl, state.subject) };
  }

  /**
   * Takes the worker's latest update for a session and sends an attestation when the
   * session is bound, the user has been active and the interval has passed.
   */
  onScore(sid: string, update: ScoreUpdate): Promise<void> {
    return this.serial(async () => {
      await browser.storage.session.set({ lastUpdate: update });
      const sessions = await this.sessions();
      const state = sessions[sid];
      if (!state) return;
      state.pending.k += update.counts.k;
      state.pending.p += update.counts.p;
      state.last = update;
      const config = await this.config();
      // The moment the device decides the person changed it attests at once: the bank must
      // not wait for the next interval (docs/protocol.md §5).
      const newlyDecided = update.decision?.takeover === true && state.takeoverSent !== true;
      const due =
        newlyDecided ||
        state.lastSentAt === null ||
        this.now() - state.lastSentAt >= config.attestationIntervalMs;
      // A trained model that has not scored a window of this session yet has nothing to say.
      const nothingToSay = update.state === 'scoring' && update.confidence === null;
      const held = state.ended === true || (state.notBefore ?? 0) > this.now();
      // Untrusted input alone adds no trusted events, but what the signals say must still go.
      const signalsChanged =
        update.signals !== undefined && !sameSignals(update.signals, state.signalsSent);
      const quiet = state.pending.k + state.pending.p === 0 && !signalsChanged;
      if (!state.bound || !due || held || nothingToSay || quiet) {
        await this.saveSession(state);
        return;
      }
      // Under suspicion the bank may have stepped up and confirmed the person meanwhile: then
      // this update speaks for the time before the confirmation and is not sent; the model
      // starts a new epoch and the next scored window speaks for the person now at the keys.
      if (underSuspicion(update, state) && (await this.confirmedMeanwhile(config, state))) return;
      const seq = state.seq + 1;
      const attestation = await signStatement('tacit-att+jwt', {
        sid,
        seq,
        iat: Math.floor(this.now() / 1000),
        state: update.state,
        conf: update.state === 'scoring' ? update.confidence : null,
        // Enrolling statements carry progress; the server shows it to the bank.
        progress: update.progress,
        mv: update.modelVersion,
        n: { ...state.pending },
        prev: state.prev,
        ...(update.state === 'scoring' && update.decision !== null
          ? { dec: { takeover: update.decision.takeover, w: { ...update.decision.windows } } }
          : {}),
        // The session signals (docs/protocol.md "Signals"): values only.
        ...(update.signals === undefined ? {} : { sig: { ...update.signals } }),
      });
      const sent = {
        sid,
        seq,
        at: this.now(),
        state: update.state,
        conf: update.state === 'scoring' ? update.confidence : null,
        progress: update.progress,
      };
      let reply;
      try {
        reply = await sendAttestation(config.serverUrl, attestation);
      } catch (error) {
        const code = error instanceof ExtensionError ? error.serverCode : undefined;
        if (code && SESSION_OVER.has(code)) state.ended = true;
        if (code === 'ERR_RATE_LIMITED') state.notBefore = this.now() + RATE_LIMIT_BACKOFF_MS;
        const unreachable = error instanceof ExtensionError && error.code === 'ERR_NETWORK';
        // Counted as sent either way: a refused statement is not retried with the same data.
        state.lastSentAt = this.now();
        await this.saveSession(state);
        await recordAttestation({
          ...sent,
          result: unreachable ? 'unreachable' : 'refused',
          code: code ?? (error instanceof ExtensionError ? error.code : 'ERR_INTERNAL'),
          assurance: null,
          level: null,
        });
        throw error;
      }
      // Accepted: the chain advances and is saved at once, before anything else is written, so
      // that a service worker stopped right after the server's answer does not resend this
      // sequence number (the server would refuse it as a replay from then on).
      state.lastSentAt = this.now();
      state.seq = seq;
      state.prev = await hashStatement(attestation);
      state.pending = { k: 0, p: 0 };
      if (update.decision?.takeover === true) state.takeoverSent = true;
      if (update.signals !== undefined) state.signalsSent = { ...update.signals };
      await this.saveSession(state);
      await recordAttestation({
        ...sent,
        result: 'accepted',
        code: null,
        assurance: reply.assurance,
        level: reply.level,
      });
    });
  }

  /**
   * The server's view of session `sid` (DPoP-authenticated as this device), or null when this
   * device is not enrolled with the configured server.
   */
  async serverSession(sid: string): Promise<ServerSessionView | null> {
    if (!(await this.enrolment())) return null;
    const config = await this.config();
    const view = await readDeviceSession(config.serverUrl, sid);
    // Only the members the popup shows: the reply crosses into an extension page.
    const { status, assurance, level, state, attestations } = view;
    return { status, assurance, level, state, attestations };
  }

  /**
   * "Forget this device": revokes every enrolment of the device key at the server, then deletes
   * the key, the enrolment and the per-session state. If the server already does not know the
   * device (or revoked it), forgetting goes on; any other failure (unreachable server) stops it
   * before anything local is deleted, so the user can retry and no live enrolment is orphaned.
   */
  forgetDevice(): Promise<{ revoked: number | null }> {
    return this.serial(async () => {
      let revoked: number | null = null;
      if (await this.enrolment()) {
        const config = await this.config();
        try {
          revoked = (await revokeThisDevice(config.serverUrl)).revoked;
        } catch (error) {
          const code = error instanceof ExtensionError ? error.serverCode : undefined;
          if (!code || !NOTHING_TO_REVOKE.has(code)) throw error;
        }
      }
      await forgetDeviceKey();
      await browser.storage.local.remove('device');
      await browser.storage.session.remove([
        'sessions',
        'tabSessions',
        'lastError',
        'lastErrorAt',
        'lastUpdate',
        'redeemedCodes',
      ]);
      return { revoked };
    });
  }

  /** The stored state of session `sid`, or null. */
  async session(sid: string): Promise<SessionState | null> {
    return (await this.sessions())[sid] ?? null;
  }

  async latestSession(): Promise<SessionState | null> {
    const sessions = Object.values(await this.sessions());
    return sessions.at(-1) ?? null;
  }
}
