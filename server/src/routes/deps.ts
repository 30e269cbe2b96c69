/**
 * What route factories receive.
 *
 * @module
 */
import type { ApiKeyRegistry } from '../auth';
import type { ServerKeys } from '../keys';
import type { TacitService } from '../service';
import type { Store } from '../store/store';

/** Dependencies of the API routes. */
export interface RouteDeps {
  service: TacitService;
  apiKeys: ApiKeyRegistry;
  keys: ServerKeys;
  store: Store;
}
