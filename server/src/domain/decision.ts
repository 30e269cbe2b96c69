/**
 * Decision policy: per relying party, thresholds that turn a session's assurance into an
 * action (`allow`, `step-up`, `terminate`) with stable reason codes. The policy comes from a
 * JSON file (`TACIT_POLICY_FILE`) validated once at start-up; {@link decide} is a pure
 * function of the thresholds, stored session state and `now`, so tests pin every outcome.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { confirmedLast, type Assessment, type AssuranceLevel } from './assurance';

/** What a relying party should do with the session now, from least to most severe. */
export type Action = 'allow' | 'step-up' | 'terminate';

/** Stable reason codes of a decision (several may apply; the most severe action wins). */
export type DecisionReason =
  /** Assurance is below `stepUpBelow`. */
  | 'ASSURANCE_BELOW_STEP_UP'
  /** Assurance is below `terminateBelow`. */
  | 'ASSURANCE_BELOW_TERMINATE'
  /** The last accepted attestation is older than `staleAfterSeconds`. */
  | 'SESSION_STALE'
  /** The device's model is still learning (level `enrolling`): it vouches for nobody yet. */
  | 'ENROLLING'
  /** No attestation was accepted in this session yet. */
  | 'NO_ATTESTATION'
  /** No device has bound the session (also `NO_ATTESTATION`). */
  | 'SESSION_NOT_BOUND'
  /** The bound device's enrollment was revoked: always `terminate`. */
  | 'DEVICE_REVOKED'
  /** The session's scripted-input signal reached the policy's `signals.bot.atLeast`. */
  | 'SIGNAL_BOT'
  /** The remote-control signal reached `signals.remote.atLeast`. */
  | 'SIGNAL_REMOTE'
  /** Credential paste/autofill arrivals reached `signals.paste.atLeast`. */
  | 'SIGNAL_PASTE'
  /** The one-time-code hesitation signal reached `signals.otp.atLeast`. */
  | 'SIGNAL_OTP';

/** The session signals a policy can act on (docs/protocol.md "Signals"). */
export const SIGNAL_NAMES = ['bot', 'remote', 'paste', 'otp'] as const;

/** One of {@link SIGNAL_NAMES}. */
export type SignalName = (typeof SIGNAL_NAMES)[number];

/** What a relying party does once a signal reaches a value. */
export interface SignalRule {
  /**
   * The signal's value at which the rule applies: in (0, 1] for `bot`, `remote` and `otp`, a
   * count (≥ 1) for `paste`.
   */
  atLeast: number;
  /** The action (with reason `SIGNAL_<NAME>`); `allow` lists the reason and changes nothing. */
  action: Action;
}

const SIGNAL_REASON: Record<SignalName, DecisionReason> = {
  bot: 'SIGNAL_BOT',
  remote: 'SIGNAL_REMOTE',
  paste: 'SIGNAL_PASTE',
  otp: 'SIGNAL_OTP',
};

/** The thresholds used for one relying party (every field resolved). */
export interface Thresholds {
  /** Assurance strictly below this → `step-up` (in [0, 1]). */
  stepUpBelow: number;
  /** Assurance strictly below this → `terminate` (in [0, 1], at most `stepUpBelow`). */
  terminateBelow: number;
  /** An attestation gap longer than this (s, 1–86400) → `staleAction`. */
  staleAfterSeconds: number;
  /** Action while the device's model is enrolling. */
  enrollingAction: Action;
  /** Action when the session is stale. */
  staleAction: Action;
  /** Action before the first attestation (unbound sessions included). */
  noAttestationAction: Action;
  /**
   * Rules on the session signals, per signal; a signal without a rule never shows in a
   * decision (the default: none). See docs/server.md "Decision policy file".
   */
  signals: Readonly<Partial<Record<SignalName, SignalRule>>>;
}

/**
 * Whether one device key may be enrolled, unrevoked, for several subjects of the same relying
 * party (`sharedDevices`): the default and the resolved value of each listed relying party.
 */
export interface SharedDevicesPolicy {
  default: boolean;
  relyingParties: Readonly<Record<string, boolean>>;
}

/** The whole policy: defaults and the resolved settings of each listed relying party. */
export interface DecisionPolicy {
  default: Thresholds;
  relyingParties: Readonly<Record<string, Thresholds>>;
  /** Enrollment of one key for several subjects of a relying party (default: refused). */
  sharedDevices: SharedDevicesPolicy;
}

/** Built-in defaults, used for every field a policy file leaves out. */
export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = Object.freeze({
  stepUpBelow: 0.5,
  terminateBelow: 0.2,
  staleAfterSeconds: 120,
  enrollingAction: 'step-up',
  staleAction: 'step-up',
  noAttestationAction: 'step-up',
  signals: Object.freeze({}),
});

