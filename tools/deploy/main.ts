/**
 * `npm run deploy:local`: the deployment of plan.ts on this machine (topology.ts), in the
 * foreground. State (Redis's AOF, the demo bank's store, its API key and the scraper's token)
 * lives in `data/deploy/` and survives a restart; the certificate is made for this run.
 * Output is forwarded line by line, prefixed with the process's name. Ctrl-C (or SIGTERM)
 * stops everything; if one process exits on its own, the rest is stopped and the exit code is 1.
 *
 * @module
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { StartError, demoBankKey } from '../start';
import { DEFAULT_PORTS } from './plan';
import { startTopology, type Topology } from './topology';

const USAGE = `Usage: npm run deploy:local [-- --dir DIR] [--host NAME]

Starts nginx (TLS 1.3, https://NAME:${DEFAULT_PORTS.proxy}) balancing over two verification
servers (:${DEFAULT_PORTS.instances.join(', :')}) sharing one Redis (:${DEFAULT_PORTS.redis}, AOF
fsync always), and the demo bank (http://127.0.0.1:${DEFAULT_PORTS.bank}) whose backend goes
through nginx. See docs/deployment.md.

  --dir DIR    state directory (default data/deploy)
  --host NAME  the verifier's public host name, in the certificate (default localhost)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      dir: { type: 'string' },
      host: { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const dir = resolve(values.dir ?? 'data/deploy');
  const bankKey = demoBankKey(join(dir, 'demo-bank-key')).key;
  const metricsToken = demoBankKey(join(dir, 'metrics-token')).key;

  let stopping = false;
  let topology: Topology | undefined;
  let exitCode = 0;
  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    process.stderr.write(`[deploy] ${why}: stopping\n`);
    // While starting, the start itself stops what it started (it fails, or returns and is
    // stopped below).
    if (!topology) return;
    await topology.stop();
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));

  topology = await startTopology({
    dir,
    publicHost: values.host ?? 'localhost',
    bankKey,
    metricsToken,
    onLine: (name, line) => process.stdout.write(`[${name}] ${line}\n`),
    onExit: (name, code, signal) =>
      void stop(`${name} exited (${signal ?? `code ${code}`})`, code || 1),
  });
  if (stopping) {
    await topology.stop();
    process.exit(exitCode);
  }
  const t = topology;
  process.stdout.write(
    [
      '',
      `Verifier:   ${t.url}  (nginx, TLS 1.3; certificate ${t.cert.certFile})`,
      `Instances:  ${t.instances.map((i) => `${i.name} ${i.url}`).join(', ')}  (direct, no TLS)`,
      `Redis:      redis://127.0.0.1:${t.ports.redis}  (AOF in ${join(t.dir, 'redis')})`,
      `Demo bank:  ${t.bankUrl}/bank/login  (any username, password demo)`,
      `Metrics:    GET /metrics on each instance with "Authorization: Bearer $(cat ${join(t.dir, 'metrics-token')})"`,
      `Extension:  set its server to ${t.url} (accept the certificate at ${t.url}${'/healthz'} first)`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  const message = err instanceof StartError || err instanceof TypeError ? err.message : String(err);
  process.stderr.write(`deploy:local: ${message}\n`);
  process.exit(1);
});
