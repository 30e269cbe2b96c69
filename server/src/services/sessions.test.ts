import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { POLICY } from '../domain/policy';
import { TestDevice, T0, createHarness, type Harness } from '../testing/harness';
import { RP_A, RP_B, boundSession, enrolledDevice, recordsOf } from '../testing/services';
import { SessionService } from './sessions';

let h: Harness;
let sessions: SessionService;
beforeEach(async () => {
  h = await createHarness();
  sessions = new SessionService({
    store: h.store,
    clock: h.clock,
    logger: h.logger,
    audit: h.audit,
  });
});
afterEach(async () => {
  await h.close();
});

describe('SessionService.openSession and getSession', () => {
  it('opens a session with a fresh 256-bit challenge, recorded; only its opener reads it', async () => {
    const a = await sessions.openSession(RP_A, 'alice');
    const b = await sessions.openSession(RP_A, 'alice');
    expect(a.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.challenge).not.toBe(a.challenge);
    expect(a.expiresAt).toBe(new Date(T0 + POLICY.sessionTtlMs).toISOString());
    expect(await sessions.getSession(RP_A, a.sessionId)).toMatchObject({
      sid: a.sessionId,
      rp: 'bank-a',
      subject: 'alice',
      challenge: a.challenge,
      deviceJkt: null,
    });
    await expect(sessions.getSession(RP_B, a.sessionId)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_SESSION',
    });
    await expect(sessions.getSession(RP_A, 'no-such-session')).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_SESSION',
    });
    const [opened] = await recordsOf(h, 'session.opened');
    expect(opened).toMatchObject({
      actor: 'rp:bank-a',
      data: { sid: a.sessionId, subject: 'alice' },
    });
  });
});

describe('SessionService.endSession', () => {
  it('ends a session its opener ends (idempotent); another relying party cannot', async () => {
    const { sessionId } = await sessions.openSession(RP_A, 'alice');
    await expect(sessions.endSession(RP_B, sessionId)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_SESSION',
    });
    expect((await h.store.getSession(sessionId))!.endedAt).toBeNull();
    await sessions.endSession(RP_A, sessionId);
    h.clock.advance(1000);
    await sessions.endSession(RP_A, sessionId);
    expect((await h.store.getSession(sessionId))!.endedAt).toBe(T0);
    expect(await recordsOf(h, 'session.deleted')).toHaveLength(2);
  });
});

