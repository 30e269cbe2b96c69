/**
 * The attack classes of the forgery suite. Each class turns fast-check's parameters into one
 * forged or replayed request per statement kind it applies to. Every case is built so that a
 * correct server must refuse it: content the legitimate key signed is only ever sent with
 * something the server must refuse (a wrong `typ`, a stale `iat`, a spent `jti`, …), never as
 * a plain valid statement (that is the sanity check's job, forgery.ts).
 */
import fc from 'fast-check';
import type { KeyObject } from 'node:crypto';
import { chainHash } from '../../server/src/crypto/attestation';
import {
  appendMember,
  b64u,
  es256,
  flipBit,
  flipChar,
  highS,
  homoglyph,
  hs256Text,
  nested,
  nonCanonical,
  prependMember,
  publicKeySecrets,
  segments,
  signJson,
  signText,
  type Es256Key,
} from './jws-forge';
import {
  KID_KINDS,
  KINDS,
  TYP,
  attestationClaims,
  dpopProof,
  jti,
  type Kind,
  type World,
} from './forgery-world';

/** One request of a case: the statement, and how to deliver it. */
export interface Attempt {
  jws: string;
  /** Which instance: A (default), or B on the same store. */
  app?: 'a' | 'b';
  /** Session JWTs: use it as `Authorization: Bearer` instead of introspecting it. */
  bearer?: boolean;
  /** The whole request body instead of `{<member>: jws}`. */
  rawBody?: string;
  /** DPoP: request this path (default: the victim's session). */
  path?: string;
  /** jtis a valid DPoP proof of an enrolled key may spend on this request. */
  spentJtis?: number;
}

/** fast-check's parameters of one case; each class reads what it needs. */
export interface Params {
  v: number;
  bit: number;
  n: number;
  s: string;
  k: number;
  bearer: boolean;
}

export const PARAMS: fc.Arbitrary<Params> = fc.record({
  v: fc.nat({ max: 1_000_000 }),
  bit: fc.nat({ max: 1 << 20 }),
  n: fc.integer({ min: 0, max: 10_000_000 }),
  s: fc.string({ unit: 'binary', maxLength: 48 }),
  k: fc.nat({ max: 1_000_000 }),
  bearer: fc.boolean(),
});

export interface AttackClass {
  name: string;
  kinds: readonly Kind[];
  build(w: World, kind: Kind, p: Params): Attempt;
}

const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
const attacker = (w: World, p: Params) => pick(w.attackers, p.k);
type Obj = Record<string, unknown>;

/** Header and claims of a fresh, valid statement of `kind` (what a case then spoils). */
export function template(w: World, kind: Kind): { header: Obj; claims: Obj } {
  const iat = w.nowS;
  switch (kind) {
    case 'attestation':
      return {
        header: { alg: 'ES256', typ: TYP[kind], kid: w.victim.jkt },
        claims: attestationClaims(iat, w.victimSession.sid, w.chain.at(-1)),
      };
    case 'dpop':
      return {
        header: { alg: 'ES256', typ: TYP[kind], jwk: w.victim.jwk },
        claims: {
          jti: jti(),
          htm: 'GET',
          htu: `${w.a.issuer}/v1/device/sessions/${w.victimSession.sid}`,
          iat,
        },
      };
    case 'enrollment':
      return {
        header: { alg: 'ES256', typ: TYP[kind], jwk: w.enrollee.jwk },
        claims: { code: w.baitCode, iat, jti: jti() },
      };
    case 'binding':
      return {
        header: { alg: 'ES256', typ: TYP[kind], kid: w.victim.jkt },
        claims: { sid: w.freeSession.sid, chal: w.freeSession.challenge, iat, jti: jti() },
      };
    case 'rotation':
      return {
        header: { alg: 'ES256', typ: TYP[kind], jwk: w.rotateTo.jwk },
        claims: { old: w.rotator.jkt, iat, jti: jti() },
      };
    case 'session-jwt':
      return {
        header: { alg: 'ES256', typ: TYP[kind], kid: w.serverKid },
        claims: { ...w.tokenClaims },
      };
  }
}

/** The key that legitimately signs `kind` in this world. */
export function legitKey(w: World, kind: Kind): KeyObject {
  switch (kind) {
    case 'attestation':
    case 'binding':
    case 'dpop':
      return w.victim.privateKey;
    case 'enrollment':
      return w.enrollee.privateKey;
    case 'rotation':
      return w.rotateTo.privateKey;
    case 'session-jwt':
      return w.serverKey;
  }
}

