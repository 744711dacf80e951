// Verifying an agent's OIDC token (a JWT) against the policy's identity block: signature by a
// key of the JWKS (a file, or a URL fetched, cached and refreshed on an unknown key id), issuer,
// audience, expiry and not-before with the configured skew, and an allowlist of algorithms.
// Failures carry a short public reason for the client and a detail for the gateway's log only;
// neither ever contains the token.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { CompiledIdentity } from '../../spec/compiled-policy.ts';
import type { Identity } from '../policy/principal.ts';

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export type TokenFailure = 'malformed' | 'expired' | 'not_yet_valid' | 'rejected' | 'unavailable';

export class TokenError extends Error {
  /** short, safe to show the client */
  readonly reason: TokenFailure;
  /** for the gateway's log */
  readonly detail: string;
  constructor(reason: TokenFailure, detail: string) {
    super(PUBLIC_MESSAGES[reason]);
    this.reason = reason;
    this.detail = detail;
  }
}

const PUBLIC_MESSAGES: Record<TokenFailure, string> = {
  malformed: 'the password is not a valid token',
  expired: 'the token has expired',
  not_yet_valid: 'the token is not valid yet',
  rejected: 'the token was not accepted',
  unavailable: 'the identity provider keys are unavailable',
};

export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}

/** Creates a verifier for an identity block. `root` resolves a JWKS file path. */
export async function createTokenVerifier(identity: CompiledIdentity, root: string): Promise<TokenVerifier> {
  let keys: JWTVerifyGetKey;
  if ('file' in identity.jwks) {
    const path = resolve(root, identity.jwks.file);
    let jwks: unknown;
    try {
      jwks = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new Error(`cannot read the JWKS file ${identity.jwks.file}: ${(e as Error).message}`);
    }
    if (!jwks || typeof jwks !== 'object' || !Array.isArray((jwks as { keys?: unknown }).keys)) {
      throw new Error(`the JWKS file ${identity.jwks.file} has no "keys" array`);
    }
    keys = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
  } else {
    keys = createRemoteJWKSet(new URL(identity.jwks.url), { cacheMaxAge: 10 * 60 * 1000, cooldownDuration: 30 * 1000, timeoutDuration: 5000 });
  }
  return {
    verify: (token) => verifyToken(token, identity, keys),
  };
}

async function verifyToken(token: string, identity: CompiledIdentity, keys: JWTVerifyGetKey): Promise<Identity> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    throw new TokenError('malformed', `not a compact JWS (length ${token.length})`);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      issuer: identity.issuer,
      audience: identity.audiences,
      algorithms: identity.algorithms,
      clockTolerance: identity.clockSkewSeconds,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (e) {
    throw classify(e);
  }
  // The subject names the identity everywhere (self-approval, retry grants, records): an empty
  // one would make every such token the same identity.
  if (typeof payload.sub !== 'string' || payload.sub.trim() === '') throw new TokenError('rejected', 'claim sub is empty');
  const groupsClaim = payload[identity.groupsClaim];
  const groups =
    typeof groupsClaim === 'string'
      ? [groupsClaim]
      : Array.isArray(groupsClaim)
        ? groupsClaim.filter((g): g is string => typeof g === 'string')
        : [];
  const agentValue = identity.agentClaim ? payload[identity.agentClaim] : undefined;
  return {
    subject: payload.sub,
    groups,
    agent: typeof agentValue === 'string' ? agentValue : null,
    claims: payload as Record<string, unknown>,
  };
}

function classify(e: unknown): TokenError {
  if (e instanceof errors.JWTExpired) return new TokenError('expired', `expired: ${e.message}`);
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return new TokenError('not_yet_valid', `not yet valid: ${e.message}`);
    return new TokenError('rejected', `claim ${e.claim} ${e.reason}: ${e.message}`);
  }
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JOSEError && e.code === 'ERR_JWKS_INVALID') {
    return new TokenError('unavailable', `${(e as Error).name}: ${(e as Error).message}`);
  }
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return new TokenError('malformed', `${e.name}: ${e.message}`);
  if (e instanceof errors.JOSEError) return new TokenError('rejected', `${e.name}: ${e.message}`);
  const err = e as Error;
  if (err && (err.name === 'TypeError' || err.name === 'AbortError')) return new TokenError('unavailable', `${err.name}: ${err.message}`);
  return new TokenError('rejected', `${err?.name ?? 'error'}: ${err?.message ?? String(e)}`);
}
