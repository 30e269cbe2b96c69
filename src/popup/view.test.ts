import { describe, expect, it } from 'vitest';
import type { TabStatus, WorkerStatus } from '../shared/protocol';
import { popupView } from './view';

const BANK = 'https://bank.example';
const model = (state: 'enrolling' | 'scoring', progress: number): WorkerStatus => ({
  subject: true,
  backend: 'wasm',
  state,
  progress,
  modelVersion: 'um1.fs2.sq1+K',
  modalities: {
    keystroke: { trained: state === 'scoring', enrolWindows: 4 },
    pointer: { trained: false, enrolWindows: 1 },
  },
});
const base: TabStatus = {
  site: { origin: BANK, protected: true, paused: false },
  capturing: true,
  consent: { given: true, by: 'user' },
  device: { enrolled: true, deviceId: 'abcdefghijklmnop', subjects: 1 },
  serverUrl: 'https://tacit.example',
  session: { sid: 'session-1234567', bound: true, ended: false, learning: true, seq: 4 },
  model: model('enrolling', 0.4),
  modelError: null,
  confidence: null,
  series: [],
  lastStatement: null,
  lastError: null,
};

describe('popupView', () => {
  it('says Tacit is off until consent is given, whatever else is true', () => {
    const view = popupView({ ...base, capturing: false, consent: { given: false, by: null } });
    expect(view.site).toEqual({ text: 'Off: waiting for your consent', tone: 'warn' });
    expect(view.state.title).toBe('Tacit is off');
    expect(view.state.detail).toMatch(/records nothing until you agree/);
  });

  it('shows enrolment as progress, in words, with versions only in the details', () => {
    const view = popupView(base);
    expect(view.site).toEqual({ text: 'Active on bank.example', tone: 'ok' });
    expect(view.state.title).toBe('Learning your rhythm');
    expect(view.progress).toBe(0.4);
    expect(view.confidence).toBeNull();
    expect(JSON.stringify([view.state, view.site])).not.toMatch(/um1|wasm/);
    expect(view.details).toContainEqual(['Model', 'um1.fs2.sq1+K (wasm)']);
    expect(view.pause).toEqual({ label: 'Pause on this site', paused: false, origin: BANK });
  });

  it('shows the confidence once trained, and the last statement with its answer', () => {
    const view = popupView({
      ...base,
      model: model('scoring', 1),
      confidence: 0.923,
      lastStatement: {
        sid: 's',
        seq: 4,
        at: 0,
        state: 'scoring',
        conf: 0.92,
        progress: 1,
        result: 'accepted',
        code: null,
        assurance: 0.9,
        level: 'high',
      },
    });
    expect(view.state.title).toBe('Recognising you');
    expect(view.progress).toBeNull();
    expect(view.confidence).toBe('92 %');
    expect(view.lastStatement).toMatch(/confidence 92 %, accepted, bank sees high\.$/);
  });

  it('never claims learning where nothing is learned', () => {
    expect(
      popupView({ ...base, device: { enrolled: false, deviceId: null, subjects: 0 } }).state.title,
    ).toBe('This device is not enrolled');
    expect(popupView({ ...base, session: null }).state.title).toBe('Waiting for you to log in');
    const unbound = popupView({
      ...base,
      session: { ...base.session!, bound: false, learning: false },
    });
    expect(unbound.state.title).toBe('Linking this bank session');
    expect(unbound.progress).toBeNull();
    expect(popupView({ ...base, site: { ...base.site!, paused: true } })).toMatchObject({
      site: { tone: 'warn' },
      state: { title: 'Paused' },
      pause: { label: 'Resume on this site', paused: true },
    });
    expect(popupView({ ...base, site: null })).toMatchObject({
      site: { text: 'Not active on this page' },
      pause: null,
    });
  });

  it('turns codes into sentences: a model that does not answer, a refused statement', () => {
    const view = popupView({
      ...base,
      model: null,
      modelError: 'ERR_MODEL',
      lastError: 'ERR_SERVER/ERR_SESSION_EXPIRED',
    });
    expect(view.state).toMatchObject({
      title: 'The on-device model is not answering',
      tone: 'error',
    });
    expect(view.state.detail).not.toMatch(/ERR_/);
    expect(view.problem).toBe('The bank session has expired. Log in to online banking again.');
    const refused = popupView({
      ...base,
      lastStatement: {
        sid: 's',
        seq: 1,
        at: 0,
        state: 'enrolling',
        conf: null,
        progress: 0.5,
        result: 'refused',
        code: 'ERR_RATE_LIMITED',
        assurance: null,
        level: null,
      },
    });
    expect(refused.lastStatement).toMatch(
      /learning 50 %, refused\. The server asked Tacit to slow down/,
    );
  });
});