/** The public key the server must verify `kind` with. */
function legitJwk(w: World, kind: Kind): Es256Key['jwk'] {
  if (kind === 'session-jwt') return w.serverJwk;
  if (kind === 'enrollment') return w.enrollee.jwk;
  if (kind === 'rotation') return w.rotateTo.jwk;
  return w.victim.jwk;
}

/** A fresh, valid statement of `kind` with `header`/`claims` members merged in. */
export function fresh(w: World, kind: Kind, header: Obj = {}, claims: Obj = {}, key?: KeyObject) {
  const t = template(w, kind);
  return signJson({ ...t.header, ...header }, { ...t.claims, ...claims }, key ?? legitKey(w, kind));
}

/** Unsigned compact form with any signature text. */
const unsigned = (header: Obj | string, claims: Obj | string, sig: string) =>
  `${b64u(typeof header === 'string' ? header : JSON.stringify(header))}.${b64u(
    typeof claims === 'string' ? claims : JSON.stringify(claims),
  )}.${sig}`;

/** The member naming the key: `kid` for kid kinds, `jwk` otherwise. */
const keyMember = (kind: Kind) => (KID_KINDS.includes(kind) ? 'kid' : 'jwk');

/** A used statement of `kind` (a replay must be refused). */
const usedOf = (w: World, kind: Kind, i: number) => pick(w.used[kind], i);

const EVERY = KINDS;
const withBearer = (kind: Kind, p: Params, a: Attempt): Attempt =>
  kind === 'session-jwt' ? { ...a, bearer: p.bearer && p.v % 4 === 0 } : a;
/** Rotation requests carry a valid DPoP proof of the rotator: its jti is spent. */
const spend = (kind: Kind, a: Attempt): Attempt =>
  kind === 'rotation' ? { spentJtis: 1, ...a } : a;

const seg = (kind: Kind, p: Params, which: 0 | 1 | 2, w: World): Attempt => {
  const jws = fresh(w, kind);
  // Characters for header and payload; bytes for the signature (a changed character in its
  // unused trailing bits would decode to the same signature: see the base64url class).
  const out =
    which !== 2 && p.v % 2 === 0 ? flipChar(jws, which, p.bit, p.k) : flipBit(jws, which, p.bit);
  return spend(kind, withBearer(kind, p, { jws: out }));
};

const SIGNATURE_SPOILERS = [
  (s: string) => 'A'.repeat(s.length), // r = s = 0 (CVE-2022-21449)
  (s: string) => '_'.repeat(s.length),
  (s: string) => s.slice(0, -2),
  (s: string) => `${s}AA`,
  () => '',
  (s: string) => s.slice(43) + s.slice(0, 43), // s‖r
];

const ALG_NONE = ['none', 'None', 'NONE', 'nOnE', ''];

const KID_VALUES = (w: World, p: Params, kind: Kind): unknown[] => [
  w.peer.jkt,
  attacker(w, p).jkt,
  kind === 'session-jwt' ? w.victim.jkt : w.serverKid,
  '../../../../etc/passwd',
  "' OR '1'='1' --",
  '*',
  'A'.repeat(43),
  `${(kind === 'session-jwt' ? w.serverKid : w.victim.jkt).toUpperCase()}`,
  `${kind === 'session-jwt' ? w.serverKid : w.victim.jkt}\u0000`,
  1,
  null,
  {},
  [kind === 'session-jwt' ? w.serverKid : w.victim.jkt],
  'x'.repeat(5000),
  p.s,
];

const URL_HEADERS = (w: World, p: Params): Obj[] => [
  { jku: 'https://attacker.example/jwks.json' },
  { x5u: 'https://attacker.example/cert.pem' },
  { jku: `${w.a.issuer}/.well-known/jwks.json`, kid: attacker(w, p).jkt },
  { x5c: [b64u(JSON.stringify(attacker(w, p).jwk))] },
  { jku: 'file:///etc/passwd' },
  { x5t: b64u('attacker'), x5u: 'http://127.0.0.1:1/cert.pem' },
];

