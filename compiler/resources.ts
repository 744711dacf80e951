// Resolving a rule's resources to canonical keys (spec/language.md §4): sets expand, unqualified
// names resolve through the target's search path as PostgreSQL resolves them, identifiers fold.

import type { Ident, Path, Resource, SetDecl, Star } from '../language/ast.ts';
import type { BuiltinSetKind } from './builtins.ts';
import type { CompileContext, Located } from './context.ts';
import { foldIdent, keyPart, MAX_IDENTIFIER_BYTES, qualifiedKey, serverIdentifier } from './names.ts';
import { didYouMean } from './suggest.ts';
import { GLOBAL_OBJECT_KINDS, type ResourceKind } from './taxonomy.ts';

export interface ResolveScope {
  ctx: CompileContext;
  file: string;
  sets: Map<string, Located<SetDecl>>;
  usedSets: Set<string>;
  searchPath: readonly string[];
}

const isStar = (p: Ident | Star): p is Star => p.kind === 'Star';

/**
 * A name part of a resource, folded and cut as PostgreSQL keeps it (63 bytes): a rule naming a
 * longer relation, column or schema would otherwise never meet the name the server holds.
 */
function partValue(scope: ResolveScope, p: Ident | Star): string {
  if (isStar(p)) return '*';
  const folded = foldIdent(p);
  const kept = serverIdentifier(folded);
  if (kept !== folded) {
    scope.ctx.warn('PAM3008', scope.file, p.span, `PostgreSQL keeps the first ${MAX_IDENTIFIER_BYTES} bytes of a name: this is \`${kept}\``, {
      help: 'write the name as the server holds it',
    });
  }
  return kept;
}

/** Builtin set kinds that may stand for resources of a resource kind. */
const SET_KINDS_FOR: Partial<Record<ResourceKind, BuiltinSetKind[]>> = {
  relation: ['relation'],
  function: ['function'],
  object: ['relation', 'function'],
  setting: ['setting'],
};

/**
 * Unqualified names: PostgreSQL searches pg_catalog first (unless the path places it), then the
 * path. The classifier emits one fact per schema the name could resolve to, so a rule naming
 * it covers the same candidates.
 */
export function searchCandidates(name: string, inCatalog: boolean, searchPath: readonly string[]): string[] {
  const explicit = searchPath.indexOf('pg_catalog');
  const path = explicit >= 0 ? searchPath : ['pg_catalog', ...searchPath];
  const out: string[] = [];
  for (const schema of path) {
    if (schema === 'pg_catalog') {
      if (inCatalog) {
        out.push(qualifiedKey('pg_catalog', name));
        break;
      }
      continue;
    }
    out.push(qualifiedKey(schema, name));
  }
  return out;
}

/** Keys of a schema-scoped name (`t`, `s.t`, `s.*`, `*`). */
function schemaScopedKeys(scope: ResolveScope, path: Path, kind: ResourceKind): string[] | null {
  const { ctx, file } = scope;
  const parts = path.parts;
  const starAt = parts.findIndex(isStar);
  if (starAt >= 0 && starAt !== parts.length - 1) {
    ctx.error('PAM2007', file, parts[starAt].span, '`*` can only be the last part of a name', {
      help: 'write `schema.*` for everything in a schema, or `*` for everything',
    });
    return null;
  }
  if (parts.length > 2) {
    ctx.error('PAM2007', file, path.span, `a ${kind === 'function' ? 'function' : 'relation'} is written \`schema.name\` or \`name\``);
    return null;
  }
  if (parts.length === 2) {
    const schema = partValue(scope, parts[0]);
    return isStar(parts[1]) ? [`${keyPart(schema)}.*`] : [qualifiedKey(schema, partValue(scope, parts[1]))];
  }
  if (isStar(parts[0])) return ['*'];
  const name = partValue(scope, parts[0]);
  const b = scope.ctx.builtins;
  const inCatalog = kind === 'function' ? b.catalogFunctions.has(name) : b.catalogRelations.has(name);
  return searchCandidates(name, inCatalog, scope.searchPath);
}

/** Keys of a one-part resource (settings, channels, files, commands, ...). */
function singleKey(scope: ResolveScope, path: Path, kind: ResourceKind): string[] | null {
  const { ctx, file } = scope;
  if (kind === 'setting') {
    // Custom settings have dotted names (`myapp.tenant`); setting names are case-insensitive.
    const starAt = path.parts.findIndex(isStar);
    if (starAt >= 0 && starAt !== path.parts.length - 1) {
      ctx.error('PAM2007', file, path.parts[starAt].span, '`*` can only be the last part of a name');
      return null;
    }
    return [path.parts.map((p) => (isStar(p) ? '*' : p.value.toLowerCase())).join('.')];
  }
  if (path.parts.length !== 1) {
    ctx.error('PAM2007', file, path.span, `a ${kind} is one name, not a dotted path`);
    return null;
  }
  const p = path.parts[0];
  if (isStar(p)) return ['*'];
  if (kind === 'channel' || kind === 'language') return [keyPart(partValue(scope, p))];
  // files, programs, commands, paths, addresses, kubernetes resources: as written
  return [p.value];
}