/** The policy of a server without `TACIT_POLICY_FILE`. */
export const DEFAULT_POLICY: DecisionPolicy = Object.freeze({
  default: DEFAULT_THRESHOLDS,
  relyingParties: Object.freeze({}),
  sharedDevices: Object.freeze({ default: false, relyingParties: Object.freeze({}) }),
});

const action = z.enum(['allow', 'step-up', 'terminate']);
const partialThresholds = z.strictObject({
  stepUpBelow: z.number().min(0).max(1).optional(),
  terminateBelow: z.number().min(0).max(1).optional(),
  staleAfterSeconds: z.number().int().min(1).max(86_400).optional(),
  enrollingAction: action.optional(),
  staleAction: action.optional(),
  noAttestationAction: action.optional(),
  signals: z
    .strictObject(
      Object.fromEntries(
        SIGNAL_NAMES.map((name) => [
          name,
          z
            .strictObject({
              atLeast:
                name === 'paste' ? z.number().int().min(1).max(1_000_000) : z.number().gt(0).max(1),
              action,
            })
            .optional(),
        ]),
      ) as Record<
        SignalName,
        z.ZodOptional<z.ZodObject<{ atLeast: z.ZodNumber; action: typeof action }>>
      >,
    )
    .optional(),
});
/** One entry of the file: thresholds, and whether a key may serve several subjects. */
const partialEntry = partialThresholds.extend({
  sharedDevices: z.boolean().optional(),
});

/** The file format (docs/server.md "Decision policy file"). */
export const policyFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  default: partialEntry.optional(),
  relyingParties: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/), partialEntry)
    .optional(),
});

/** A policy file the server refuses to start with; the message names paths, not values. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

type EntryOverrides = z.infer<typeof partialEntry>;

function resolve(base: Thresholds, entry: EntryOverrides | undefined, where: string): Thresholds {
  const merged: Thresholds = { ...base };
  const { sharedDevices: _shared, signals, ...over } = entry ?? {};
  for (const [k, v] of Object.entries(over)) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  // Signal rules merge per signal: a relying party adding one keeps the default's others.
  const rules: Partial<Record<SignalName, SignalRule>> = { ...base.signals };
  for (const name of SIGNAL_NAMES) {
    const rule = signals?.[name];
    if (rule !== undefined) rules[name] = Object.freeze({ ...rule });
  }
  merged.signals = Object.freeze(rules);
  if (merged.terminateBelow > merged.stepUpBelow) {
    throw new PolicyError(`${where}: terminateBelow must not exceed stepUpBelow`);
  }
  return Object.freeze(merged);
}

/**
 * Validates a parsed policy file and resolves it: `default` over the built-in defaults, each
 * relying party's entry over `default`.
 *
 * @throws {PolicyError} naming every invalid path.
 */
export function parsePolicy(input: unknown): DecisionPolicy {
  const parsed = policyFileSchema.safeParse(input);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PolicyError(`invalid policy: ${paths.join('; ')}`);
  }
  const base = resolve(DEFAULT_THRESHOLDS, parsed.data.default, 'default');
  const sharedDefault = parsed.data.default?.sharedDevices ?? false;
  const relyingParties: Record<string, Thresholds> = {};
  const shared: Record<string, boolean> = {};
  for (const [rp, over] of Object.entries(parsed.data.relyingParties ?? {})) {
    relyingParties[rp] = resolve(base, over, `relyingParties.${rp}`);
    shared[rp] = over.sharedDevices ?? sharedDefault;
  }
  return Object.freeze({
    default: base,
    relyingParties: Object.freeze(relyingParties),
    sharedDevices: Object.freeze({ default: sharedDefault, relyingParties: Object.freeze(shared) }),
  });
}

/**
 * Reads and validates a policy file.
 *
 * @throws {PolicyError} if it cannot be read, is not JSON, or is not a valid policy.
 */
