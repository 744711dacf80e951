// Session records as a compiled policy's `audit` block configures them: the signing key and the
// collector token read from their secrets, the recorder opened on the directory, and the
// forwarder fed by it. This is what `pamc serve` calls; the gateway then uses `recorder`.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CompiledAudit } from '../../spec/compiled-policy.ts';
import { readSecret } from '../gateway/secrets.ts';
import { Forwarder } from './forward.ts';
import { loadSigningKey } from './keys.ts';
import { openRecorder, type Recorder } from './recorder.ts';

export interface AuditSetup {
  recorder: Recorder;
  forwarder: Forwarder | null;
  /** the public key verifiers need (`pamc audit verify --key`) */
  publicJwk: Record<string, unknown>;
  /** closes the recorder (final checkpoint), then the forwarder */
  close(): Promise<void>;
}

export async function openAudit(audit: CompiledAudit, root: string, opts: { version?: string | null } = {}): Promise<AuditSetup> {
  const dir = resolve(root, audit.dir);
  const key = await loadSigningKey(await readSecret(audit.key, root));
  let forwarder: Forwarder | null = null;
  if (audit.forward) {
    const token = await readSecret(audit.forward.token, root);
    const ca = audit.forward.ca ? await readFile(resolve(root, audit.forward.ca), 'utf8') : undefined;
    forwarder = new Forwarder({ url: audit.forward.url, token, dir, ca });
  }
  const recorder = await openRecorder({
    dir,
    key,
    rotate: { maxBytes: audit.rotate.maxBytes, maxAgeMs: audit.rotate.maxAgeSeconds * 1000 },
    checkpoint: { everyMs: audit.checkpoint.everySeconds * 1000, everyRecords: audit.checkpoint.everyRecords },
    onFailure: audit.onFailure,
    version: opts.version ?? null,
    onWritten: forwarder ? (w) => forwarder.offer(w) : undefined,
  });
  await forwarder?.start();
  return {
    recorder,
    forwarder,
    publicJwk: key.publicJwk as Record<string, unknown>,
    async close() {
      try {
        await recorder.close();
      } finally {
        if (forwarder) {
          await forwarder.flush(5000);
          await forwarder.close();
        }
      }
    },
  };
}
