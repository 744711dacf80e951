// Compiling policies held in memory, for tests: `{ 'policy.pam': text, ... }` → CompileOutput.

import { compileFiles, type CompileOutput } from '../../compiler/index.ts';
import { decodeSource } from '../../language/source.ts';

export function compileTexts(files: Record<string, string>): CompileOutput {
  return compileFiles(
    Object.entries(files).map(([path, text]) => ({
      path,
      display: path,
      source: decodeSource(Buffer.from(text, 'utf8'), path),
    })),
  );
}

/** A policy header and identity block, so cases can focus on their rules. */
export const HEADER = `policy "test"
identity {
  issuer "https://idp.example.com/"
  audience "pamc"
  jwks file "jwks.json"
}
`;
