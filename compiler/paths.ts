// File references inside a policy (`jwks file "keys/jwks.json"`, `embedded seed "seed.sql"`)
// are relative to the file that names them; the compiled policy holds them relative to the
// policy root, so the same policy compiles to the same bytes on every machine.

import { posix } from 'node:path';

/** `from` is the referring file's path relative to the root; absolute references stay absolute. */
export function relativeToRoot(from: string, reference: string): string {
  if (posix.isAbsolute(reference)) return posix.normalize(reference);
  return posix.normalize(posix.join(posix.dirname(from), reference));
}
