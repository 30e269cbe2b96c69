/**
 * The aggregator's entry point (`tsx server/aggregator/main.ts`, `npm run aggregator`):
 * config → store → app → listen → print where. See docs/federated.md "Aggregator".
 *
 * @module
 */
import { createNodeServer, listen } from '../src/http/server';
import { jsonLogger } from '../src/observability/log';
import { createAggregatorApp } from './app';
import { AggregatorConfigError, loadAggregatorConfig, type AggregatorConfig } from './config';
import { verifierDirectory } from './services/device-directory';
import { openAggregatorStore } from './store/store';

function readConfig(): AggregatorConfig {
  try {
    return loadAggregatorConfig();
  } catch (err) {
    if (err instanceof AggregatorConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = jsonLogger();
  const store = openAggregatorStore(config.dbPath);
  const { app } = await createAggregatorApp({
    store,
    devices: verifierDirectory({ url: config.verifierUrl, apiKey: config.verifierKey }),
    settings: config,
    issuer: config.issuer ?? `http://${config.host}:${config.port}`,
    adminKey: config.adminKey,
    initialEncoder: config.initialEncoder,
    publicUsers: config.publicUsers,
    uploadRateLimit: config.uploadRateLimit,
    logger,
  });
  const server = createNodeServer(app.fetch);
  const port = await listen(server, config.port, config.host);
  logger.info('listening', { url: `http://${config.host}:${port}` });
  const stop = () => {
    server.close(() => {
      store.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
