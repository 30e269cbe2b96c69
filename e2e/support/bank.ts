import type { Page } from '@playwright/test';
import { expect } from '@playwright/test';
import type { RunningServer } from './server';
import { typeWithRhythm, type Typist } from './extension';

/** Logs into the demo bank by typing, like a person. */
export async function login(
  page: Page,
  server: RunningServer,
  username: string,
  typist: Typist,
): Promise<void> {
  await page.goto(`${server.bankUrl}/bank/login`);
  await page.click('#username');
  await typeWithRhythm(page, username, typist);
  await page.click('#password');
  await typeWithRhythm(page, 'demo', typist);
  await Promise.all([page.waitForURL('**/bank/accounts'), page.click('#login')]);
}

/** The session id the bank page hands to the extension. */
export async function sessionId(page: Page): Promise<string> {
  const sid = await page.locator('meta[name="tacit-session"]').getAttribute('content');
  expect(sid).toBeTruthy();
  return sid!;
}

export interface Introspection {
  active: boolean;
  tacit_assurance?: number | null;
  tacit_level?: string;
  tacit_state?: string;
  tacit_attestations?: number;
  cnf?: { jkt: string };
  [key: string]: unknown;
}

/** Acts as the bank's backend: gets the session JWT and introspects it (RFC 7662). */
export async function introspect(server: RunningServer, sid: string): Promise<Introspection> {
  const auth = { authorization: `Bearer ${server.bankKey}` };
  const tokenResponse = await fetch(`${server.url}/v1/sessions/${sid}/token`, {
    method: 'POST',
    headers: auth,
  });
  expect(tokenResponse.status).toBe(200);
  const { token } = (await tokenResponse.json()) as { token: string };
  const response = await fetch(`${server.url}/v1/introspect`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Introspection;
}