const otherTyps = (kind: Kind): unknown[] => {
  const others: unknown[] = KINDS.filter((k) => k !== kind).map((k) => TYP[k]);
  const typ = TYP[kind];
  others.push(undefined, 'JWT', 'jwt', '', `${typ} `, ` ${typ}`, [typ], `${typ}\n`);
  // A session JWT's typ is compared as a media type (RFC 7515 §4.1.9: case-insensitive, the
  // `application/` prefix optional): those spellings are the same type, and only the server's
  // key signs session JWTs. Device statements are compared exactly: there they are refusals.
  if (kind !== 'session-jwt') others.push(typ.toUpperCase(), `application/${typ}`);
  return others;
};

const CRITS: Obj[] = [
  { crit: ['exp'] },
  { crit: ['x-tacit'], 'x-tacit': true },
  { crit: [] },
  { crit: 'x-tacit' },
  { crit: ['b64'], b64: false },
  { crit: ['htm', 'htm'] },
  { crit: [1] },
];

/** Claims that name the request or subject, per kind, and a wrong value for each. */
const WRONG_CLAIM = (w: World, kind: Kind): Obj[] => {
  switch (kind) {
    case 'attestation':
      return [{ sid: w.peerSession.sid }, { seq: 0 }, { prev: '' }, { conf: 2 }, { iat: 1 }];
    case 'binding':
      return [{ sid: w.peerSession.sid }, { chal: w.victimSession.challenge }, { iat: 1 }];
    case 'dpop':
      return [{ htm: 'POST' }, { htu: `${w.a.issuer}/v1/device/enrollments` }, { iat: 1 }];
    case 'enrollment':
      return [{ code: 'WRONG-CODE' }, { iat: 1 }, { jti: '' }];
    case 'rotation':
      return [{ old: w.peer.jkt }, { iat: 1 }, { old: w.rotateTo.jkt }];
    case 'session-jwt':
      return [
        { aud: 'bank-b' },
        { exp: 1 },
        { iss: 'https://evil.example' },
        { sid: w.peerSession.sid },
      ];
  }
};

