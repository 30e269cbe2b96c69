/**
 * The deployment's topology as data: which processes, on which ports, with which environment.
 * One plan, evaluated at two sites: this machine (`npm run deploy:local`, the proof suite's
 * `deployment` part, `e2e/deployment.spec.ts`) and the containers of `compose.yaml` (checked
 * against it by `compose.test.ts`). Only hosts, paths and how secrets arrive differ between
 * the sites; ports, variable names and every other value are the plan's.
 *
 * ```
 * browser / bank backend ──TLS 1.3──▶ nginx :8443 ──HTTP/1.1 keep-alive──▶ tacit-1 :8791 ─┐
 *                                                                  └─────▶ tacit-2 :8792 ─┴─▶ Redis :6379
 * demo bank :8788 ──(its backend, through nginx)──▶ nginx
 * ```
 *
 * No I/O here.
 *
 * @module
 */

/** The demo bank's relying-party id at the verifier (as `npm start` names it). */
export const BANK_ID = 'demo-bank';

/** The probes every instance answers (server/src/http/routes/health.ts). */
export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';

/** Ports of the topology. Defaults are the documented ones; tests use free ports. */
export interface DeployPorts {
  /** nginx, TLS 1.3: the one public address of the verifier. */
  proxy: number;
  /** The verification-server instances, in upstream order. */
  instances: [number, number];
  redis: number;
  /** The demo bank (a relying party beside the verifier, not behind it). */
  bank: number;
}

export const DEFAULT_PORTS: DeployPorts = {
  proxy: 8443,
  instances: [8791, 8792],
  redis: 6379,
  bank: 8788,
};

/** Where the plan runs: hosts, paths and secrets, the only things that differ between sites. */
export interface Site {
  /** Interface the instances and the bank listen on. */
  bind: string;
  /** How nginx reaches each instance (host part of the upstream `server` lines). */
  instanceHosts: [string, string];
  /** How the instances reach Redis. */
  redisHost: string;
  /** How the bank's backend reaches nginx (must be in the certificate). */
  proxyHost: string;
  /** The address the instances see nginx connect from (`TACIT_TRUSTED_PROXIES`). */
  proxyAddress: string;
  /** Public name of the verifier (the browser's; in the certificate): the issuer's host. */
  publicHost: string;
  /** Certificate and key files as nginx and the bank see them. */
  certFile: string;
  keyFile: string;
  /** nginx's access log (JSON lines): `/dev/stdout` in a container, a file here. */
  accessLog: string;
  /** The demo bank's login store. */
  bankDb: string;
  /** The demo bank's API key (or how the site passes it in, e.g. `${DEMO_BANK_API_KEY}`). */
  bankKey: string;
  /** Bearer token of the Prometheus scraper. */
  metricsToken: string;
}

/** Names of the instances, in upstream order (compose service names too). */
export const INSTANCE_NAMES = ['tacit-1', 'tacit-2'] as const;

/** The public URL of the verifier: what the extension is configured with, and `iss`. */
export function publicUrl(site: Site, ports: DeployPorts): string {
  return `https://${site.publicHost}:${ports.proxy}`;
}

/**
 * One instance's environment (server/src/config.ts). Every instance has the same one but
 * for its port: the same issuer (a token one instance issues must verify on the other), the
 * same Redis and key prefix, the same API keys.
 */
export function instanceEnv(site: Site, ports: DeployPorts, i: 0 | 1): Record<string, string> {
  return {
    TACIT_HOST: site.bind,
    TACIT_PORT: String(ports.instances[i]),
    TACIT_STORE: 'redis',
    TACIT_REDIS_URL: `redis://${site.redisHost}:${ports.redis}`,
    TACIT_ISSUER: publicUrl(site, ports),
    // nginx replaces X-Forwarded-For with the client's address; only nginx is believed.
    TACIT_TRUST_PROXY: '1',
    TACIT_TRUSTED_PROXIES: site.proxyAddress,
    TACIT_API_KEYS: `${BANK_ID}:bank:${site.bankKey}`,
    TACIT_METRICS_TOKEN: site.metricsToken,
    TACIT_LOG_LEVEL: 'info',
  };
}

/** The demo bank's environment (server/demo-bank/config.ts): its backend goes through nginx. */
export function bankEnv(site: Site, ports: DeployPorts): Record<string, string> {
  return {
    DEMO_BANK_HOST: site.bind,
    DEMO_BANK_PORT: String(ports.bank),
    DEMO_BANK_DB: site.bankDb,
    DEMO_BANK_TACIT_URL: `https://${site.proxyHost}:${ports.proxy}`,
    DEMO_BANK_TACIT_ISSUER: publicUrl(site, ports),
    DEMO_BANK_API_KEY: site.bankKey,
    DEMO_BANK_RP_ID: BANK_ID,
    // The bank's backend trusts the deployment's certificate (self-signed here).
    NODE_EXTRA_CA_CERTS: site.certFile,
  };
}

/**
 * The variables of `nginx.conf.template`: the nginx image renders it with `envsubst` from the
 * container's environment (compose.yaml), `npm run deploy:local` with {@link renderNginx}.
 */
export function nginxVars(site: Site, ports: DeployPorts): Record<string, string> {
  return {
    NGINX_PORT: String(ports.proxy),
    NGINX_SERVER_NAME: site.publicHost,
    NGINX_CERT: site.certFile,
    NGINX_ACCESS_LOG: site.accessLog,
    NGINX_KEY: site.keyFile,
    NGINX_UPSTREAM_1: `${site.instanceHosts[0]}:${ports.instances[0]}`,
    NGINX_UPSTREAM_2: `${site.instanceHosts[1]}:${ports.instances[1]}`,
  };
}

/**
 * Redis's persistence. The store acknowledges an attestation once Redis has applied it, before
 * anything reaches disk (server/src/store/redis/redis.ts, "Durability"): with
 * `appendfsync everysec` a Redis crash or power loss could drop up to a second of attestations
 * the server already acknowledged (202). `always` fsyncs each write before Redis answers, so
 * an acknowledged attestation survives; the cost is one fsync per write batch (the store's group
 * commit puts one event-loop turn's audited actions in one script call). No RDB snapshots: the
 * AOF is the record.
 */
export const REDIS_PERSISTENCE = [
  '--appendonly',
  'yes',
  '--appendfsync',
  'always',
  '--save',
  '',
] as const;

/** The upstream `server` lines nginx balances over, as `host:port`. */
export function upstreams(site: Site, ports: DeployPorts): string[] {
  const v = nginxVars(site, ports);
  return [v.NGINX_UPSTREAM_1!, v.NGINX_UPSTREAM_2!];
}

/**
 * Replaces `${NAME}` for every name in `vars` (what the nginx image's envsubst does: names it
 * does not know stay as written, so nginx's own `$host` and `$remote_addr` are untouched).
 * Throws if the template uses an `${NGINX_…}` it was not given: a site missing a variable.
 */
export function renderTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value !== undefined) return value;
    if (name.startsWith('NGINX_')) throw new TypeError(`nginx template: no value for ${name}`);
    return whole;
  });
}
