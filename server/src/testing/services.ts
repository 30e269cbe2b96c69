/**
 * Fixtures for the service tests (`server/src/services/*.test.ts`): relying parties and the
 * steps that set up a device or a session, taken through the harness's services directly (no
 * HTTP), on the run's store. Used by tests only.
 *
 * @module
 */
import type { RelyingParty } from '../http/middleware/auth';
import { TestDevice, type AttestationInput, type Harness } from './harness';

/** The harness's relying parties, as the auth middleware would set them. */
export const RP_A: RelyingParty = Object.freeze({ id: 'bank-a', role: 'bank' });
export const RP_B: RelyingParty = Object.freeze({ id: 'bank-b', role: 'bank' });

/** A session opened by `rp` and bound to `device`. */
export interface ServiceSession {
  device: TestDevice;
  sid: string;
  challenge: string;
  subject: string;
}

/**
 * `device` (a new one by default) enrolled for `subject` at `rp` (code issued, enrollment
 * accepted).
 */
export async function enrolledDevice(
  h: Harness,
  rp: RelyingParty = RP_A,
  subject = 'alice',
  existing?: TestDevice,
): Promise<TestDevice> {
  const { code } = await h.services.enrollment.createEnrollmentCode(rp, subject);
  const device = existing ?? (await TestDevice.create(h.clock));
  await h.services.enrollment.enrollDevice(await device.enrollment(code));
  return device;
}

/** A session opened by `rp` for `subject`, bound to `device` (a newly enrolled one by default). */
export async function boundSession(
  h: Harness,
  rp: RelyingParty = RP_A,
  subject = 'alice',
  device?: TestDevice,
): Promise<ServiceSession> {
  const bound = device ?? (await enrolledDevice(h, rp, subject));
  const { sessionId: sid, challenge } = await h.services.sessions.openSession(rp, subject);
  await h.services.sessions.bindSession(await bound.binding(sid, challenge));
  return { device: bound, sid, challenge, subject };
}

/** Accepts an attestation of `device` and chains its next one to it. */
export async function attested(h: Harness, device: TestDevice, input: AttestationInput) {
  const jws = await device.attestation(input);
  const accepted = await h.services.attestations.acceptAttestation(jws);
  device.commit(input.sid, jws);
  return accepted;
}

/** The audit records of `type`, oldest first. */
export async function recordsOf(h: Harness, type: string) {
  return (await h.store.listAudit(0, 100_000)).filter((r) => r.type === type);
}
