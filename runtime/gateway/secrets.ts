// Secrets named by a policy (`env "NAME"`, `file "path"`), read when they are needed so a
// rotated file or variable takes effect on the next connection. Errors name the source,
// never the value.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SecretSource } from '../../spec/compiled-policy.ts';

export class SecretError extends Error {}

export async function readSecret(source: SecretSource, root: string): Promise<string> {
  if ('env' in source) {
    const value = process.env[source.env];
    if (value === undefined || value === '') throw new SecretError(`the environment variable ${source.env} is not set`);
    return value;
  }
  try {
    // A trailing newline is an artefact of how the file was written, not part of the secret.
    return (await readFile(resolve(root, source.file), 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    throw new SecretError(`cannot read the secret file ${source.file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