describe('SessionService.bindSession', () => {
  it("binds the session to the signing device and answers the session's subject", async () => {
    const device = await enrolledDevice(h, RP_A, 'alice');
    const { sessionId, challenge } = await sessions.openSession(RP_A, 'alice');
    const binding = await device.binding(sessionId, challenge);
    expect(await sessions.bindSession(binding)).toEqual({ sessionId, subject: 'alice' });
    expect((await h.store.getSession(sessionId))!.deviceJkt).toBe(device.jkt);
    // Again from the same device (a new statement): accepted, recorded once.
    await sessions.bindSession(await device.binding(sessionId, challenge));
    expect(await recordsOf(h, 'session.bound')).toMatchObject([
      { actor: `device:${device.jkt}`, data: { sid: sessionId, rp: 'bank-a', subject: 'alice' } },
    ]);
    // The same statement twice is a replay.
    await expect(sessions.bindSession(binding)).rejects.toMatchObject({ code: 'ERR_REPLAY' });
  });

  it('refuses a device not enrolled for the subject, revoked, or without the challenge', async () => {
    const { sessionId, challenge } = await sessions.openSession(RP_A, 'alice');
    const bob = await enrolledDevice(h, RP_A, 'bob');
    await expect(
      sessions.bindSession(await bob.binding(sessionId, challenge)),
    ).rejects.toMatchObject({ code: 'ERR_UNKNOWN_DEVICE' });
    const alice = await enrolledDevice(h, RP_A, 'alice');
    await expect(
      sessions.bindSession(await alice.binding(sessionId, 'x'.repeat(43))),
    ).rejects.toMatchObject({ code: 'ERR_CHALLENGE_MISMATCH' });
    await h.services.devices.revokeDevice(RP_A, 'alice', alice.jkt);
    await expect(
      sessions.bindSession(await alice.binding(sessionId, challenge)),
    ).rejects.toMatchObject({ code: 'ERR_DEVICE_REVOKED' });
    expect((await h.store.getSession(sessionId))!.deviceJkt).toBeNull();
    expect((await recordsOf(h, 'session.bind_rejected')).map((r) => [r.actor, r.data])).toEqual([
      [`device:${bob.jkt}`, { code: 'ERR_UNKNOWN_DEVICE', sid: sessionId }],
      [`device:${alice.jkt}`, { code: 'ERR_CHALLENGE_MISMATCH', sid: sessionId }],
      // Every enrollment of the key revoked: refused while its key is looked up, unproven.
      ['anonymous', { code: 'ERR_DEVICE_REVOKED' }],
    ]);
  });

  it('a session bound to one device refuses another', async () => {
    const s = await boundSession(h, RP_A, 'alice');
    const other = await enrolledDevice(h, RP_A, 'alice');
    await expect(
      sessions.bindSession(await other.binding(s.sid, s.challenge)),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_BOUND' });
    expect((await h.store.getSession(s.sid))!.deviceJkt).toBe(s.device.jkt);
  });

  it('refuses a session that does not exist, expired, ended or terminated', async () => {
    const device = await enrolledDevice(h, RP_A, 'alice');
    await expect(
      sessions.bindSession(await device.binding('no-such-session', 'x')),
    ).rejects.toMatchObject({ code: 'ERR_UNKNOWN_SESSION' });

    const ended = await sessions.openSession(RP_A, 'alice');
    await sessions.endSession(RP_A, ended.sessionId);
    await expect(
      sessions.bindSession(await device.binding(ended.sessionId, ended.challenge)),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRED' });

    const terminated = await sessions.openSession(RP_A, 'alice');
    const decision = () => h.audit.event('policy.decision', 'rp:bank-a', {});
    await sessions.terminate(RP_A, terminated.sessionId, ['DEVICE_REVOKED'], T0, decision);
    await expect(
      sessions.bindSession(await device.binding(terminated.sessionId, terminated.challenge)),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_TERMINATED' });

    const expired = await sessions.openSession(RP_A, 'alice');
    h.clock.advance(POLICY.sessionTtlMs);
    const late = await TestDevice.create(h.clock);
    await enrolledDevice(h, RP_A, 'alice', late);
    await expect(
      sessions.bindSession(await late.binding(expired.sessionId, expired.challenge)),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRED' });
  });
});

describe('SessionService.terminate', () => {
  it('terminates a live session with the given record and its own, once', async () => {
    const s = await boundSession(h, RP_A, 'alice');
    const because = () => h.audit.event('policy.decision', 'rp:bank-a', { sid: s.sid });
    expect(await sessions.terminate(RP_A, s.sid, ['ASSURANCE_BELOW_TERMINATE'], T0, because)).toBe(
      true,
    );
    const session = (await h.store.getSession(s.sid))!;
    expect(session.terminatedAt).toBe(T0);
    expect(session.endedAt).toBe(T0);
    const records = (await h.store.listAudit(0, 1000)).slice(-2);
    expect(records.map((r) => [r.type, r.actor, r.data])).toEqual([
      ['policy.decision', 'rp:bank-a', { sid: s.sid }],
      ['session.terminated', 'rp:bank-a', { sid: s.sid, reasons: ['ASSURANCE_BELOW_TERMINATE'] }],
    ]);
    expect(h.logger.records).toContainEqual({
      level: 'info',
      event: 'session_terminated',
      rp: 'bank-a',
    });
    // Over already: nothing written.
    const seq = (await h.audit.verify()).records;
    expect(await sessions.terminate(RP_A, s.sid, [], T0, because)).toBe(false);
    expect((await h.audit.verify()).records).toBe(seq);
  });
});
