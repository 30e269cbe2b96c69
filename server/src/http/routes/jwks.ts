/**
 * `GET /.well-known/jwks.json`: the server's public signing keys.
 *
 * @module
 */
import { Hono } from 'hono';
import { ROUTES } from '../../contract/routes';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** JWKS route (`kid`, `alg: ES256`, `use: sig`; public members only). */
export function jwksRoutes({ keys }: RouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get(ROUTES.jwks.path, (c) => {
    // Short cache: relying parties pick up a rotated key within minutes.
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(keys.jwks());
  });
}
