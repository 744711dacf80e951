// The `identity` block: how the gateway verifies an agent's OIDC token.

import type { IdentitySetting } from '../language/ast.ts';
import type { CompiledIdentity } from '../spec/compiled-policy.ts';
import type { CompileContext, Located } from './context.ts';
import type { IdentityBlock } from '../language/ast.ts';
import { relativeToRoot } from './paths.ts';
import { didYouMean } from './suggest.ts';

/** Asymmetric JWS algorithms jose verifies against a JWKS. */
export const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const DEFAULT_SKEW_SECONDS = 30;
const MAX_SKEW_SECONDS = 300;

function isLoopbackUrl(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

export function lowerIdentity(ctx: CompileContext, located: Located<IdentityBlock> | null): CompiledIdentity | null {
  if (!located) return null;
  const { node, file } = located;
  const seen = new Map<string, IdentitySetting>();
  const result: CompiledIdentity = {
    issuer: '',
    audiences: [],
    jwks: { file: '' },
    algorithms: DEFAULT_ALGORITHMS,
    groupsClaim: 'groups',
    agentClaim: null,
    clockSkewSeconds: DEFAULT_SKEW_SECONDS,
  };
  for (const s of node.settings) {
    const key = s.kind === 'ClaimMapping' ? `${s.kind}:${s.field}` : s.kind;
    const previous = seen.get(key);
    if (previous) {
      ctx.error('PAM1011', file, s.span, 'this identity setting is given twice', {
        related: [{ file, span: previous.span, message: 'first given here' }],
      });
      continue;
    }
    seen.set(key, s);
    switch (s.kind) {
      case 'Issuer':
        if (s.value.value.trim() === '') ctx.error('PAM2006', file, s.value.span, 'the issuer is empty');
        result.issuer = s.value.value;
        break;
      case 'Audience':
        result.audiences = s.values.map((v) => v.value);
        for (const v of s.values) if (v.value === '') ctx.error('PAM2006', file, v.span, 'an audience is empty');
        break;
      case 'Jwks':
        if (s.source === 'file') {
          result.jwks = { file: relativeToRoot(file, s.value.value) };
        } else {
          let url: URL | undefined;
          try {
            url = new URL(s.value.value);
          } catch {
            ctx.error('PAM2006', file, s.value.span, `\`${s.value.value}\` is not a URL`);
          }
          if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
            ctx.error('PAM2006', file, s.value.span, 'a JWKS URL must use https', {
              help: 'keys fetched over plain http can be replaced in transit; http is accepted only for localhost',
            });
          }
          result.jwks = { url: s.value.value };
        }
        break;
      case 'ClaimMapping':
        if (s.claim.value === '') ctx.error('PAM2006', file, s.claim.span, 'the claim name is empty');
        if (s.field === 'groups') result.groupsClaim = s.claim.value;
        else result.agentClaim = s.claim.value;
        break;
      case 'Algorithms': {
        const algs: string[] = [];
        for (const a of s.values) {
          const name = a.value;
          if (/^(HS\d+|none)$/i.test(name)) {
            ctx.error('PAM2014', file, a.span, `\`${name}\` cannot be used to verify tokens against a JWKS`, {
              help: 'symmetric and unsigned tokens are refused; use an asymmetric algorithm such as RS256 or ES256',
            });
          } else if (!ALGORITHMS.includes(name)) {
            ctx.error('PAM2006', file, a.span, `unknown algorithm \`${name}\``, {
              help: didYouMean(name, ALGORITHMS) ?? `one of ${ALGORITHMS.join(', ')}`,
            });
          } else if (!algs.includes(name)) algs.push(name);
        }
        result.algorithms = algs;
        break;
      }
      case 'ClockSkew': {
        const seconds = s.value.ms / 1000;
        if (seconds > MAX_SKEW_SECONDS) {
          ctx.error('PAM2006', file, s.value.span, `a clock skew of \`${s.value.text}\` is too large`, {
            help: 'at most 5m: a larger skew keeps expired tokens valid',
          });
        }
        result.clockSkewSeconds = Math.floor(seconds);
        break;
      }
    }
  }
  const missing = (what: string, example: string) =>
    ctx.error('PAM2004', file, node.span, `the identity block has no \`${what}\``, { help: `add \`${example}\`` });
  if (!seen.has('Issuer')) missing('issuer', 'issuer "https://idp.example.com/"');
  if (!seen.has('Audience')) missing('audience', 'audience "pamc"');
  if (!seen.has('Jwks')) missing('jwks', 'jwks file "keys/jwks.json"');
  return result;
}
