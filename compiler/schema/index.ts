// `pamc check --schema`: schema dumps read once, then checked against the compiled policy.
// `--schema file` applies to every postgres target; `--schema target=file` to one.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { PolicyCheck } from '../index.ts';
import { checkSchemas, type TargetSchema } from './check.ts';
import { parseSchemaDump, SchemaError } from './dump.ts';

export { SchemaError } from './dump.ts';

export interface SchemaSpec {
  /** null: every postgres target */
  target: string | null;
  file: string;
}

export function parseSchemaSpec(spec: string): SchemaSpec {
  const m = /^([A-Za-z_][A-Za-z0-9_$]*)=(.+)$/.exec(spec);
  if (m && !existsSync(spec)) return { target: m[1].toLowerCase(), file: m[2] };
  return { target: null, file: spec };
}

export async function loadSchemas(specs: string[]): Promise<{ target: string | null; schema: TargetSchema }[]> {
  const out: { target: string | null; schema: TargetSchema }[] = [];
  for (const spec of specs.map(parseSchemaSpec)) {
    let text: string;
    try {
      text = await readFile(spec.file, 'utf8');
    } catch (e) {
      throw new SchemaError(`cannot read the schema file \`${spec.file}\` (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    out.push({ target: spec.target, schema: { schema: await parseSchemaDump(text, spec.file), name: basename(spec.file) } });
  }
  return out;
}

/** A check for compileFiles; it throws SchemaError when `target=` names no postgres target. */
export async function schemaCheck(specs: string[]): Promise<PolicyCheck> {
  const loaded = await loadSchemas(specs);
  return (policy, files, builtins) => {
    const postgres = Object.entries(policy.targets).filter(([, t]) => t.kind === 'postgres').map(([n]) => n);
    const byTarget = new Map<string, TargetSchema>();
    for (const { target, schema } of loaded) {
      if (target === null) {
        if (postgres.length === 0) throw new SchemaError('the policy has no postgres target to check the schema against');
        for (const n of postgres) if (!byTarget.has(n)) byTarget.set(n, schema);
      } else {
        if (!postgres.includes(target)) {
          throw new SchemaError(`\`--schema ${target}=…\`: the policy has no postgres target \`${target}\`${postgres.length > 0 ? ` (targets: ${postgres.join(', ')})` : ''}`);
        }
        byTarget.set(target, schema);
      }
    }
    // a schema given for one target wins over one given for all
    for (const { target, schema } of loaded) if (target !== null) byTarget.set(target, schema);
    return checkSchemas(policy, files, builtins, byTarget);
  };
}
