// Checking the names a policy uses against a database's schema (spec/diff.md §5). Every
// relation and function a rule, set or mask names on a postgres target is resolved as the
// compiler resolves it (search path, sets, folding) and looked up in the schema dump:
//
//   PAM4011, PAM4012 (errors): a mask on a table or column that does not exist masks nothing,
//                              and the real column is then served in the clear: a silent leak
//   PAM4010, PAM4013 (warnings): a rule naming a relation or function that does not exist
//   PAM4014 (warning): `schema.*` naming a schema that does not exist
//
// Names in pg_catalog are checked against the catalog data pamc ships with; information_schema
// and pg_toast are not checked. DDL resources (`create on schema x`) are not checked: they may
// name what the statement is about to create.

import type { Path, PolicyFile, Resource, SetDecl, Span } from '../../language/ast.ts';
import type { Diagnostic } from '../../language/diagnostic.ts';
import { diagnostic } from '../../language/diagnostic.ts';
import type { CompiledPolicy } from '../../spec/compiled-policy.ts';
import type { BuiltinData } from '../builtins.ts';
import { CompileContext, type Located } from '../context.ts';
import { splitQualified } from '../keys.ts';
import { foldIdent, keyPart } from '../names.ts';
import { resolveColumns, resolveResource, type ResolveScope } from '../resources.ts';
import { nearest } from '../suggest.ts';
import { expandAction, resourceKindOf } from '../taxonomy.ts';
import type { Schema } from './dump.ts';

export interface TargetSchema {
  schema: Schema;
  /** the dump's file name, for messages */
  name: string;
}

const unquote = (part: string) => (part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part);

function onBlocks(ast: PolicyFile) {
  return ast.items.flatMap((item) => (item.kind === 'On' ? [item] : item.kind === 'Group' ? item.blocks : []));
}

type Kind = 'relation' | 'function';

export function checkSchemas(
  policy: CompiledPolicy,
  files: { path: string; ast: PolicyFile }[],
  builtins: BuiltinData,
  schemas: Map<string, TargetSchema>,
): Diagnostic[] {
  const sets = new Map<string, Located<SetDecl>>();
  for (const f of files) for (const item of f.ast.items) if (item.kind === 'Set') sets.set(foldIdent(item.name), { node: item, file: f.path });
  const scratch = new CompileContext([], builtins);
  const found = new Map<string, Diagnostic>();
  const report = (d: Diagnostic) => {
    const at = `${d.file}:${d.span.start}:${d.span.end}`;
    const previous = found.get(at);
    // an error on a name outranks a warning on the same name (a set member used by a mask and a rule)
    if (!previous || (previous.severity !== 'error' && d.severity === 'error')) found.set(at, d);
  };

  for (const f of files) {
    for (const block of onBlocks(f.ast)) {
      for (const t of block.targets) {
        const targetName = foldIdent(t);
        const target = policy.targets[targetName];
        const ts = schemas.get(targetName);
        if (!target || !ts || target.kind !== 'postgres') continue;
        const scope = (file: string): ResolveScope => ({ ctx: scratch, file, sets, usedSets: new Set(), searchPath: target.searchPath });
        const where = schemas.size > 1 || Object.keys(policy.targets).length > 1 ? ` (target \`${targetName}\`)` : '';
        const dump = `\`${ts.name}\``;

        const checkKeys = (keys: string[], kind: Kind, file: string, span: Span) => {
          const missing = keys.filter((k) => !exists(ts.schema, builtins, kind, k));
          if (missing.length === 0 || missing.length < keys.length) return;
          const key = keys[keys.length - 1];
          const q = splitQualified(key);
          if (q && q[1] === '*') {
            const s = unquote(q[0]);
            report(
              diagnostic('PAM4014', 'warning', file, span, `no schema \`${s}\` in ${dump}${where}`, {
                help: hint(nearest(s, ts.schema.schemas), 'the wildcard grants nothing today'),
              }),
            );
            return;
          }
          const code = kind === 'relation' ? 'PAM4010' : 'PAM4013';
          const what = kind === 'relation' ? 'table or view' : 'function';
          report(
            diagnostic(code, 'warning', file, span, `no ${what} \`${keys.length > 1 ? unqualified(key) : key}\` in ${dump}${where}`, {
              help: hint(suggestKey(ts.schema, builtins, kind, keys), 'the rule decides nothing for it today'),
            }),
          );
        };

        const visitResource = (resource: Resource, kind: Kind, file: string, seen: string[]) => {
          if (resource.objectKind) return;
          const parts = resource.path.parts;
          if (parts.length === 1 && parts[0].kind === 'Ident' && !parts[0].quoted) {
            const name = foldIdent(parts[0]);
            const set = sets.get(name);
            if (set) {
              if (!seen.includes(name)) for (const m of set.node.members) visitResource(m, kind, set.file, [...seen, name]);
              return;
            }
            if (builtins.sets.has(name)) return;
          }
          const keys = resolveResource(scope(file), resource, kind) ?? [];
          if (keys.length > 0 && !keys.includes('*')) checkKeys(keys, kind, file, resource.path.span);
        };

        const visitColumns = (path: Path, file: string, seen: string[]) => {
          if (path.parts.length === 1) {
            const p = path.parts[0];
            const set = p.kind === 'Ident' && !p.quoted ? sets.get(foldIdent(p)) : undefined;
            if (set && !seen.includes(foldIdent(p as never))) {
              for (const m of set.node.members) visitColumns(m.path, set.file, [...seen, foldIdent(p as never)]);
            }
            return;
          }
          const columns = resolveColumns(scope(file), path) ?? [];
          if (columns.length === 0) return;
          const relations = [...new Set(columns.map((c) => c.relation))];
          const present = relations.filter((r) => exists(ts.schema, builtins, 'relation', r));
          const column = columns[0].column;
          if (present.length === 0) {
            const key = relations[relations.length - 1];
            report(
              diagnostic('PAM4011', 'error', file, path.span, `the masked table \`${relations.length > 1 ? unqualified(key) : key}\` is not in ${dump}${where}`, {
                help: hint(suggestKey(ts.schema, builtins, 'relation', relations), 'a mask on a name that does not exist masks nothing'),
              }),
            );
            return;
          }
          if (column === '*') return;
          const known = present.map((r) => ts.schema.relations.get(r)?.columns ?? null);
          if (known.some((cols) => cols === null || cols.has(column))) return;
          const all = new Set(known.flatMap((cols) => [...cols!]));
          report(
            diagnostic('PAM4012', 'error', file, path.span, `\`${present[0]}\` has no column \`${column}\` in ${dump}${where}`, {
              help: hint(suggestColumn(column, all), 'a mask on a column that does not exist masks nothing'),
            }),
          );
        };

        for (const rule of block.rules) {
          if (rule.kind === 'Mask') {
            for (const path of rule.columns) visitColumns(path, f.path, []);
          } else if (rule.kind === 'Access') {
            const kinds = new Set<Kind>();
            for (const a of rule.actions) {
              for (const action of expandAction(target.kind, foldIdent(a)) ?? []) {
                const k = resourceKindOf(target.kind, action);
                if (k === 'relation' || k === 'function') kinds.add(k);
              }
            }
            for (const kind of kinds) for (const r of rule.resources) visitResource(r, kind, f.path, []);
          }
        }
      }
    }
  }
  return [...found.values()];
}

