import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TEMPLATE_PATH } from './nginx';
import {
  BANK_ID,
  DEFAULT_PORTS,
  HEALTH_PATH,
  INSTANCE_NAMES,
  REDIS_PERSISTENCE,
  bankEnv,
  instanceEnv,
  nginxVars,
  renderTemplate,
  upstreams,
  type Site,
} from './plan';
import { ROOT, localSite } from './topology';

// compose.yaml and the Dockerfile against the plan `npm run deploy:local` runs: no container
// engine runs here, so this is what keeps them from drifting. The containers are the plan
// evaluated at compose's site (service names as hosts, /run/tls, /data, secrets from .env);
// everything else (ports, variable names, values, health endpoints, upstreams) must be equal.

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  networks?: string[] | Record<string, { ipv4_address?: string }>;
}

const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: { subnet: string }[] } }>;
};
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const template = readFileSync(TEMPLATE_PATH, 'utf8');
const services = compose.services;
const nginxService = services.nginx!;
const proxyAddress = (nginxService.networks as Record<string, { ipv4_address?: string }>).tacit!
  .ipv4_address!;

const COMPOSE_SITE: Site = {
  bind: '0.0.0.0',
  instanceHosts: [INSTANCE_NAMES[0], INSTANCE_NAMES[1]],
  redisHost: 'redis',
  proxyHost: 'nginx',
  proxyAddress,
  publicHost: 'localhost',
  certFile: '/run/tls/cert.pem',
  keyFile: '/run/tls/key.pem',
  accessLog: '/dev/stdout',
  bankDb: '/data/demo-bank.db',
  bankKey: '${DEMO_BANK_API_KEY:?set DEMO_BANK_API_KEY in .env}',
  metricsToken: '${TACIT_METRICS_TOKEN:?set TACIT_METRICS_TOKEN in .env}',
};
const LOCAL_SITE = localSite(
  '/tmp/x',
  { host: 'localhost', certFile: '/tmp/c.pem', keyFile: '/tmp/k.pem' },
  'k'.repeat(32),
  'm'.repeat(32),
);
/** The variables whose values are a site's (hosts, paths, secrets): only these may differ. */
const SITE_VARIABLES = new Set([
  'TACIT_HOST',
  'TACIT_REDIS_URL',
  'TACIT_TRUSTED_PROXIES',
  'TACIT_API_KEYS',
  'TACIT_METRICS_TOKEN',
  'DEMO_BANK_HOST',
  'DEMO_BANK_DB',
  'DEMO_BANK_TACIT_URL',
  'DEMO_BANK_API_KEY',
  'NODE_EXTRA_CA_CERTS',
  'NGINX_CERT',
  'NGINX_KEY',
  'NGINX_ACCESS_LOG',
  'NGINX_UPSTREAM_1',
  'NGINX_UPSTREAM_2',
]);

/** Same names; values equal except the site's own variables. */
function expectSameModuloSite(a: Record<string, string>, b: Record<string, string>): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const [name, value] of Object.entries(a)) {
    if (!SITE_VARIABLES.has(name)) expect(b[name], name).toBe(value);
  }
}

