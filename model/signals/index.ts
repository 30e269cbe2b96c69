/**
 * The session signals a device attests beside its confidence, each with its own value
 * (docs/protocol.md §4 `sig` and "Signals"): scripted input, remote control, credential
 * paste/autofill and one-time-code hesitation. Computed on the device from the raw events the
 * worker already gets; only these values leave it, never an event, a timing or a feature.
 */
import type { RawEventBatch } from '../events/schema';
import { BotSignal, type BotConfig } from './bot';
import { OtpSignal, type OtpConfig } from './otp';
import { PasteSignal } from './paste';
import { RemoteSignal, type RemoteConfig } from './remote';

export {
  BotSignal,
  DEFAULT_BOT_CONFIG,
  resolveBotConfig,
  timingScore,
  type BotConfig,
} from './bot';
export { DEFAULT_OTP_CONFIG, OtpSignal, resolveOtpConfig, type OtpConfig } from './otp';
export { CREDENTIAL_FIELD_FLAGS, PasteSignal } from './paste';
export {
  DEFAULT_REMOTE_CONFIG,
  RemoteSignal,
  remoteWindowScore,
  resolveRemoteConfig,
  type MoveInterval,
  type RemoteConfig,
} from './remote';

/**
 * The attestation's `sig` claim: one session's signals so far. Each value only grows during a
 * session (the strongest evidence seen), so the latest statement says everything.
 */
export interface SessionSignals {
  /** Scripted-input suspicion in [0, 1] (model/signals/bot.ts), two decimals. */
  bot: number;
  /** Remote-control suspicion in [0, 1] (model/signals/remote.ts), two decimals. */
  remote: number;
  /** Paste/autofill arrivals in credential fields (model/signals/paste.ts), a count. */
  paste: number;
  /** One-time-code hesitation in [0, 1] (model/signals/otp.ts), two decimals. */
  otp: number;
  /** Untrusted (script-dispatched) key, pointer and wheel events, a count. */
  syn: number;
}

/** Settings of every signal (each part over its defaults). */
export interface SignalsConfig {
  bot?: Partial<BotConfig>;
  remote?: Partial<RemoteConfig>;
  otp?: Partial<OtpConfig>;
}

/** Two decimals: the claim carries a level, not a measurement. */
const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Every signal of one session, fed with the session's batches. */
export class SignalTracker {
  readonly #bot: BotSignal;
  readonly #remote: RemoteSignal;
  readonly #paste = new PasteSignal();
  readonly #otp: OtpSignal;

  constructor(config: SignalsConfig = {}) {
    this.#bot = new BotSignal(config.bot);
    this.#remote = new RemoteSignal(config.remote);
    this.#otp = new OtpSignal(config.otp);
  }

  /** Feeds one batch, as the content script sent it. */
  push(batch: Pick<RawEventBatch, 'events' | 'automation'>): void {
    this.#bot.push(batch.events, batch.automation === true);
    this.#remote.push(batch.events);
    this.#paste.push(batch.events);
    this.#otp.push(batch.events);
  }

  /** The session's signals so far. */
  values(): SessionSignals {
    return {
      bot: round2(this.#bot.value()),
      remote: round2(this.#remote.value()),
      paste: this.#paste.value(),
      otp: round2(this.#otp.value()),
      syn: this.#bot.untrusted,
    };
  }
}