function exists(schema: Schema, builtins: BuiltinData, kind: Kind, key: string): boolean {
  if (key === '*') return true;
  const q = splitQualified(key);
  if (!q) return true;
  const s = unquote(q[0]);
  if (s === 'pg_catalog') {
    if (q[1] === '*') return true;
    const name = unquote(q[1]);
    return kind === 'relation' ? builtins.catalogRelations.has(name) : builtins.catalogFunctions.has(name);
  }
  if (builtins.systemSchemas.has(s)) return true;
  if (q[1] === '*') return schema.schemas.has(s);
  return kind === 'relation' ? schema.relations.has(key) : schema.functions.has(key);
}

function unqualified(key: string): string {
  const q = splitQualified(key);
  return q ? q[1] : key;
}

/** The nearest column, written as the policy must write it (quoted when it is not lower case). */
function suggestColumn(column: string, columns: Set<string>): string | undefined {
  const hit = nearest(column, columns);
  return hit === undefined ? undefined : keyPart(hit);
}

/** The nearest existing name to any of the keys, preferring the same schema. */
function suggestKey(schema: Schema, builtins: BuiltinData, kind: Kind, keys: string[]): string | undefined {
  const pool = kind === 'relation' ? [...schema.relations.keys()] : [...schema.functions];
  for (const key of keys) {
    const q = splitQualified(key);
    if (!q) continue;
    if (q[0] === 'pg_catalog') {
      const hit = nearest(unquote(q[1]), kind === 'relation' ? builtins.catalogRelations : builtins.catalogFunctions);
      if (hit) return `pg_catalog.${keyPart(hit)}`;
      continue;
    }
    const sameSchema = pool.filter((k) => splitQualified(k)?.[0] === q[0]);
    const hit = nearest(q[1], sameSchema.map((k) => splitQualified(k)![1]));
    if (hit) return `${q[0]}.${hit}`;
  }
  return nearest(keys[keys.length - 1], pool);
}

function hint(suggestion: string | undefined, otherwise: string): string {
  return suggestion ? `did you mean \`${suggestion}\`? ${otherwise}` : otherwise;
}