describe('compose.yaml and the Dockerfile match deploy:local', () => {
  it('has the same services: Redis, two instances, nginx, the demo bank', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['demo-bank', 'nginx', 'redis', ...INSTANCE_NAMES].sort(),
    );
  });

  it('gives each instance the plan’s environment, equal to deploy:local’s but for hosts and secrets', () => {
    for (const i of [0, 1] as const) {
      const env = services[INSTANCE_NAMES[i]]!.environment!;
      expect(env).toEqual(instanceEnv(COMPOSE_SITE, DEFAULT_PORTS, i));
      expectSameModuloSite(instanceEnv(LOCAL_SITE, DEFAULT_PORTS, i), env);
      expect(env.TACIT_PORT).toBe(String(DEFAULT_PORTS.instances[i]));
    }
    // Both instances issue tokens under one name: either can verify the other's.
    expect(services['tacit-1']!.environment!.TACIT_ISSUER).toBe(
      services['tacit-2']!.environment!.TACIT_ISSUER,
    );
  });

  it('gives the demo bank the plan’s environment, its backend through nginx', () => {
    const env = services['demo-bank']!.environment!;
    expect(env).toEqual(bankEnv(COMPOSE_SITE, DEFAULT_PORTS));
    expectSameModuloSite(bankEnv(LOCAL_SITE, DEFAULT_PORTS), env);
    expect(env.DEMO_BANK_RP_ID).toBe(BANK_ID);
    expect(services['demo-bank']!.ports).toEqual([`${DEFAULT_PORTS.bank}:${DEFAULT_PORTS.bank}`]);
  });

  it('renders the one nginx template with the same variables and the same upstream set', () => {
    expect(nginxService.environment).toEqual(nginxVars(COMPOSE_SITE, DEFAULT_PORTS));
    expectSameModuloSite(nginxVars(LOCAL_SITE, DEFAULT_PORTS), nginxService.environment!);
    expect(nginxService.volumes).toContain(
      './tools/deploy/nginx.conf.template:/etc/nginx/templates/tacit.conf.template:ro',
    );
    expect(nginxService.ports).toEqual([`${DEFAULT_PORTS.proxy}:${DEFAULT_PORTS.proxy}`]);
    // Every ${NGINX_*} of the template is a plan variable, and every plan variable is used.
    const used = new Set([...template.matchAll(/\$\{(NGINX_[A-Z0-9_]+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(nginxVars(LOCAL_SITE, DEFAULT_PORTS)).sort());
    for (const [site, hosts] of [
      [COMPOSE_SITE, ['tacit-1', 'tacit-2']],
      [LOCAL_SITE, ['127.0.0.1', '127.0.0.1']],
    ] as const) {
      const rendered = renderTemplate(template, nginxVars(site, DEFAULT_PORTS));
      const servers = [...rendered.matchAll(/^\s*server (\S+) max_fails/gm)].map((m) => m[1]);
      expect(servers).toEqual(upstreams(site, DEFAULT_PORTS));
      expect(servers).toEqual(hosts.map((h, i) => `${h}:${DEFAULT_PORTS.instances[i]}`));
      expect(rendered).toMatch(/^\s*ssl_protocols TLSv1\.3;$/m);
      expect(rendered).not.toMatch(/\$\{NGINX_/);
    }
  });

  it('trusts X-Forwarded-For only from nginx’s fixed address in the network', () => {
    const subnet = compose.networks.tacit!.ipam.config[0]!.subnet;
    expect(subnet).toBe('172.28.0.0/24');
    expect(proxyAddress).toMatch(/^172\.28\.0\.\d+$/);
    expect(services['tacit-1']!.environment!.TACIT_TRUSTED_PROXIES).toBe(proxyAddress);
  });

  it('runs Redis with the plan’s persistence on the plan’s port', () => {
    const command = services.redis!.command!;
    expect(command.join(' ')).toContain(REDIS_PERSISTENCE.join(' ').trim());
    expect(command[command.indexOf('--port') + 1]).toBe(String(DEFAULT_PORTS.redis));
  });

  it('checks health at the endpoints deploy:local waits on', () => {
    // The instances inherit the image's HEALTHCHECK: GET /healthz on their own TACIT_PORT.
    const check = /^HEALTHCHECK .*\n?.*CMD \[(.*)\]$/m.exec(dockerfile);
    expect(check?.[1]).toContain(`/healthz`);
    expect(check?.[1]).toContain('process.env.TACIT_PORT');
    expect(HEALTH_PATH).toBe('/healthz');
    for (const name of INSTANCE_NAMES) expect(services[name]!.healthcheck).toBeUndefined();
    expect(services['demo-bank']!.healthcheck!.test.join(' ')).toContain(
      `http://127.0.0.1:${DEFAULT_PORTS.bank}/bank/login`,
    );
  });

  it('builds a multi-stage image that runs as a non-root user with production dependencies only', () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => m[2]);
    expect(stages).toEqual(['build', 'deps', 'runtime']);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).not.toMatch(/^RUN npm ci(?! --omit=dev)/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/server\/main\.mjs"\]$/m);
    expect(services['demo-bank']!.command).toEqual(['node', 'dist/server/demo-bank.mjs']);
  });
});
