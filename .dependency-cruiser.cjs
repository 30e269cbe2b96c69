/**
 * The architecture's arrows (README "The parts", docs/server.md "Layout"), checked over the
 * whole repository, tests included, by `npm run deps` (part of `npm test`). A rule here is a
 * "never"; `tools/deps/rules.test.ts` shows each one failing on a deliberately wrong import.
 */
const TEST = '\\.(test|spec)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'server-not-to-extension',
      comment: 'The verification server (and its SDK and demo bank) never import the extension.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^src/' },
    },
    {
      name: 'model-is-pure',
      comment:
        'model/ is pure TypeScript shared by worker, training and evaluation: it imports nothing from the extension, the server or the e2e suite.',
      severity: 'error',
      from: { path: '^model/' },
      to: { path: '^(src|server|e2e)/' },
    },
    {
      name: 'content-script-imports-schema-and-protocol-only',
      comment:
        'The content script runs in the bank page: it imports the raw-event schema and the shared message protocol (with its typed transport and errors), nothing else of the extension, the model or the server.',
      severity: 'error',
      from: { path: '^src/content/' },
      to: {
        path: '^(src|model|server)/',
        pathNot: [
          '^src/content/',
          '^model/events/',
          '^src/shared/(protocol|messaging|errors)\\.ts$',
        ],
      },
    },
    {
      name: 'only-background-talks-to-server',
      comment:
        'Of the extension, only the background (service worker) talks to the server, so only it may take the server contract’s types.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/background/' },
      to: { path: '^server/' },
    },
    {
      name: 'extension-takes-server-types-only',
      comment:
        'The background takes wire types from the server (type-only imports): no server code is bundled into the extension.',
      severity: 'error',
      from: { path: '^src/background/' },
      to: { path: '^server/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'sdk-stands-alone',
      comment:
        'The SDK is copied into banks’ backends: its shipped files import jose and each other only (its tests may use the server’s harness).',
      severity: 'error',
      from: { path: '^server/sdk/', pathNot: [TEST, '^server/sdk/testing\\.ts$'] },
      to: { path: '^server/(?!sdk/)' },
    },
    {
      name: 'verifier-not-to-demo-bank',
      comment:
        'The demo bank is a relying party beside the verifier, never part of it: no verifier file references it (npm start runs it as its own process, tools/start.ts).',
      severity: 'error',
      from: { path: '^server/src/', pathNot: [TEST, '^server/src/testing/'] },
      to: { path: '^server/demo-bank/' },
    },
    {
      name: 'demo-bank-through-sdk',
      comment:
        'The demo bank talks to the verifier as any bank does, through the SDK over HTTP: its shipped files import nothing of the verifier (its tests may run the verifier in-process).',
      severity: 'error',
      from: { path: '^server/demo-bank/', pathNot: [TEST] },
      to: { path: '^server/(?!sdk/|demo-bank/)' },
    },
    {
      name: 'verifier-not-to-aggregator',
      comment:
        'The federated aggregator is its own process beside the verifier: no verifier file, tests included, references it, so the verifier still only ever receives attestations (docs/federated.md "Aggregator").',
      severity: 'error',
      from: { path: '^server/src/' },
      to: { path: '^server/aggregator/' },
    },
    {
      name: 'aggregator-asks-verifier-over-http',
      comment:
        "The aggregator shares the verifier's contract, HTTP plumbing and logging, but knows devices only by asking the verifier over HTTP: its shipped files never import the verifier's store, services, domain or app (its tests may run the verifier in-process).",
      severity: 'error',
      from: { path: '^server/aggregator/', pathNot: [TEST] },
      to: {
        path: '^server/src/',
        pathNot: [
          '^server/src/(contract|observability)/',
          '^server/src/http/(server\\.ts$|middleware/)',
        ],
      },
    },
    {
      name: 'production-not-to-test-code',
      comment:
        'Shipped code never imports tests or test fixtures (command-line tools, benches and e2e may).',
      severity: 'error',
      from: {
        pathNot: [
          TEST,
          '/testing/',
          '^e2e/',
          '^tools/',
          '^model/cli/',
          '(^|/)[^/]*\\.config\\.ts$',
          '^server/sdk/testing\\.ts$',
        ],
      },
      to: { path: [TEST, '/testing/'] },
    },
    {
      name: 'no-unresolvable',
      comment: 'Every relative import resolves to a file.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules/', '^dist/', '^tools/deps/fixtures/', '\\.d\\.ts$'] },
    // Type-only imports are dependencies too (the extension may take server types only).
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.json'],
    },
  },
};