export const CLASSES: AttackClass[] = [
  {
    name: 'flipped bit: header',
    kinds: EVERY,
    build: (w, kind, p) => seg(kind, p, 0, w),
  },
  {
    name: 'flipped bit: payload',
    kinds: EVERY,
    build: (w, kind, p) => seg(kind, p, 1, w),
  },
  {
    name: 'flipped bit: signature',
    kinds: EVERY,
    build: (w, kind, p) => {
      const jws = fresh(w, kind);
      if (p.v % 3 !== 0) return spend(kind, withBearer(kind, p, { jws: flipBit(jws, 2, p.bit) }));
      const [h, pl, s] = segments(jws);
      const spoiled = pick(SIGNATURE_SPOILERS, p.k)(s);
      return spend(kind, withBearer(kind, p, { jws: `${h}.${pl}.${spoiled}` }));
    },
  },
  {
    name: 'wrong key',
    kinds: EVERY,
    build: (w, kind, p) =>
      spend(kind, withBearer(kind, p, { jws: fresh(w, kind, {}, {}, attacker(w, p).privateKey) })),
  },
  {
    name: "another device's key",
    kinds: EVERY,
    build: (w, kind, p) => {
      const peer = w.peer;
      const own = p.v % 2 === 0;
      switch (kind) {
        case 'attestation':
        case 'binding':
          // Peer's signature under the victim's kid, or peer's own kid for the victim's session.
          return { jws: fresh(w, kind, own ? { kid: peer.jkt } : {}, {}, peer.privateKey) };
        case 'session-jwt':
          return withBearer(kind, p, {
            jws: fresh(w, kind, own ? { kid: peer.jkt } : {}, {}, peer.privateKey),
          });
        case 'dpop':
          // The peer's valid proof spends its jti, and still reads no one else's session.
          return own
            ? { jws: fresh(w, kind, { jwk: peer.jwk }, {}, peer.privateKey), spentJtis: 1 }
            : { jws: fresh(w, kind, {}, {}, peer.privateKey) };
        case 'enrollment':
          return { jws: fresh(w, kind, own ? { jwk: w.victim.jwk } : {}, {}, peer.privateKey) };
        case 'rotation':
          // Onto an enrolled key (the peer's, by the peer: ERR_KEY_IN_USE), or a forged signature.
          return spend(kind, {
            jws: fresh(w, kind, own ? { jwk: peer.jwk } : {}, {}, peer.privateKey),
          });
      }
    },
  },
  {
    name: 'alg: none',
    kinds: EVERY,
    build: (w, kind, p) => {
      const t = template(w, kind);
      const sig = pick(['', segments(fresh(w, kind))[2], 'AA'], p.k);
      const jws = unsigned({ ...t.header, alg: pick(ALG_NONE, p.v) }, t.claims, sig);
      return spend(kind, withBearer(kind, p, { jws }));
    },
  },
  {
    name: 'HS256 keyed with the public key',
    kinds: EVERY,
    build: (w, kind, p) => {
      const t = template(w, kind);
      const secret = pick(publicKeySecrets(legitJwk(w, kind)), p.v);
      const alg = pick(['HS256', 'HS256', 'HS384', 'HS512'], p.k);
      const jws = hs256Text(JSON.stringify({ ...t.header, alg }), JSON.stringify(t.claims), secret);
      return spend(kind, withBearer(kind, p, { jws }));
    },
  },
  {
    name: 'kid injection',
    kinds: EVERY,
    build: (w, kind, p) => {
      const kid = pick(KID_VALUES(w, p, kind), p.v);
      return spend(
        kind,
        withBearer(kind, p, { jws: fresh(w, kind, { kid }, {}, attacker(w, p).privateKey) }),
      );
    },
  },
  {
    name: 'jku / x5u / x5c header injection',
    kinds: EVERY,
    build: (w, kind, p) => {
      const extra = pick(URL_HEADERS(w, p), p.v);
      return spend(
        kind,
        withBearer(kind, p, { jws: fresh(w, kind, extra, {}, attacker(w, p).privateKey) }),
      );
    },
  },
  {
    name: 'jwk header injection',
    kinds: EVERY,
    build: (w, kind, p) => {
      const evil = attacker(w, p);
      if (KID_KINDS.includes(kind)) {
        const header = pick<Obj>(
          [{ jwk: evil.jwk }, { jwk: evil.jwk, kid: undefined }, { jwk: evil.jwk, kid: evil.jkt }],
          p.v,
        );
        return withBearer(kind, p, { jws: fresh(w, kind, header, {}, evil.privateKey) });
      }
      const legit = legitJwk(w, kind);
      const d = (evil.privateKey.export({ format: 'jwk' }) as { d: string }).d;
      const variants: (() => string)[] = [
        // The legitimate public key with an attacker's private member: refused as a private key.
        () => fresh(w, kind, { jwk: { ...legit, d } }, {}, evil.privateKey),
        () => fresh(w, kind, { jwk: { ...evil.jwk, d } }, {}, evil.privateKey),
        // A symmetric key and an HMAC over it.
        () => {
          const t = template(w, kind);
          const k = b64u(`secret-${p.n}`);
          return hs256Text(
            JSON.stringify({ ...t.header, alg: 'HS256', jwk: { kty: 'oct', k } }),
            JSON.stringify(t.claims),
            Buffer.from(`secret-${p.n}`),
          );
        },
        // A point off the curve, another curve, a key as a string, nested key URLs.
        () =>
          fresh(
            w,
            kind,
            { jwk: { ...legit, x: flipBit(`a.${legit.x}.a`, 1, p.bit).split('.')[1] } },
            {},
            evil.privateKey,
          ),
        () =>
          fresh(
            w,
            kind,
            { jwk: { ...legit, crv: pick(['P-384', 'secp256k1', 'P-521', 'p-256'], p.k) } },
            {},
            evil.privateKey,
          ),
        () => fresh(w, kind, { jwk: JSON.stringify(legit) }, {}, evil.privateKey),
        () =>
          fresh(
            w,
            kind,
            { jwk: { ...legit, jku: 'https://attacker.example/jwks.json' } },
            {},
            evil.privateKey,
          ),
        // The enrolled victim's key, signed by the attacker.
        () => fresh(w, kind, { jwk: w.victim.jwk }, {}, evil.privateKey),
      ];
      return spend(kind, { jws: pick(variants, p.v)() });
    },
  },
  {
    name: 'wrong or missing typ',
    kinds: EVERY,
    build: (w, kind, p) => {
      const typ = pick(otherTyps(kind), p.v);
      return spend(kind, withBearer(kind, p, { jws: fresh(w, kind, { typ }) }));
    },
  },
  {
    name: 'crit',
    kinds: EVERY,
    build: (w, kind, p) =>
      spend(kind, withBearer(kind, p, { jws: fresh(w, kind, pick(CRITS, p.v)) })),
  },
  {
    name: 'expired',
    kinds: EVERY,
    build: (w, kind, p) => {
      const age = 61 + (p.n % 10_000_000);
      if (kind === 'session-jwt') {
        const exp = w.nowS - 1 - (p.n % 1_000_000);
        return withBearer(kind, p, { jws: fresh(w, kind, {}, { exp, iat: exp - 300 }) });
      }
      const claims = p.v % 3 === 0 ? { exp: w.nowS - age } : { iat: w.nowS - age };
      return spend(kind, { jws: fresh(w, kind, {}, claims) });
    },
  },
  {
    name: 'future-dated',
    kinds: EVERY,
    build: (w, kind, p) => {
      const ahead = 61 + (p.n % 10_000_000);
      if (kind === 'session-jwt') {
        return withBearer(kind, p, {
          jws: fresh(w, kind, {}, { nbf: w.nowS + 1 + (p.n % 1_000_000) }),
        });
      }
      const claims = p.v % 3 === 0 ? { nbf: w.nowS + ahead } : { iat: w.nowS + ahead };
      return spend(kind, { jws: fresh(w, kind, {}, claims) });
    },
  },
  {
    name: 'replayed (seq, jti, statement)',
    kinds: EVERY,
    build: (w, kind, p) => {
      if (kind === 'attestation' && p.v % 2 === 0) {
        // A new signature over an old seq, chained to the head: the seq is spent.
        const head = w.chain.at(-1)!;
        const seq = 1 + (p.k % head.seq);
        return { jws: fresh(w, kind, {}, { seq, prev: head.hash, conf: (p.n % 100) / 100 }) };
      }
      if (kind === 'session-jwt') return withBearer(kind, p, { jws: pick(w.deadTokens, p.k) });
      return spend(kind, { jws: usedOf(w, kind, p.k) });
    },
  },
  {
    name: 'reordered or forked chain',
    kinds: ['attestation'],
    build: (w, kind, p) => {
      const head = w.chain.at(-1)!;
      const earlier = pick(w.chain.slice(0, -1), p.k);
      const t = template(w, kind).claims as { seq: number };
      const modes: (() => string)[] = [
        // A fork off an earlier link, with a seq ahead of the head.
        () => fresh(w, kind, {}, { seq: t.seq + (p.n % 1000), prev: earlier.hash }),
        // The second of two new links sent first (the first never arrives).
        () => {
          const first = fresh(w, kind, {}, { conf: 0.99 });
          return fresh(w, kind, {}, { seq: t.seq + 1, prev: chainHash(first) });
        },
        // A restarted chain.
        () => fresh(w, kind, {}, { seq: t.seq + (p.n % 1000), prev: '' }),
        // A branch off the head's high-s twin: the chain hashes the whole compact JWS.
        () => fresh(w, kind, {}, { prev: chainHash(highS(head.jws)) }),
        // A branch off the hash of the head's signed content only.
        () => fresh(w, kind, {}, { prev: chainHash(head.jws.slice(0, head.jws.lastIndexOf('.'))) }),
        // A sibling of the head: same prev as the head, a later seq.
        () => fresh(w, kind, {}, { prev: w.chain.at(-2)?.hash ?? '' }),
      ];
      return { jws: pick(modes, p.v)() };
    },
  },
  {
    name: 'cross-session replay',
    kinds: EVERY,
    build: (w, kind, p) => {
      switch (kind) {
        case 'attestation': {
          const s = pick([w.peerSession, w.freeSession, w.bankBSession, w.rotatorSession], p.v);
          return {
            jws: fresh(
              w,
              kind,
              {},
              { sid: s.sid, seq: 1 + (p.k % 50), prev: p.v % 2 ? '' : w.chain.at(-1)!.hash },
            ),
          };
        }
        case 'binding': {
          const s = pick([w.peerSession, w.bankBSession, w.rotatorSession], p.v);
          const chal = p.k % 2 ? s.challenge : w.freeSession.challenge;
          return {
            jws: fresh(
              w,
              kind,
              {},
              {
                sid: p.k % 3 === 2 ? w.freeSession.sid : s.sid,
                chal: p.k % 3 === 2 ? w.victimSession.challenge : chal,
              },
            ),
          };
        }
        case 'dpop': {
          // The victim's valid proof for someone else's session: authenticated, then refused.
          const s = pick([w.peerSession, w.freeSession, w.bankBSession, w.rotatorSession], p.v);
          const path = `/v1/device/sessions/${s.sid}`;
          return { jws: dpopProof(w.a, w.victim, 'GET', path), path, spentJtis: 1 };
        }
        case 'enrollment': {
          // A spent enrollment's header and signature grafted onto the bait code's claims.
          const [h, , sig] = segments(usedOf(w, kind, p.k));
          return { jws: `${h}.${b64u(JSON.stringify(template(w, kind).claims))}.${sig}` };
        }
        case 'rotation':
          return spend(kind, {
            jws: fresh(w, kind, {}, { old: pick([w.peer.jkt, w.victim.jkt], p.v) }),
          });
        case 'session-jwt':
          // A token issued to bank B, or to bank A for a session bound elsewhere.
          return withBearer(kind, p, { jws: pick(w.deadTokens, p.v) });
      }
    },
  },
  {
    name: 'cross-instance replay',
    kinds: EVERY,
    build: (w, kind, p) => {
      if (kind === 'session-jwt') {
        return withBearer(kind, p, { jws: w.otherToken, app: p.v % 2 ? 'a' : 'b' });
      }
      if (kind === 'attestation' && p.v % 3 === 0) return { jws: w.otherAttestation };
      if (kind === 'dpop' && p.v % 3 === 0) {
        // A proof for another instance's public URL.
        const path = `/v1/device/sessions/${w.victimSession.sid}`;
        return { jws: fresh(w, kind, {}, { htu: `https://instance-2.tacit.example${path}` }) };
      }
      return spend(kind, { jws: usedOf(w, kind, p.k), app: 'b' });
    },
  },
  {
    name: 'duplicate JSON keys',
    kinds: EVERY,
    build: (w, kind, p) => {
      const t = template(w, kind);
      const h = JSON.stringify(t.header);
      const c = JSON.stringify(t.claims);
      const evil = attacker(w, p);
      const member = keyMember(kind);
      const legitId = JSON.stringify(t.header[member]);
      const evilId = JSON.stringify(member === 'kid' ? evil.jkt : evil.jwk);
      const wrongClaim = pick(WRONG_CLAIM(w, kind), p.k);
      const [name, value] = Object.entries(wrongClaim)[0]!;
      const variants: (() => Attempt)[] = [
        () => ({ jws: `${b64u(appendMember(h, 'alg', '"none"'))}.${b64u(c)}.` }),
        () => ({
          jws: signText(
            appendMember(
              h,
              'typ',
              JSON.stringify(
                pick(
                  otherTyps(kind).filter((x) => typeof x === 'string'),
                  p.n,
                ),
              ),
            ),
            c,
            legitKey(w, kind),
          ),
        }),
        // One copy names the legitimate key, the other the attacker's; the attacker signs.
        // (A self-signed statement whose last copy is the attacker's own key, signed by it,
        // would be the attacker's genuine statement: there the legitimate key signs instead.)
        () => ({
          jws: signText(
            appendMember(h, member, evilId),
            c,
            member === 'kid' ? evil.privateKey : legitKey(w, kind),
          ),
        }),
        () => ({
          jws: signText(
            appendMember(prependMember(h, member, evilId), member, legitId),
            c,
            evil.privateKey,
          ),
        }),
        // A claim repeated with a wrong last value, signed by the legitimate key.
        () => ({
          jws: signText(h, appendMember(c, name, JSON.stringify(value)), legitKey(w, kind)),
        }),
        // The body member repeated: a used statement and a forged one.
        () => ({
          jws: '',
          rawBody: `{"${bodyMember(kind)}":${JSON.stringify(usedOrDead(w, kind, p.n))},"${bodyMember(kind)}":${JSON.stringify(flipBit(fresh(w, kind), 2, p.bit))}}`,
        }),
      ];
      const out = pick(variants, p.v)();
      if (kind === 'dpop' && out.rawBody !== undefined) {
        // DPoP is a header: a repeated header arrives joined with ", ".
        return { jws: `${usedOf(w, kind, p.n)}, ${fresh(w, kind)}` };
      }
      return spend(kind, withBearer(kind, p, out));
    },
  },
  {
    name: 'oversized or deeply nested JSON',
    kinds: EVERY,
    build: (w, kind, p) => {
      const evil = attacker(w, p);
      const t = template(w, kind);
      const depth = 100 + (p.n % 6000);
      const variants: (() => Attempt)[] = [
        // Over the 8 KiB limit, even signed by the legitimate key (not for the server's own).
        () => ({
          jws: fresh(
            w,
            kind,
            {},
            { pad: 'x'.repeat(8192 + (p.n % 8192)) },
            kind === 'session-jwt' ? evil.privateKey : undefined,
          ),
        }),
        () => ({
          jws: signText(
            appendMember(JSON.stringify(t.header), 'n', nested(depth)),
            JSON.stringify(t.claims),
            evil.privateKey,
          ),
        }),
        () => ({
          jws: signText(
            JSON.stringify(t.header),
            appendMember(JSON.stringify(t.claims), 'n', nested(depth)),
            evil.privateKey,
          ),
        }),
        () => ({
          jws: '',
          rawBody: `{"${bodyMember(kind)}":${nested(depth, JSON.stringify(fresh(w, kind)))}}`,
        }),
        () => ({
          jws: '',
          rawBody: nested(depth, `{"${bodyMember(kind)}":${JSON.stringify(fresh(w, kind))}}`),
        }),
        () => ({
          jws: '',
          rawBody: `{"${bodyMember(kind)}":${JSON.stringify(usedOrDead(w, kind, p.n))},"pad":"${'x'.repeat(16_384 + (p.n % 10_000))}"}`,
        }),
      ];
      const out = pick(variants, p.v)();
      if (kind === 'dpop' && out.rawBody !== undefined) {
        return { jws: `${fresh(w, kind, { pad: 'x'.repeat(8192) })}` };
      }
      return spend(kind, withBearer(kind, p, out));
    },
  },
  {
    name: 'non-canonical base64url',
    kinds: EVERY,
    build: (w, kind, p) => {
      const how = pick(['pad', 'std', 'bits', 'space'] as const, p.v);
      if (p.k % 3 !== 0) {
        // Header or payload of a fresh statement: the signature covers the text as sent.
        const which = (p.k % 2) as 0 | 1;
        const jws = fresh(w, kind);
        return spend(
          kind,
          withBearer(kind, p, {
            jws: nonCanonical(jws, which, how, p.n) ?? nonCanonical(jws, which, 'pad')!,
          }),
        );
      }
      // The signature of a spent statement, spelled otherwise: still the same statement.
      const used = usedOrDead(w, kind, p.n);
      return spend(
        kind,
        withBearer(kind, p, {
          jws: nonCanonical(used, 2, how, p.n) ?? nonCanonical(used, 2, 'pad')!,
        }),
      );
    },
  },
  {
    name: 'high-s (malleated) ECDSA',
    kinds: EVERY,
    build: (w, kind, p) => {
      if (kind === 'attestation' && p.v % 3 === 0) return { jws: highS(w.chain.at(-1)!.jws) };
      if (p.v % 3 === 1)
        return spend(kind, withBearer(kind, p, { jws: highS(flipBit(fresh(w, kind), 1, p.bit)) }));
      return spend(
        kind,
        withBearer(kind, p, { jws: highS(usedOrDead(w, kind, p.k)), app: p.k % 2 ? 'a' : 'b' }),
      );
    },
  },
  {
    name: 'unicode edge cases',
    kinds: EVERY,
    build: (w, kind, p) => {
      const t = template(w, kind);
      const self = kind === 'session-jwt' ? attacker(w, p).privateKey : legitKey(w, kind);
      const odd =
        pick(
          ['\ud800', '\udfff', '\u0000', '\u202e', '\u200b', '\ufeff', '\u0301', '\uffff', p.s],
          p.k,
        ) || '\u0000';
      const variants: (() => Attempt)[] = [
        // A required header member renamed with a look-alike letter.
        () => {
          const name = pick(['alg', 'typ', keyMember(kind)], p.n);
          const header = { ...t.header, [homoglyph(name)!]: t.header[name] };
          delete header[name];
          return { jws: signJson(header, t.claims, self) };
        },
        // A required claim renamed with a look-alike letter.
        () => {
          const names = Object.keys(t.claims).filter(
            (n) => homoglyph(n) !== undefined && n !== 'mv',
          );
          const name = pick(names, p.n);
          const claims = { ...t.claims, [homoglyph(name)!]: t.claims[name] };
          delete claims[name];
          return {
            jws: signJson(t.header, claims, kind === 'session-jwt' ? self : legitKey(w, kind)),
          };
        },
        // An odd code point inside a value the server matches exactly.
        () => {
          const header = { ...t.header };
          const claims = { ...t.claims };
          const target = pick(UNICODE_TARGETS[kind], p.n);
          const into = target in header ? header : claims;
          into[target] = `${String(into[target])}${distinct(target, odd)}`;
          return { jws: signJson(header, claims, self) };
        },
        // Bytes that are not UTF-8 at the end of typ.
        () => {
          const h = Buffer.concat([
            Buffer.from(
              JSON.stringify({ ...t.header, typ: undefined }).slice(0, -1) + ',"typ":"' + TYP[kind],
            ),
            Buffer.from(pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x80]], p.n)),
            Buffer.from('"}'),
          ]);
          const input = `${h.toString('base64url')}.${b64u(JSON.stringify(t.claims))}`;
          return { jws: `${input}.${es256(input, self)}` };
        },
        // A body member renamed with a look-alike, or a BOM before the body, with a valid statement.
        () => ({
          jws: '',
          rawBody: pick(
            [
              `{"${homoglyph(bodyMember(kind))}":${JSON.stringify(usedOrDead(w, kind, p.n))}}`,
              `\ufeff{"${bodyMember(kind)}":${JSON.stringify(usedOrDead(w, kind, p.n))}}`,
              `{"${bodyMember(kind)}\u0000":${JSON.stringify(usedOrDead(w, kind, p.n))}}`,
            ],
            p.n,
          ),
        }),
      ];
      const out = pick(variants, p.v)();
      if (kind === 'dpop' && out.rawBody !== undefined)
        return { jws: fresh(w, kind, { typ: `dpop+jwt${odd}` }) };
      return spend(kind, withBearer(kind, p, out));
    },
  },
  {
    name: 'DPoP for another request (htm, htu)',
    kinds: ['dpop'],
    build: (w, kind, p) => {
      const path = `/v1/device/sessions/${w.victimSession.sid}`;
      const claims = pick<Obj>(
        [
          { htm: pick(['get', 'POST', 'HEAD', 'DELETE', ' GET', 'GET '], p.n) },
          { htu: `${w.a.issuer}/v1/device/enrollments` },
          { htu: `${w.a.issuer}/v1/device/sessions/${w.peerSession.sid}` },
          { htu: `https://evil.example${path}` },
          { htu: `${w.a.issuer.replace('http:', 'https:')}${path}` },
          { htu: `${w.a.issuer.replace('//', '//user:pw@')}${path}` },
          { htu: `${w.a.issuer}${path}/` },
          { htu: `${w.a.issuer}${path.replace('/v1', '/v2')}` },
          { htu: `${w.a.issuer}:8443${path}` },
          { htu: path },
          { htu: `${w.a.issuer}${path.replaceAll('/', '%2F')}` },
          { htu: p.s },
        ],
        p.v,
      );
      return { jws: fresh(w, kind, {}, claims) };
    },
  },
];

