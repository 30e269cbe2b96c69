/**
 * What the popup says about a tab, in plain words: a pure function of the background's
 * TabStatus, so the wording is tested without a browser. Version strings and ids go to the
 * details only.
 */
import { describeError } from '../shared/error-text';
import type { AttestationRecord, TabStatus } from '../shared/protocol';

export type Tone = 'ok' | 'info' | 'warn' | 'error';

export interface PopupView {
  /** Whether Tacit is active on this tab, one line. */
  site: { text: string; tone: Tone };
  /** The pause button, when the site is protected. */
  pause: { label: string; paused: boolean; origin: string } | null;
  /** The model's state for this tab's person, in words, and what to do if anything. */
  state: { title: string; detail: string; tone: Tone };
  /** Enrolment progress in [0, 1] while learning, else null (no bar). */
  progress: number | null;
  /** The current confidence, e.g. "92 %", or null. */
  confidence: string | null;
  /** The last statement sent for this session, in words. */
  lastStatement: string | null;
  /** The latest problem, as a sentence, or null. */
  problem: string | null;
  details: [string, string][];
}

const time = (ms: number) =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function statementText(record: AttestationRecord): string {
  const what =
    record.state === 'scoring' && record.conf !== null
      ? `confidence ${percent(record.conf)}`
      : `learning ${percent(record.progress)}`;
  if (record.result === 'accepted') {
    const level =
      record.level && record.level !== 'enrolling' && record.level !== 'none'
        ? `, bank sees ${record.level}`
        : '';
    return `${time(record.at)}: ${what}, accepted${level}.`;
  }
  if (record.result === 'unreachable')
    return `${time(record.at)}: ${what}, not delivered (server unreachable).`;
  return `${time(record.at)}: ${what}, refused. ${describeError(`ERR_SERVER/${record.code ?? ''}`)}`;
}

export function percent(value: number): string {
  return `${Math.round(value * 100)} %`;
}

function siteLine(status: TabStatus): PopupView['site'] {
  if (!status.consent.given) return { text: 'Off: waiting for your consent', tone: 'warn' };
  if (status.site === null) return { text: 'Not active on this page', tone: 'info' };
  const host = new URL(status.site.origin).host;
  if (!status.site.protected) return { text: `Not active on ${host}`, tone: 'info' };
  if (status.site.paused) return { text: `Paused on ${host}`, tone: 'warn' };
  return { text: `Active on ${host}`, tone: 'ok' };
}

function stateLine(status: TabStatus): PopupView['state'] {
  if (!status.consent.given) {
    return {
      title: 'Tacit is off',
      detail:
        'It records nothing until you agree. Open the settings to read what it does and agree.',
      tone: 'warn',
    };
  }
  if (status.modelError !== null) {
    return {
      title: 'The on-device model is not answering',
      detail: describeError(status.modelError),
      tone: 'error',
    };
  }
  if (!status.device.enrolled) {
    return {
      title: 'This device is not enrolled',
      detail: 'In online banking, choose "Enroll this device". Until then nothing is learned.',
      tone: 'info',
    };
  }
  if (status.site === null || !status.site.protected) {
    return { title: 'Enrolled', detail: 'Open your bank to see your session here.', tone: 'info' };
  }
  if (status.site.paused)
    return {
      title: 'Paused',
      detail: 'Resume to let Tacit vouch for you on this site.',
      tone: 'warn',
    };
  const session = status.session;
  if (session === null) {
    return {
      title: 'Waiting for you to log in',
      detail: 'Nothing typed before you are logged in is learned.',
      tone: 'info',
    };
  }
  if (session.ended)
    return {
      title: 'This bank session is over',
      detail: 'Log in again to continue.',
      tone: 'info',
    };
  if (!session.learning) {
    return {
      title: 'Linking this bank session',
      detail: 'Tacit learns only once your bank has confirmed it is you.',
      tone: 'info',
    };
  }
  if (status.model === null)
    return { title: 'Starting', detail: 'The on-device model is starting.', tone: 'info' };
  if (status.model.state === 'enrolling') {
    return {
      title: 'Learning your rhythm',
      detail: 'Type and move as usual in online banking; Tacit tells your bank once it knows you.',
      tone: 'info',
    };
  }
  return {
    title: 'Recognising you',
    detail: 'Your bank gets a signed confidence every few seconds.',
    tone: 'ok',
  };
}

export function popupView(status: TabStatus): PopupView {
  const state = stateLine(status);
  const learning =
    status.session?.learning === true && status.model !== null && status.modelError === null;
  const model = status.model;
  const details: [string, string][] = [];
  if (model) {
    details.push(['Model', `${model.modelVersion} (${model.backend})`]);
    details.push([
      'Windows learned',
      `keys ${model.modalities.keystroke.enrolWindows}, pointer ${model.modalities.pointer.enrolWindows}`,
    ]);
  }
  details.push([
    'Device',
    status.device.deviceId ? `${status.device.deviceId.slice(0, 12)}…` : 'none',
  ]);
  if (status.device.subjects > 1)
    details.push(['People enrolled here', String(status.device.subjects)]);
  details.push(['Server', status.serverUrl]);
  if (status.session)
    details.push([
      'Session',
      `${status.session.sid.slice(0, 10)}…, ${status.session.seq} statements`,
    ]);
  return {
    site: siteLine(status),
    pause:
      status.site?.protected === true
        ? {
            label: status.site.paused ? 'Resume on this site' : 'Pause on this site',
            paused: status.site.paused,
            origin: status.site.origin,
          }
        : null,
    state,
    progress: learning && model!.state === 'enrolling' ? model!.progress : null,
    confidence:
      learning && model!.state === 'scoring' && status.confidence !== null
        ? percent(status.confidence)
        : null,
    lastStatement: status.lastStatement ? statementText(status.lastStatement) : null,
    problem: status.lastError ? describeError(status.lastError) : null,
    details,
  };
}
