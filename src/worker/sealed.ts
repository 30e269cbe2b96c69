/**
 * Encryption at rest for what the model store keeps. One AES-GCM-256 key per profile, made with
 * WebCrypto as non-extractable and stored as a CryptoKey in the store's own IndexedDB (structured
 * clone keeps it non-extractable, like the device key): a copy of the profile's files gives the
 * records, not the key bytes. Every record is sealed with a fresh 96-bit IV and additional data
 * naming what it is (store, subject, modality), so a record moved to another subject or store
 * fails to open instead of being read as someone else's.
 */

/** A sealed value as stored: IV and ciphertext (with its 128-bit tag). */
export interface Sealed {
  iv: Uint8Array<ArrayBuffer>;
  data: ArrayBuffer;
}

export function newDataKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function seal(key: CryptoKey, value: unknown, aad: string): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(aad) },
    key,
    encoder.encode(JSON.stringify(value)),
  );
  return { iv, data };
}

/** Opens a sealed value; throws (OperationError) if the key, the IV, the data or `aad` differ. */
export async function open<T>(key: CryptoKey, sealed: Sealed, aad: string): Promise<T> {
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: sealed.iv, additionalData: encoder.encode(aad) },
    key,
    sealed.data,
  );
  return JSON.parse(decoder.decode(plain)) as T;
}
