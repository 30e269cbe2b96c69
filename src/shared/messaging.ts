/** Typed wrappers over runtime messaging: the only place the extension sends messages. */
import browser from 'webextension-polyfill';
import type {
  ContentMessage,
  ContentReplies,
  OffscreenMessage,
  OffscreenReplies,
  PageMessage,
  PageReplies,
} from './protocol';

export function sendFromContent<M extends ContentMessage>(
  message: M,
): Promise<ContentReplies[M['type']]> {
  return browser.runtime.sendMessage(message) as Promise<ContentReplies[M['type']]>;
}

export function sendToOffscreen<M extends OffscreenMessage>(
  message: M,
): Promise<OffscreenReplies[M['type']]> {
  return browser.runtime.sendMessage(message) as Promise<OffscreenReplies[M['type']]>;
}

export function sendFromPage<M extends PageMessage>(message: M): Promise<PageReplies[M['type']]> {
  return browser.runtime.sendMessage(message) as Promise<PageReplies[M['type']]>;
}
