// Keys of the audit log: the gateway's private key that signs checkpoints, and the public keys a
// verifier trusts. A key is a JWK, a JWKS (verification), or a PEM (PKCS#8 private, SPKI public).
// The key id of a checkpoint is the RFC 7638 thumbprint of the public key, so a verifier finds
// the right key in a JWKS whatever `kid` the file holds.

import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

export class AuditKeyError extends Error {}

export interface SigningKey {
  key: KeyObject;
  alg: string;
  /** RFC 7638 thumbprint (SHA-256, base64url) of the public key */
  kid: string;
  /** the public half, as a JWK with `kid` and `alg`, for publishing */
  publicJwk: JWK;
}

export interface VerificationKey {
  key: KeyObject;
  kid: string;
  algs: string[];
}

/** Asymmetric algorithms only: a checkpoint must be verifiable by parties who cannot sign. */
export const CHECKPOINT_ALGORITHMS = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

function algorithmsFor(key: KeyObject, declared?: string): string[] {
  const type = key.asymmetricKeyType;
  let algs: string[];
  if (type === 'ed25519') algs = ['EdDSA'];
  else if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    algs = curve === 'prime256v1' ? ['ES256'] : curve === 'secp384r1' ? ['ES384'] : curve === 'secp521r1' ? ['ES512'] : [];
  } else if (type === 'rsa') algs = ['RS256', 'PS256', 'RS384', 'PS384', 'RS512', 'PS512'];
  else if (type === 'rsa-pss') algs = ['PS256', 'PS384', 'PS512'];
  else algs = [];
  if (algs.length === 0) throw new AuditKeyError(`unsupported key type ${type ?? 'unknown'}: use Ed25519, P-256, P-384, P-521 or RSA`);
  if (declared !== undefined) {
    if (!algs.includes(declared)) throw new AuditKeyError(`the key's alg ${declared} does not fit a ${type} key`);
    return [declared];
  }
  return algs;
}

function publicJwkOf(key: KeyObject): JWK {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' }) as JWK;
  return jwk;
}

async function thumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicJwkOf(key));
}

function looksLikePem(text: string): boolean {
  return /-----BEGIN [A-Z ]+-----/.test(text);
}

function parseJson(text: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new AuditKeyError(`${what} is neither a JWK (JSON) nor a PEM key`);
  }
}

/** The gateway's signing key from the text of a private JWK or a PKCS#8 / SEC1 / PKCS#1 PEM. */
export async function loadSigningKey(text: string): Promise<SigningKey> {
  let key: KeyObject;
  let declared: string | undefined;
  const trimmed = text.trim();
  try {
    if (looksLikePem(trimmed)) key = createPrivateKey({ key: trimmed, format: 'pem' });
    else {
      const jwk = parseJson(trimmed, 'the audit signing key');
      if (typeof jwk.d !== 'string') throw new AuditKeyError('the audit signing key is a public key: the gateway needs the private key');
      declared = typeof jwk.alg === 'string' ? jwk.alg : undefined;
      key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    }
  } catch (e) {
    if (e instanceof AuditKeyError) throw e;
    throw new AuditKeyError(`the audit signing key cannot be read (${(e as Error).message})`);
  }
  if (key.type !== 'private') throw new AuditKeyError('the audit signing key is not a private key');
  const alg = algorithmsFor(key, declared)[0];
  const kid = await thumbprint(key);
  const publicJwk: JWK = { ...publicJwkOf(key), kid, alg, use: 'sig' };
  return { key, alg, kid, publicJwk };
}

async function verificationKey(key: KeyObject, declared?: string): Promise<VerificationKey> {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return { key: pub, kid: await thumbprint(pub), algs: algorithmsFor(pub, declared) };
}

/**
 * Trusted keys from the text of a public (or private) JWK, a JWKS, or a PEM holding one key.
 * Symmetric keys are refused: whoever can verify with them can forge.
 */
export async function loadVerificationKeys(text: string): Promise<VerificationKey[]> {
  const trimmed = text.trim();
  try {
    if (looksLikePem(trimmed)) {
      const isPrivate = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(trimmed);
      const key = isPrivate ? createPrivateKey({ key: trimmed, format: 'pem' }) : createPublicKey({ key: trimmed, format: 'pem' });
      return [await verificationKey(key)];
    }
    const obj = parseJson(trimmed, 'the key file');
    const list = Array.isArray(obj.keys) ? (obj.keys as Record<string, unknown>[]) : [obj];
    const out: VerificationKey[] = [];
    for (const jwk of list) {
      if (jwk.kty === 'oct') throw new AuditKeyError('a symmetric key cannot verify checkpoints');
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      const key = createPublicKey({ key: pub as JsonWebKey, format: 'jwk' });
      out.push(await verificationKey(key, typeof jwk.alg === 'string' ? jwk.alg : undefined));
    }
    if (out.length === 0) throw new AuditKeyError('the JWKS holds no key');
    return out;
  } catch (e) {
    if (e instanceof AuditKeyError) throw e;
    throw new AuditKeyError(`the key cannot be read (${(e as Error).message})`);
  }
}
