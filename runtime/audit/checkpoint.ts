// Checkpoints: a compact JWS over the log id, segment, the seq and hash of the record before the
// checkpoint, the count of records so far, the time and the reason (spec/audit.md §4).

import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import { CHECKPOINT_ALGORITHMS, type SigningKey, type VerificationKey } from './keys.ts';
import type { CheckpointPayload, CheckpointReason } from './records.ts';

export const CHECKPOINT_TYP = 'pamc-audit-checkpoint';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The payload's bytes: keys in a fixed order, so the same checkpoint always signs the same bytes. */
export function payloadJson(p: CheckpointPayload): string {
  return JSON.stringify({ log: p.log, segment: p.segment, seq: p.seq, hash: p.hash, count: p.count, ts: p.ts, reason: p.reason });
}

export async function signCheckpoint(key: SigningKey, payload: CheckpointPayload): Promise<string> {
  return new CompactSign(encoder.encode(payloadJson(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CHECKPOINT_TYP })
    .sign(key.key);
}

const REASONS: readonly CheckpointReason[] = ['interval', 'count', 'rotate', 'close', 'manual'];

/** The payload of a compact JWS without checking its signature, or why it is not one. */
export function readCheckpoint(jws: string): { payload: CheckpointPayload; kid: string | null; alg: string } | { error: string } {
  const parts = jws.split('.');
  if (parts.length !== 3) return { error: 'the checkpoint is not a compact JWS' };
  let header: { alg?: unknown; kid?: unknown; typ?: unknown };
  let payload: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jws);
    payload = JSON.parse(decoder.decode(Buffer.from(parts[1], 'base64url'))) as Record<string, unknown>;
  } catch {
    return { error: 'the checkpoint JWS cannot be decoded' };
  }
  if (typeof header.alg !== 'string' || !CHECKPOINT_ALGORITHMS.includes(header.alg)) {
    return { error: `the checkpoint is signed with ${JSON.stringify(header.alg)}, not an asymmetric algorithm` };
  }
  if (header.typ !== CHECKPOINT_TYP) return { error: 'the checkpoint JWS is not of type pamc-audit-checkpoint' };
  const p = payload;
  const ok =
    typeof p.log === 'string' &&
    Number.isSafeInteger(p.segment) &&
    Number.isSafeInteger(p.seq) &&
    typeof p.hash === 'string' &&
    Number.isSafeInteger(p.count) &&
    typeof p.ts === 'string' &&
    REASONS.includes(p.reason as CheckpointReason);
  if (!ok) return { error: 'the checkpoint payload lacks a field' };
  const checked = p as unknown as CheckpointPayload;
  if (payloadJson(checked) !== decoder.decode(Buffer.from(parts[1], 'base64url'))) return { error: 'the checkpoint payload is not in canonical form' };
  return { payload: checked, kid: typeof header.kid === 'string' ? header.kid : null, alg: header.alg };
}

/** Verifies a checkpoint's signature against the trusted keys: the key whose thumbprint is its kid. */
export async function verifyCheckpointSignature(jws: string, kid: string | null, keys: readonly VerificationKey[]): Promise<string | null> {
  const candidates = kid === null ? keys : keys.filter((k) => k.kid === kid);
  if (candidates.length === 0) return `signed by key ${kid ?? '(no kid)'}, which is not among the trusted keys`;
  for (const k of candidates) {
    try {
      await compactVerify(jws, k.key, { algorithms: k.algs });
      return null;
    } catch {
      // try the next key with that id
    }
  }
  return 'the signature does not verify';
}
