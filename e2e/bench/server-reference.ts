/**
 * The server bench's reference handler: the essential work of `POST /v1/attestations` done in
 * the simplest way, to measure the server against (docs/benchmarks.md, "server"). One process,
 * one thread: node:http, the body parsed with `JSON.parse`, the header checked (alg, typ, kid),
 * node:crypto `verify` with the device's key cached as a `KeyObject`, the session's sequence,
 * chain and freshness checked against its state in memory, and one durable insert per
 * attestation, group-committed (every insert of one event-loop turn in one SQLite transaction,
 * WAL, `synchronous = FULL`), the 202 sent after the commit.
 *
 * What it leaves out, and the server does not: audit records, metrics, logs, rate limits, CORS
 * and security headers, revocation and expiry checks, several instances sharing one store.
 *
 * Started by `server.ts` after the real server's SQLite leg, on that leg's database (read once
 * for device keys and session state: it continues the generator's chains) and its own output
 * database. Environment: `REF_PORT`, `REF_STATE_DB`, `REF_DB`. Prints `listening` when ready.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import Database from 'better-sqlite3';

const port = Number(process.env.REF_PORT);
const state = new Database(process.env.REF_STATE_DB!, { readonly: true });
const keys = new Map<string, KeyObject>();
for (const row of state.prepare('SELECT jkt, jwk FROM devices WHERE revoked_at IS NULL').all() as {
  jkt: string;
  jwk: string;
}[]) {
  keys.set(row.jkt, createPublicKey({ key: JSON.parse(row.jwk), format: 'jwk' }));
}
interface Session {
  jkt: string;
  lastSeq: number;
  lastHash: string;
}
const sessions = new Map<string, Session>();
for (const row of state
  .prepare('SELECT sid, device_jkt, last_seq, last_hash FROM sessions WHERE device_jkt IS NOT NULL')
  .all() as { sid: string; device_jkt: string; last_seq: number; last_hash: string }[]) {
  sessions.set(row.sid, { jkt: row.device_jkt, lastSeq: row.last_seq, lastHash: row.last_hash });
}
state.close();

const db = new Database(process.env.REF_DB!);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`CREATE TABLE IF NOT EXISTS attestations (
  sid TEXT NOT NULL, seq INTEGER NOT NULL, jkt TEXT NOT NULL, iat REAL NOT NULL,
  received_at INTEGER NOT NULL, conf REAL, hash TEXT NOT NULL, PRIMARY KEY (sid, seq)) STRICT`);
const insert = db.prepare('INSERT INTO attestations VALUES (?, ?, ?, ?, ?, ?, ?)');

type Row = [string, number, string, number, number, number | null, string];
let pending: { row: Row; res: ServerResponse; answer: string }[] = [];
const commit = db.transaction((rows: Row[]) => {
  for (const row of rows) insert.run(...row);
});
function flush(): void {
  const batch = pending;
  pending = [];
  commit(batch.map((p) => p.row));
  for (const p of batch) reply(p.res, 202, p.answer);
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

const b64json = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

function handle(body: string, res: ServerResponse): void {
  const jws = (JSON.parse(body) as { attestation?: unknown }).attestation;
  if (typeof jws !== 'string' || jws.length > 4096) return reply(res, 400, '{"error":"body"}');
  const parts = jws.split('.');
  if (parts.length !== 3) return reply(res, 400, '{"error":"jws"}');
  const header = b64json(parts[0]!) as { alg?: string; typ?: string; kid?: string };
  if (header.alg !== 'ES256' || header.typ !== 'tacit-att+jwt')
    return reply(res, 400, '{"error":"header"}');
  const key = keys.get(header.kid ?? '');
  if (!key) return reply(res, 401, '{"error":"device"}');
  const signed = Buffer.from(jws.slice(0, parts[0]!.length + 1 + parts[1]!.length), 'latin1');
  if (
    !verify(
      'sha256',
      signed,
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(parts[2]!, 'base64url'),
    )
  ) {
    return reply(res, 401, '{"error":"signature"}');
  }
  const c = b64json(parts[1]!) as {
    sid: string;
    seq: number;
    iat: number;
    conf: number | null;
    prev: string;
  };
  const session = sessions.get(c.sid);
  if (!session || session.jkt !== header.kid) return reply(res, 404, '{"error":"session"}');
  if (!(c.seq > session.lastSeq)) return reply(res, 409, '{"error":"replay"}');
  if (c.prev !== session.lastHash) return reply(res, 409, '{"error":"chain"}');
  const now = Date.now();
  if (Math.abs(now / 1000 - c.iat) > 60) return reply(res, 400, '{"error":"stale"}');
  const hash = createHash('sha256').update(jws, 'utf8').digest('base64url');
  session.lastSeq = c.seq;
  session.lastHash = hash;
  if (pending.length === 0) setImmediate(flush);
  pending.push({
    row: [c.sid, c.seq, header.kid!, c.iat, now, c.conf, hash],
    res,
    answer: `{"seq":${c.seq}}`,
  });
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return reply(res, 200, '{"status":"ok"}');
  if (req.method !== 'POST' || req.url !== '/v1/attestations') return reply(res, 404, '{}');
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > 16_384) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    try {
      handle(Buffer.concat(chunks).toString('utf8'), res);
    } catch {
      reply(res, 400, '{"error":"malformed"}');
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => {
  server.close();
  if (pending.length > 0) flush();
  db.close();
  process.exit(0);
});
