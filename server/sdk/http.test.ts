/**
 * End to end over real sockets: the Tacit app listening on a port, a bank backend built on
 * `node:http` protected by `requireAssurance`, the client using the global `fetch`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { KEYS, createHarness, type Harness } from '../src/testing/harness';
import { createTacitClient } from './client';
import { requireAssurance, type TacitAuth } from './middleware';
import { validToken } from './testing';

let h: Harness;
const servers: Server[] = [];

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
  await h.close();
});

it('a node:http bank backend: 401 without a token, 200 with, 403 below min', async () => {
  const tacitUrl = await listen(createAdaptorServer({ fetch: h.app.fetch }) as Server);
  const tacit = createTacitClient({
    serverUrl: tacitUrl,
    apiKey: KEYS.bankA,
    issuer: h.issuer,
    audience: 'bank-a',
    now: () => h.clock.now(),
  });
  type BankRequest = IncomingMessage & { tacit?: TacitAuth };
  const guard = requireAssurance<BankRequest>({
    client: tacit,
    min: 'high',
    mode: 'introspect',
  });
  let handled = 0;
  const bankUrl = await listen(
    createServer((req: BankRequest, res) => {
      void guard(req, res, () => {
        handled++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true, level: req.tacit?.level }));
      });
    }),
  );

  const none = await fetch(`${bankUrl}/transfer`, { method: 'POST' });
  expect(none.status).toBe(401);
  expect(none.headers.get('www-authenticate')).toBe('Bearer');
  expect(await none.json()).toEqual({ error: 'ERR_UNAUTHORIZED' });

  const { token } = await validToken(h);
  const ok = await fetch(`${bankUrl}/transfer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ ok: true, level: 'high' });

  const { token: weak } = await validToken(h, { conf: 0.55 });
  const stepUp = await fetch(`${bankUrl}/transfer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${weak}` },
  });
  expect(stepUp.status).toBe(403);
  expect(await stepUp.json()).toEqual({
    error: 'ERR_INSUFFICIENT_ASSURANCE',
    required: 'high',
    level: 'medium',
  });
  expect(handled).toBe(1);

  // Offline verification over the real JWKS endpoint.
  await expect(tacit.verifySessionToken(token)).resolves.toMatchObject({ aud: 'bank-a' });
});
