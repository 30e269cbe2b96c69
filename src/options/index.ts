import browser from 'webextension-polyfill';
import { loadConfig, parseConfig } from '../shared/config';

const form = document.getElementById('form') as HTMLFormElement;
const server = document.getElementById('serverUrl') as HTMLInputElement;
const origins = document.getElementById('protectedOrigins') as HTMLTextAreaElement;
const saved = document.getElementById('saved') as HTMLSpanElement;

async function load(): Promise<void> {
  const config = await loadConfig();
  server.value = config.serverUrl;
  origins.value = config.protectedOrigins.join('\n');
  const managed = await browser.storage.managed.get(null).catch(() => ({}));
  if (Object.keys(managed).length > 0) {
    (document.getElementById('managed') as HTMLElement).hidden = false;
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  try {
    const config = parseConfig({
      serverUrl: server.value.trim(),
      protectedOrigins: origins.value.split('\n').map((s) => s.trim()).filter(Boolean),
    });
    void browser.storage.local.get('config').then(({ config: previous }) =>
      browser.storage.local.set({ config: { ...(previous as object | undefined), ...config } }),
    );
    saved.textContent = 'Saved.';
  } catch {
    saved.textContent = 'Invalid value: use full origins such as https://bank.example';
  }
});
void load();