export function loadPolicyFile(path: string): DecisionPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyError(`cannot read the policy file (${(err as NodeJS.ErrnoException).code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PolicyError('the policy file is not valid JSON');
  }
  return parsePolicy(json);
}

/** The thresholds that apply to relying party `rp`. */
export function thresholdsFor(policy: DecisionPolicy, rp: string): Thresholds {
  return Object.hasOwn(policy.relyingParties, rp) ? policy.relyingParties[rp]! : policy.default;
}

/** Whether relying party `rp` lets one device key be enrolled for several of its subjects. */
export function sharedDevicesFor(policy: DecisionPolicy, rp: string): boolean {
  const { sharedDevices } = policy;
  return Object.hasOwn(sharedDevices.relyingParties, rp)
    ? sharedDevices.relyingParties[rp]!
    : sharedDevices.default;
}

/** Stands for every relying party not named in `exclusiveDeviceRps` (not a valid rp id). */
export const ANY_RELYING_PARTY = '*';

/**
 * The policy's `sharedDevices` as the store's enrollment input needs it (the code's relying
 * party is only known inside the store): the relying parties that allow a key to serve several
 * subjects ({@link ANY_RELYING_PARTY} when that is the default) and, then, those that do not.
 */
export function sharedDeviceScope(policy: DecisionPolicy): {
  sharedDeviceRps: string[];
  exclusiveDeviceRps: string[];
} {
  const { sharedDevices } = policy;
  const listed = Object.entries(sharedDevices.relyingParties);
  if (!sharedDevices.default) {
    const sharedDeviceRps = listed.filter(([, v]) => v).map(([rp]) => rp);
    return { sharedDeviceRps, exclusiveDeviceRps: [] };
  }
  return {
    sharedDeviceRps: [ANY_RELYING_PARTY],
    exclusiveDeviceRps: listed.filter(([, v]) => !v).map(([rp]) => rp),
  };
}

/** The session facts a decision depends on. */
export interface DecisionInput {
  /** A device is bound to the session. */
  bound: boolean;
  /** The bound device's enrollment is revoked. */
  deviceRevoked: boolean;
  attestations: number;
  /** Server receive time of the last accepted attestation (ms), null before the first. */
  lastAttestationAt: number | null;
  /**
   * Server time of the last strong-factor confirmation (ms), null or absent before any. While
   * no attestation followed it, it is the session's latest evidence (the assessment is then
   * the confirmed one, and staleness counts from it).
   */
  confirmedAt?: number | null;
  /** The session's current assessment (assurance.ts). */
  assessment: Assessment;
  /** The session's signals (latest attestation that carried them); absent or null for none. */
  signals?: Readonly<Record<SignalName, number>> | null;
}

/** A decision: the action, why, and what it was based on. */
export interface Decision {
  action: Action;
  reasons: DecisionReason[];
  assurance: number | null;
  level: AssuranceLevel;
  policy: Thresholds;
}

const SEVERITY: Record<Action, number> = { allow: 0, 'step-up': 1, terminate: 2 };

/** The most severe of `actions` (`allow` for none). */
export function mostSevere(actions: Action[]): Action {
  return actions.reduce<Action>((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), 'allow');
}

/**
 * Decides what the relying party should do. Every reason that applies is listed (in a fixed
 * order); the action is the most severe of their actions, `allow` when none applies.
 */
export function decide(t: Thresholds, input: DecisionInput, now: number): Decision {
  const found: [DecisionReason, Action][] = [];
  const { assurance, level } = input.assessment;
  if (input.deviceRevoked) {
    found.push(['DEVICE_REVOKED', 'terminate']);
  } else if (!input.bound) {
    found.push(['SESSION_NOT_BOUND', t.noAttestationAction]);
    found.push(['NO_ATTESTATION', t.noAttestationAction]);
  } else if (
    !confirmedLast(input) &&
    (input.attestations === 0 || input.lastAttestationAt === null)
  ) {
    found.push(['NO_ATTESTATION', t.noAttestationAction]);
  } else {
    const lastEvidenceAt = confirmedLast(input) ? input.confirmedAt! : input.lastAttestationAt!;
    if (now - lastEvidenceAt > t.staleAfterSeconds * 1000) {
      found.push(['SESSION_STALE', t.staleAction]);
    }
    if (level === 'enrolling' || assurance === null) {
      found.push(['ENROLLING', t.enrollingAction]);
    } else if (assurance < t.terminateBelow) {
      found.push(['ASSURANCE_BELOW_STEP_UP', 'step-up']);
      found.push(['ASSURANCE_BELOW_TERMINATE', 'terminate']);
    } else if (assurance < t.stepUpBelow) {
      found.push(['ASSURANCE_BELOW_STEP_UP', 'step-up']);
    }
    // Signals stand beside the assurance: a scripted session can still look like its user.
    for (const name of SIGNAL_NAMES) {
      const rule = t.signals[name];
      const value = input.signals?.[name];
      if (rule !== undefined && value !== undefined && value >= rule.atLeast) {
        found.push([SIGNAL_REASON[name], rule.action]);
      }
    }
  }
  return {
    action: mostSevere(found.map(([, a]) => a)),
    reasons: found.map(([r]) => r),
    assurance,
    level,
    policy: { ...t, signals: { ...t.signals } },
  };
}