/**
 * `odd` as a suffix that really changes `target`: enrollment codes ignore spaces of any kind
 * and hyphens (Crockford normalisation of a human-typed code), and a URI's query, fragment,
 * dot segments and backslashes (read as `/`) are equivalences RFC 9449 allows, not refusals.
 */
function distinct(target: string, odd: string): string {
  const kept =
    target === 'code'
      ? odd.replace(/[\s-]/gu, '')
      : target === 'htu'
        ? odd.replace(/[?#/.\\%]/gu, '')
        : odd;
  return kept === '' ? '\u0000' : kept;
}

/** Exact-match values per kind that the unicode class spoils. */
const UNICODE_TARGETS: Record<Kind, string[]> = {
  attestation: ['kid', 'typ', 'alg', 'sid'],
  binding: ['kid', 'typ', 'alg', 'sid', 'chal'],
  dpop: ['typ', 'alg', 'htm', 'htu'],
  enrollment: ['typ', 'alg', 'code'],
  rotation: ['typ', 'alg', 'old'],
  'session-jwt': ['kid', 'typ', 'alg'],
};

/** The body member carrying the statement. */
export function bodyMember(kind: Kind): string {
  switch (kind) {
    case 'attestation':
      return 'attestation';
    case 'binding':
      return 'binding';
    case 'enrollment':
      return 'enrollment';
    case 'rotation':
      return 'rotation';
    case 'session-jwt':
      return 'token';
    case 'dpop':
      return 'dpop';
  }
}

/** A spent statement (a dead token for session JWTs). */
function usedOrDead(w: World, kind: Kind, i: number): string {
  return kind === 'session-jwt' ? pick(w.deadTokens, i) : usedOf(w, kind, i);
}
