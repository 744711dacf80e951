// A temporary folder of policies and test files for the runner's tests.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runTestFiles, type RunResult } from '../../../bin/policy-tests/run.ts';
import type { ReportOptions } from '../../../bin/policy-tests/report-common.ts';

export const HEADER = `policy "test"
identity {
  issuer "https://idp.example.com/"
  audience "pamc"
  jwks file "jwks.json"
}
`;

/**
 * The shop policy the runner tests use. Line numbers matter: cases name them.
 *   12 allow read     13 mask email   14 mask ssn   15 limit 1000
 *   20 allow read orders   21 allow update   22 approve unbounded
 *   28 deny drop…   29 deny dangerous functions
 */
export const SHOP = `${HEADER}
target shop: postgres { embedded }

group "analysts" {
  on shop {
    allow read on public.*
    mask public.customers.email with email
    mask public.customers.ssn with redact
    limit rows 1000
  }
}
group "operators" {
  on shop {
    allow read on public.orders
    allow update on public.orders
    approve update, delete on public.* when unbounded by "approvers"
  }
}
group "approvers" {}

on shop {
  deny drop, truncate, dcl, admin
  deny call on dangerous_functions
}
`;

export interface Workspace {
  dir: string;
  write(path: string, text: string | Buffer): string;
  run(...paths: string[]): Promise<RunResult>;
  remove(): void;
}

export function workspace(files: Record<string, string> = {}): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'pamc-test-'));
  const write = (path: string, text: string | Buffer) => {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
    return full;
  };
  for (const [p, t] of Object.entries(files)) write(p, t);
  return {
    dir,
    write,
    run: (...paths) => runTestFiles(paths.map((p) => join(dir, p)), dir),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const OPTIONS: ReportOptions = { coverage: false, minCoverage: null, verbose: false, color: false, version: 'test' };
