/**
 * A software WebAuthn authenticator for the demo bank's tests: one resident P-256 credential in
 * node:crypto, authenticator data and attestation object built as WebAuthn Level 3 §6.1 and §6.5
 * say, CBOR by the library's own encoder. It answers what `navigator.credentials.create()` /
 * `.get()` followed by `toJSON()` answer in a browser. Tests only.
 *
 * @module
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/** The origin the tests serve the bank at. */
export const ORIGIN = 'http://localhost:8788';
export const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

/** A platform authenticator with one resident P-256 credential, user verification on. */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  readonly #key: KeyObject;
  readonly #publicJwk: { x: string; y: string };
  counter = 0;
  userVerified = true;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = privateKey;
    this.#publicJwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  }

  #authData(rpId: string, withCredential: boolean): Buffer {
    // UP, UV (if verified), AT (attested credential data) on registration.
    const flags = 0x01 | (this.userVerified ? 0x04 : 0) | (withCredential ? 0x40 : 0);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    const parts = [sha256(rpId), Buffer.from([flags]), count];
    if (withCredential) {
      const cose = new Map<number, number | Uint8Array>([
        [1, 2], // kty EC2
        [3, -7], // alg ES256
        [-1, 1], // crv P-256
        [-2, Buffer.from(this.#publicJwk.x, 'base64url')],
        [-3, Buffer.from(this.#publicJwk.y, 'base64url')],
      ]);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), length, this.credentialId, Buffer.from(isoCBOR.encode(cose)));
    }
    return Buffer.concat(parts);
  }

  /** `navigator.credentials.create()` → `toJSON()`. */
  create(options: { challenge: string; rp: { id?: string } }, origin = ORIGIN) {
    const clientData = Buffer.from(
      JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin }),
    );
    const attestation = new Map<string, unknown>([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', this.#authData(options.rp.id!, true)],
    ]);
    return {
      id: b64u(this.credentialId),
      rawId: b64u(this.credentialId),
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientData),
        attestationObject: b64u(isoCBOR.encode(attestation as never)),
        transports: ['internal'],
      },
    };
  }

  /** `navigator.credentials.get()` → `toJSON()`. */
  get(options: { challenge: string; rpId?: string }, origin = ORIGIN) {
    this.counter++;
    const clientData = Buffer.from(
      JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin }),
    );
    const authData = this.#authData(options.rpId!, false);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.#key);
    return {
      id: b64u(this.credentialId),
      rawId: b64u(this.credentialId),
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
      },
    };
  }
}