/** Resolves one resource for actions of `kind` to canonical keys; null after reporting an error. */
export function resolveResource(scope: ResolveScope, resource: Resource, kind: ResourceKind, seen: string[] = []): string[] | null {
  const { ctx, file } = scope;
  const { path } = resource;

  if (resource.objectKind) {
    const word = foldIdent(resource.objectKind);
    if (kind !== 'object') {
      ctx.error('PAM2007', file, resource.objectKind.span, `\`${word} …\` names an object that DDL acts on; this action takes a ${kind}`);
      return null;
    }
    if (!GLOBAL_OBJECT_KINDS.includes(word)) {
      ctx.error('PAM2008', file, resource.objectKind.span, `unknown object kind \`${word}\``, {
        help: didYouMean(word, GLOBAL_OBJECT_KINDS) ?? `one of ${GLOBAL_OBJECT_KINDS.join(', ')}`,
      });
      return null;
    }
    if (path.parts.length !== 1) {
      ctx.error('PAM2007', file, path.span, `a ${word} is one name`);
      return null;
    }
    const p = path.parts[0];
    return [`${word} ${isStar(p) ? '*' : keyPart(partValue(scope, p))}`];
  }

  // A one-part name that is a set stands for the set's members.
  if (path.parts.length === 1 && !isStar(path.parts[0]) && !path.parts[0].quoted) {
    const name = foldIdent(path.parts[0]);
    const userSet = scope.sets.get(name);
    if (userSet) {
      scope.usedSets.add(name);
      if (seen.includes(name)) {
        ctx.error('PAM1012', file, path.span, `set \`${name}\` contains itself`, {
          help: `through ${[...seen, name].map((s) => `\`${s}\``).join(' → ')}`,
        });
        return null;
      }
      const keys: string[] = [];
      let ok = true;
      const memberScope = { ...scope, file: userSet.file };
      for (const member of userSet.node.members) {
        const k = resolveResource(memberScope, member, kind, [...seen, name]);
        if (k) keys.push(...k);
        else ok = false;
      }
      return ok ? keys : null;
    }
    const builtin = ctx.builtins.sets.get(name);
    if (builtin) {
      const allowed = SET_KINDS_FOR[kind] ?? [];
      if (!allowed.includes(builtin.kind)) {
        ctx.error('PAM2007', file, path.span, `\`${name}\` is a set of ${builtin.kind}s; this action takes a ${kind}`);
        return null;
      }
      return [...builtin.members];
    }
  }

  switch (kind) {
    case 'relation':
    case 'function':
    case 'object':
      return schemaScopedKeys(scope, path, kind);
    case 'none':
      ctx.error('PAM2007', file, resource.span, 'this action takes no resource');
      return null;
    default:
      return singleKey(scope, path, kind);
  }
}

/** A column path: `table.column`, `schema.table.column`, `table.*`; or the name of a set of them. */
export function resolveColumns(
  scope: ResolveScope,
  path: Path,
  seen: string[] = [],
): { relation: string; column: string }[] | null {
  const { ctx, file } = scope;
  const parts = path.parts;
  if (parts.length === 1) {
    const p = parts[0];
    const name = isStar(p) ? '*' : foldIdent(p);
    const userSet = isStar(p) || p.quoted ? undefined : scope.sets.get(name);
    if (!userSet) {
      ctx.error('PAM1008', file, path.span, `\`${name}\` is neither a column nor a set`, {
        help: didYouMean(name, scope.sets.keys()) ?? 'write `table.column` or `schema.table.column`',
      });
      return null;
    }
    scope.usedSets.add(name);
    if (seen.includes(name)) {
      ctx.error('PAM1012', file, path.span, `set \`${name}\` contains itself`);
      return null;
    }
    const out: { relation: string; column: string }[] = [];
    let ok = true;
    const memberScope = { ...scope, file: userSet.file };
    for (const member of userSet.node.members) {
      if (member.objectKind) {
        ctx.error('PAM2010', userSet.file, member.span, 'a set used by `mask` holds columns');
        ok = false;
        continue;
      }
      const cols = resolveColumns(memberScope, member.path, [...seen, name]);
      if (cols) out.push(...cols);
      else ok = false;
    }
    return ok ? out : null;
  }
  if (parts.length > 3) {
    ctx.error('PAM2010', file, path.span, 'a column is written `table.column` or `schema.table.column`');
    return null;
  }
  const tableParts = parts.slice(0, -1);
  for (const p of tableParts) {
    if (isStar(p)) {
      ctx.error('PAM2010', file, p.span, 'masks name their tables: `*` can only stand for the columns', {
        help: 'write `table.*` to mask every column of a table',
      });
      return null;
    }
  }
  const column = partValue(scope, parts[parts.length - 1]);
  const table = partValue(scope, tableParts[tableParts.length - 1]);
  const relations =
    tableParts.length === 2 ? [qualifiedKey(partValue(scope, tableParts[0]), table)] : searchCandidates(table, ctx.builtins.catalogRelations.has(table), scope.searchPath);
  return relations.map((relation) => ({ relation, column }));
}
