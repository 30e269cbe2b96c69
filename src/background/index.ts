// Service worker (Chrome) / event page (Firefox) entry: wiring only.
import browser from 'webextension-polyfill';
import { loadConfig } from '../shared/config';
import { createListener } from './handlers';
import { modelHost } from './model-host';
import { SessionService } from './session';

const sessions = new SessionService(loadConfig);

browser.runtime.onMessage.addListener(
  createListener({
    config: loadConfig,
    host: modelHost,
    sessions,
    storageSession: browser.storage.session,
    extensionId: browser.runtime.id,
    extensionOrigin: browser.runtime.getURL(''),
  }),
);
