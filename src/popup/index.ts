// Popup entry: asks the background about the current tab every second and renders it.
import browser from 'webextension-polyfill';
import { describeError } from '../shared/error-text';
import { sendFromPage } from '../shared/messaging';
import type { TabStatus } from '../shared/protocol';
import { confidenceChart, type ConfidenceChart } from './chart';
import { popupView } from './view';

const REFRESH_MS = 1000;
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let chart: ConfidenceChart | undefined;
let pauseTarget: { origin: string; paused: boolean } | null = null;

function show(id: string, visible: boolean): void {
  byId(id).hidden = !visible;
}

function render(status: TabStatus): void {
  const view = popupView(status);
  const site = byId('site');
  site.textContent = view.site.text;
  site.dataset.tone = view.site.tone;
  byId('state-card').dataset.tone = view.state.tone;
  byId('state-title').textContent = view.state.title;
  byId('state-detail').textContent = view.state.detail;
  show('enrolment', view.progress !== null);
  if (view.progress !== null) {
    byId<HTMLProgressElement>('enrolment-bar').value = Math.round(view.progress * 100);
    byId('enrolment-value').textContent = `${Math.round(view.progress * 100)} %`;
  }
  show('confidence-line', view.confidence !== null);
  byId('confidence').textContent = view.confidence ?? '';
  show('chart-card', status.series.length > 0);
  if (status.series.length > 0) {
    chart ??= confidenceChart(byId('chart'), 290);
    chart.update(status.series);
  }
  show('last-statement', view.lastStatement !== null);
  byId('last-statement').textContent = view.lastStatement
    ? `Last statement ${view.lastStatement}`
    : '';
  show('problem', view.problem !== null);
  byId('problem').textContent = view.problem ?? '';
  const pause = byId<HTMLButtonElement>('pause');
  pause.hidden = view.pause === null;
  pauseTarget = view.pause;
  if (view.pause) pause.textContent = view.pause.label;
  byId('details-list').replaceChildren(
    ...view.details.flatMap(([term, value]) => [
      Object.assign(document.createElement('dt'), { textContent: term }),
      Object.assign(document.createElement('dd'), { textContent: value }),
    ]),
  );
}

async function refresh(tabId: number): Promise<void> {
  try {
    render(await sendFromPage({ type: 'tab-status', tabId }));
  } catch {
    // The service worker is restarting: say so, and the next refresh tries again.
    byId('state-title').textContent = 'Tacit is restarting';
    byId('state-detail').textContent = describeError('ERR_INTERNAL');
  }
}

async function main(): Promise<void> {
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  // Opened in a tab of its own (tests, support) the popup describes the tab named in its URL.
  const named = Number(new URLSearchParams(location.search).get('tab'));
  const tabId = Number.isSafeInteger(named) && named > 0 ? named : tab?.id;
  if (tabId === undefined) {
    render({
      site: null,
      capturing: false,
      consent: { given: false, by: null },
      device: { enrolled: false, deviceId: null, subjects: 0 },
      serverUrl: '',
      session: null,
      model: null,
      modelError: null,
      confidence: null,
      series: [],
      lastStatement: null,
      lastError: null,
    });
    return;
  }
  byId('pause').addEventListener('click', () => {
    if (!pauseTarget) return;
    void sendFromPage({
      type: 'set-site-paused',
      origin: pauseTarget.origin,
      paused: !pauseTarget.paused,
    }).then(() => refresh(tabId));
  });
  await refresh(tabId);
  setInterval(() => void refresh(tabId), REFRESH_MS);
}

byId('open-options').addEventListener('click', (event) => {
  event.preventDefault();
  void browser.runtime.openOptionsPage();
});
void main();
