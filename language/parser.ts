// The grammar of spec/language.md §2 as a Chevrotain CstParser with error recovery, and the
// conversion of Chevrotain's recognition exceptions into Diagnostics (PAM0004, PAM0005,
// PAM0008, PAM0010). The grammar holds no semantics: cst-to-ast.ts reads the CST.

import {
  CstParser,
  EOF,
  tokenMatcher,
  type CstNode,
  type IParserErrorMessageProvider,
  type IRecognitionException,
  type IToken,
  type TokenType,
} from 'chevrotain';
import { diagnostic, type Diagnostic, type Span } from './diagnostic.ts';
import { showText, tokenEnd, VALIDATE_GRAMMAR } from './lexer.ts';
import * as T from './tokens.ts';

/** Syntax errors reported per file before the parser stops (PAM0008). */
export const MAX_ERRORS = 100;

// ---------------------------------------------------------------------------------------------
// Error messages: Chevrotain asks this provider for a message whenever it records an error. We
// keep what we need to write our own message (the expected token types and the rule) as JSON in
// the exception's message and turn it into a Diagnostic afterwards. The provider also enforces
// the error limit, so a hostile file cannot make recovery run for long.

interface ErrorInfo {
  kind: 'mismatch' | 'noalt' | 'earlyexit' | 'notall';
  /** names of the token types that would have been accepted */
  expected: string[];
  rule: string;
}

class TooManyErrors extends Error {
  constructor(readonly token: IToken) {
    super('too many errors');
  }
}

let errorBudget = Infinity;

function record(info: ErrorInfo, actual: IToken): string {
  if (--errorBudget < 0) throw new TooManyErrors(actual);
  return JSON.stringify(info);
}

function firstTokens(paths: TokenType[][]): string[] {
  const names: string[] = [];
  for (const p of paths) {
    const t = p[0];
    if (t !== undefined && !names.includes(t.name)) names.push(t.name);
  }
  return names;
}

const messageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, ruleName }) =>
    record({ kind: 'mismatch', expected: [expected.name], rule: ruleName }, actual),
  buildNotAllInputParsedMessage: ({ firstRedundant, ruleName }) =>
    record({ kind: 'notall', expected: [], rule: ruleName }, firstRedundant),
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, ruleName }) =>
    record({ kind: 'noalt', expected: firstTokens(expectedPathsPerAlt.flat()), rule: ruleName }, actual[0]),
  buildEarlyExitMessage: ({ expectedIterationPaths, actual, ruleName }) =>
    record({ kind: 'earlyexit', expected: firstTokens(expectedIterationPaths), rule: ruleName }, actual[0]),
};

// ---------------------------------------------------------------------------------------------
// The grammar

/** after `allow`, these start the rest of the rule: a missing action, not a misused word */
const clauseWords = [T.On, T.When, T.By];

const topLevelWords = [T.Policy, T.Identity, T.Target, T.SetKw, T.Group];

/** words that start a top-level block only when `{` follows (`audit {`), so a table may be named `audit` */
const blockWords = [T.Audit, T.Approvals];

const targetSettingWords = [T.Host, T.Port, T.Database, T.Server, T.Listen, T.Login, T.Tls, T.Upstream, T.Embedded, T.SearchPath, T.Masking];

class PamParser extends CstParser {
  /**
   * Alternatives and gated productions, built once: building them on every call costs more than
   * the parse itself (Chevrotain's advice on caching alternatives).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly cache: any[] = [];

  /** the text being parsed, for the same-line test of `reservedName` */
  text = '';

  /**
   * A reserved word where a name belongs, on the same line as what precedes it (`target on:`,
   * `allow limit on t`): the grammar reads it as the name, the tree builder reports PAM0010, and
   * one mistake gives one error instead of a cascade. Words in `except` are never read so.
   */
  private reservedName(except: readonly TokenType[] = []): boolean {
    const t = this.LA(1);
    if (!tokenMatcher(t, T.Reserved) || except.includes(t.tokenType)) return false;
    const prev = this.LA(0);
    if (prev === undefined || !Number.isFinite(prev.startOffset) || !Number.isFinite(t.startOffset)) return false;
    for (let i = prev.startOffset + prev.image.length; i < t.startOffset; i++) {
      const c = this.text.charCodeAt(i);
      if (c === 10 || c === 13) return false;
    }
    return true;
  }

  constructor() {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 2, errorMessageProvider: messageProvider, nodeLocationTracking: 'onlyOffset', skipValidations: !VALIDATE_GRAMMAR });
    this.performSelfAnalysis();
  }

  file = this.RULE('file', () => {
    this.MANY(() => this.SUBRULE(this.item));
  });

  item = this.RULE('item', () => {
    this.OR((this.cache[0] ??= [
      { ALT: () => this.SUBRULE(this.policyDecl) },
      { ALT: () => this.SUBRULE(this.identityBlock) },
      { ALT: () => this.SUBRULE(this.targetDecl) },
      { ALT: () => this.SUBRULE(this.setDecl) },
      { ALT: () => this.SUBRULE(this.groupBlock) },
      { ALT: () => this.SUBRULE(this.onBlock) },
      { ALT: () => this.SUBRULE(this.auditBlock) },
      { ALT: () => this.SUBRULE(this.approvalsBlock) },
    ]));
  });

  /** Whether the next tokens start a top-level item (for the resource list without `on`). */
  private startsItem(): boolean {
    const t = this.LA(1).tokenType;
    return topLevelWords.includes(t) || (blockWords.includes(t) && this.LA(2).tokenType === T.LCurly);
  }

  policyDecl = this.RULE('policyDecl', () => {
    this.CONSUME(T.Policy);
    this.CONSUME(T.StringLiteral);
  });

  // --- identity

  identityBlock = this.RULE('identityBlock', () => {
    this.CONSUME(T.Identity);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.identitySetting));
    this.CONSUME(T.RCurly);
  });

  identitySetting = this.RULE('identitySetting', () => {
    this.OR((this.cache[1] ??= [
      {
        ALT: () => {
          this.CONSUME(T.Issuer);
          this.CONSUME(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Audience);
          this.CONSUME1(T.StringLiteral);
          this.MANY(() => {
            this.CONSUME(T.Comma);
            this.CONSUME2(T.StringLiteral);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Jwks);
          this.OR1((this.cache[16] ??= [{ ALT: () => this.CONSUME(T.File) }, { ALT: () => this.CONSUME(T.Url) }]));
          this.CONSUME3(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Groups);
          this.CONSUME(T.Claim);
          this.CONSUME4(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Agent);
          this.CONSUME1(T.Claim);
          this.CONSUME5(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Algorithms);
          this.CONSUME(T.Ident);
          this.MANY1(() => {
            this.CONSUME1(T.Comma);
            this.CONSUME1(T.Ident);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.ClockSkew);
          this.CONSUME(T.DurationLiteral);
        },
      },
    ]));
  });

  // --- targets

  targetDecl = this.RULE('targetDecl', () => {
    this.CONSUME(T.Target);
    this.OR((this.cache[24] ??= [
      { ALT: () => this.CONSUME1(T.Ident, { LABEL: 'name' }) },
      { GATE: () => this.reservedName(), ALT: () => this.CONSUME1(T.Reserved, { LABEL: 'name' }) },
    ]));
    this.CONSUME(T.Colon);
    this.OR1((this.cache[25] ??= [
      { ALT: () => this.CONSUME2(T.Ident, { LABEL: 'targetKind' }) },
      { GATE: () => this.reservedName(), ALT: () => this.CONSUME2(T.Reserved, { LABEL: 'targetKind' }) },
    ]));
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.targetSetting));
    this.CONSUME(T.RCurly);
  });

  targetSetting = this.RULE('targetSetting', () => {
    this.OR((this.cache[2] ??= [
      {
        ALT: () => {
          this.CONSUME(T.Host);
          this.CONSUME1(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Port);
          this.CONSUME(T.IntegerLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Database);
          this.CONSUME2(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Server);
          this.CONSUME3(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Listen);
          this.CONSUME4(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Login);
          this.CONSUME(T.User);
          this.CONSUME5(T.StringLiteral);
          // A credential is any identifier but the words that start the next setting:
          // `login user "u" password env "P"  host "h"`.
          this.MANY((this.cache[17] ??= {
            GATE: () => !targetSettingWords.includes(this.LA(1).tokenType),
            DEF: () => this.SUBRULE(this.credential),
          }));
        },
      },
      {
        ALT: () => {
          this.CONSUME1(T.Tls);
          this.SUBRULE1(this.tlsMode);
          this.MANY1(() => this.SUBRULE1(this.tlsOption));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Upstream);
          this.CONSUME2(T.Tls);
          this.SUBRULE2(this.tlsMode);
          this.MANY2(() => this.SUBRULE2(this.tlsOption));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Embedded);
          this.OPTION(() => {
            this.CONSUME(T.Seed);
            this.CONSUME6(T.StringLiteral);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.SearchPath);
          this.SUBRULE(this.nameList);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Masking);
          this.CONSUME(T.LCurly);
          this.MANY3(() => this.SUBRULE(this.maskingOption));
          this.CONSUME(T.RCurly);
        },
      },
    ]));
  });

  credential = this.RULE('credential', () => {
    this.CONSUME(T.Ident);
    this.SUBRULE(this.secret);
  });

  secret = this.RULE('secret', () => {
    this.OR((this.cache[3] ??= [
      {
        ALT: () => {
          this.CONSUME(T.Env);
          this.CONSUME1(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.File);
          this.CONSUME2(T.StringLiteral);
        },
      },
      { ALT: () => this.CONSUME3(T.StringLiteral) },
    ]));
  });

  /** `require`, `verify-full`: words joined by `-` (a reserved word such as `allow` is a mode too) */
  tlsMode = this.RULE('tlsMode', () => {
    this.CONSUME(T.Word);
    this.MANY(() => {
      this.CONSUME(T.Minus);
      this.CONSUME1(T.Word);
    });
  });

  tlsOption = this.RULE('tlsOption', () => {
    this.OR((this.cache[4] ??= [
      {
        ALT: () => {
          this.CONSUME(T.Cert);
          this.CONSUME1(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Key);
          this.SUBRULE(this.secret);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Ca);
          this.CONSUME2(T.StringLiteral);
        },
      },
    ]));
  });

  /** `hash_key env "K"`, `copy deny`, `derived mask`: the value may be a reserved word */
  maskingOption = this.RULE('maskingOption', () => {
    this.OR((this.cache[5] ??= [
      {
        ALT: () => {
          this.CONSUME(T.HashKey);
          this.SUBRULE(this.secret);
        },
      },
      {
        GATE: () => this.LA(1).tokenType !== T.HashKey,
        IGNORE_AMBIGUITIES: true,
        ALT: () => {
          this.CONSUME(T.Ident, { LABEL: 'name' });
          this.CONSUME(T.Word, { LABEL: 'value' });
        },
      },
    ]));
  });

  /** `app, public`, `"$user", public` */
  nameList = this.RULE('nameList', () => {
    this.OR((this.cache[6] ??= [{ ALT: () => this.CONSUME(T.Ident) }, { ALT: () => this.CONSUME(T.StringLiteral) }]));
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.OR1((this.cache[7] ??= [{ ALT: () => this.CONSUME1(T.Ident) }, { ALT: () => this.CONSUME1(T.StringLiteral) }]));
    });
  });

  // --- audit and approvals

  auditBlock = this.RULE('auditBlock', () => {
    this.CONSUME(T.Audit);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.auditSetting));
    this.CONSUME(T.RCurly);
  });

  auditSetting = this.RULE('auditSetting', () => {
    this.OR((this.cache[40] ??= [
      {
        ALT: () => {
          this.CONSUME(T.Dir);
          this.CONSUME(T.StringLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Key);
          this.SUBRULE(this.secret);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Rotate);
          this.AT_LEAST_ONE(() =>
            this.OR1((this.cache[41] ??= [
              {
                ALT: () => {
                  this.CONSUME(T.Size);
                  this.CONSUME(T.SizeLiteral);
                },
              },
              {
                ALT: () => {
                  this.CONSUME(T.Every);
                  this.CONSUME(T.DurationLiteral);
                },
              },
            ])),
          );
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Checkpoint);
          this.CONSUME1(T.Every);
          this.SUBRULE(this.interval);
          this.MANY(() => {
            this.CONSUME(T.Comma);
            this.SUBRULE1(this.interval);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.OnFailure);
          this.CONSUME(T.Ident, { LABEL: 'value' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Forward);
          this.CONSUME(T.Url);
          this.CONSUME1(T.StringLiteral, { LABEL: 'url' });
          this.MANY1(() =>
            this.OR2((this.cache[42] ??= [
              {
                ALT: () => {
                  this.CONSUME(T.Token);
                  this.SUBRULE1(this.secret);
                },
              },
              {
                ALT: () => {
                  this.CONSUME(T.Ca);
                  this.CONSUME2(T.StringLiteral, { LABEL: 'ca' });
                },
              },
            ])),
          );
        },
      },
    ]));
  });

  /** `1m` or `10000 records` */
  interval = this.RULE('interval', () => {
    this.OR((this.cache[43] ??= [
      { ALT: () => this.CONSUME(T.DurationLiteral) },
      {
        ALT: () => {
          this.CONSUME(T.IntegerLiteral);
          this.CONSUME(T.Records);
        },
      },
    ]));
  });

  approvalsBlock = this.RULE('approvalsBlock', () => {
    this.CONSUME(T.Approvals);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.approvalsSetting));
    this.CONSUME(T.RCurly);
  });

  approvalsSetting = this.RULE('approvalsSetting', () => {
    this.OR((this.cache[44] ??= [
      {
        ALT: () => {
          this.CONSUME(T.Webhook);
          this.CONSUME(T.Url);
          this.SUBRULE(this.secret, { LABEL: 'url' });
          this.MANY(() =>
            this.OR1((this.cache[45] ??= [
              {
                ALT: () => {
                  this.CONSUME(T.Secret);
                  this.SUBRULE1(this.secret, { LABEL: 'hmac' });
                },
              },
              {
                ALT: () => {
                  this.CONSUME(T.Format);
                  this.CONSUME(T.Ident, { LABEL: 'format' });
                },
              },
            ])),
          );
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Api);
          this.AT_LEAST_ONE(() =>
            this.OR2((this.cache[46] ??= [
              {
                ALT: () => {
                  this.CONSUME(T.Listen);
                  this.CONSUME1(T.StringLiteral, { LABEL: 'listen' });
                },
              },
              {
                ALT: () => {
                  this.CONSUME1(T.Url);
                  this.CONSUME2(T.StringLiteral, { LABEL: 'apiUrl' });
                },
              },
              {
                ALT: () => {
                  this.CONSUME(T.Cert);
                  this.CONSUME3(T.StringLiteral, { LABEL: 'cert' });
                },
              },
              {
                ALT: () => {
                  this.CONSUME(T.Key);
                  this.SUBRULE2(this.secret, { LABEL: 'key' });
                },
              },
            ])),
          );
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Dir);
          this.CONSUME4(T.StringLiteral, { LABEL: 'dir' });
        },
      },
    ]));
  });

  // --- sets

  setDecl = this.RULE('setDecl', () => {
    this.CONSUME(T.SetKw);
    this.OR((this.cache[26] ??= [
      { ALT: () => this.CONSUME(T.Ident, { LABEL: 'name' }) },
      { GATE: () => this.reservedName(), ALT: () => this.CONSUME(T.Reserved, { LABEL: 'name' }) },
    ]));
    this.CONSUME(T.Equals);
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.resource);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE1(this.resource);
      });
      this.OPTION1(() => this.CONSUME1(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });

  // --- groups and rules

  groupBlock = this.RULE('groupBlock', () => {
    this.CONSUME(T.Group);
    this.CONSUME(T.StringLiteral);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.onBlock));
    this.CONSUME(T.RCurly);
  });

  onBlock = this.RULE('onBlock', () => {
    this.CONSUME(T.On);
    this.OR((this.cache[27] ??= [
      { ALT: () => this.CONSUME(T.Ident, { LABEL: 'target' }) },
      { GATE: () => this.reservedName(), ALT: () => this.CONSUME(T.Reserved, { LABEL: 'target' }) },
    ]));
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.OR1((this.cache[28] ??= [
        { ALT: () => this.CONSUME1(T.Ident, { LABEL: 'target' }) },
        { GATE: () => this.reservedName(), ALT: () => this.CONSUME1(T.Reserved, { LABEL: 'target' }) },
      ]));
    });
    this.CONSUME(T.LCurly);
    this.MANY1(() =>
      this.OR2((this.cache[8] ??= [
        { ALT: () => this.SUBRULE(this.accessRule) },
        { ALT: () => this.SUBRULE(this.maskRule) },
        { ALT: () => this.SUBRULE(this.limitRule) },
      ])),
    );
    this.CONSUME(T.RCurly);
  });

  accessRule = this.RULE('accessRule', () => {
    this.OR((this.cache[9] ??= [
      { ALT: () => this.CONSUME(T.Allow) },
      { ALT: () => this.CONSUME(T.Deny) },
      { ALT: () => this.CONSUME(T.Approve) },
    ]));
    this.OR1((this.cache[29] ??= [
      { ALT: () => this.CONSUME(T.Ident, { LABEL: 'action' }) },
      { GATE: () => this.reservedName(clauseWords), ALT: () => this.CONSUME(T.Reserved, { LABEL: 'action' }) },
    ]));
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.OR2((this.cache[30] ??= [
        { ALT: () => this.CONSUME1(T.Ident, { LABEL: 'action' }) },
        { GATE: () => this.reservedName(clauseWords), ALT: () => this.CONSUME1(T.Reserved, { LABEL: 'action' }) },
      ]));
    });
    // resources: after the actions, anything that can start a resource starts them, except
    // that without `on` a word that starts a top-level item does not (so a missing `}` before
    // `group "g" {` is not read as a resource `group "g"`)
    this.OPTION((this.cache[23] ??= {
      GATE: () => this.LA(1).tokenType === T.On || !this.startsItem(),
      DEF: () => {
      this.OPTION1(() => this.CONSUME(T.On));
      this.SUBRULE(this.resource);
      this.MANY1(() => {
        this.CONSUME1(T.Comma);
        this.SUBRULE1(this.resource);
      });
      },
    }));
    this.OPTION2(() => {
      this.CONSUME(T.When);
      this.SUBRULE(this.condition);
      this.MANY2(() => {
        this.CONSUME(T.And);
        this.SUBRULE1(this.condition);
      });
    });
    this.OPTION3(() => this.SUBRULE(this.approval));
  });

  /** `[ object kind word ] path`: a kind word is an identifier directly followed by a path */
  resource = this.RULE('resource', () => {
    this.OPTION((this.cache[10] ??= {
      GATE: () => {
        const next = this.LA(2);
        return tokenMatcher(next, T.Ident) || tokenMatcher(next, T.StringLiteral) || tokenMatcher(next, T.Star);
      },
      DEF: () => this.CONSUME(T.Ident, { LABEL: 'objectKind' }),
    }));
    // the path, inline (as in `path` below) to keep the tree small
    this.OR((this.cache[21] ??= [
      { ALT: () => this.CONSUME1(T.Ident, { LABEL: 'part' }) },
      { ALT: () => this.CONSUME1(T.StringLiteral, { LABEL: 'part' }) },
      { ALT: () => this.CONSUME1(T.Star, { LABEL: 'part' }) },
    ]));
    this.MANY(() => {
      this.CONSUME(T.Dot);
      this.OR1((this.cache[22] ??= [
        { ALT: () => this.CONSUME2(T.Ident, { LABEL: 'part' }) },
        { ALT: () => this.CONSUME2(T.StringLiteral, { LABEL: 'part' }) },
        { ALT: () => this.CONSUME2(T.Star, { LABEL: 'part' }) },
        // `public.limit`: read a reserved word right after the dot, so the error can say "quote it"
        { GATE: () => this.LA(1).startOffset === this.LA(0).startOffset + 1, ALT: () => this.CONSUME2(T.Reserved, { LABEL: 'part' }) },
      ]));
    });
  });

  /** parts after a `.` may be reserved words, so `public.limit` gets a precise error (PAM0010) */
  path = this.RULE('path', () => {
    this.OR((this.cache[11] ??= [
      { ALT: () => this.CONSUME(T.Ident, { LABEL: 'part' }) },
      { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: 'part' }) },
      { ALT: () => this.CONSUME(T.Star, { LABEL: 'part' }) },
    ]));
    this.MANY(() => {
      this.CONSUME(T.Dot);
      this.OR1((this.cache[12] ??= [
        { ALT: () => this.CONSUME1(T.Ident, { LABEL: 'part' }) },
        { ALT: () => this.CONSUME1(T.StringLiteral, { LABEL: 'part' }) },
        { ALT: () => this.CONSUME1(T.Star, { LABEL: 'part' }) },
        { GATE: () => this.LA(1).startOffset === this.LA(0).startOffset + 1, ALT: () => this.CONSUME1(T.Reserved, { LABEL: 'part' }) },
      ]));
    });
  });

  whenClause = this.RULE('whenClause', () => {
    this.CONSUME(T.When);
    this.SUBRULE(this.condition);
    this.MANY(() => {
      this.CONSUME(T.And);
      this.SUBRULE1(this.condition);
    });
  });

  condition = this.RULE('condition', () => {
    this.OR((this.cache[13] ??= [
      {
        ALT: () => {
          this.CONSUME(T.During);
          this.OPTION((this.cache[18] ??= { GATE: () => this.LA(1).tokenType !== T.Tz, DEF: () => this.SUBRULE(this.daySpec) }));
          this.OPTION1(() => {
            this.CONSUME1(T.TimeLiteral, { LABEL: 'from' });
            this.CONSUME(T.Minus);
            this.CONSUME2(T.TimeLiteral, { LABEL: 'to' });
          });
          this.OPTION2(() => {
            this.CONSUME(T.Tz);
            this.CONSUME(T.StringLiteral, { LABEL: 'tz' });
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Claim);
          this.CONSUME1(T.StringLiteral, { LABEL: 'claim' });
          this.OR1((this.cache[19] ??= [
            {
              ALT: () => {
                this.CONSUME(T.Equals);
                this.CONSUME2(T.StringLiteral, { LABEL: 'value' });
              },
            },
            {
              ALT: () => {
                this.CONSUME(T.NotEquals);
                this.CONSUME3(T.StringLiteral, { LABEL: 'value' });
              },
            },
            {
              ALT: () => {
                this.OPTION3(() => this.CONSUME1(T.Not));
                this.CONSUME(T.In);
                this.CONSUME(T.LBracket);
                this.CONSUME4(T.StringLiteral, { LABEL: 'value' });
                this.MANY(() => {
                  this.CONSUME(T.Comma);
                  this.CONSUME5(T.StringLiteral, { LABEL: 'value' });
                });
                this.CONSUME(T.RBracket);
              },
            },
          ]));
        },
      },
      {
        IGNORE_AMBIGUITIES: true,
        ALT: () => {
          this.OPTION4((this.cache[20] ??= { GATE: () => tokenMatcher(this.LA(2), T.Ident), DEF: () => this.CONSUME2(T.Not) }));
          this.CONSUME(T.Ident, { LABEL: 'property' });
        },
      },
    ]));
  });

  daySpec = this.RULE('daySpec', () => {
    this.OR((this.cache[14] ??= [
      {
        ALT: () => {
          this.CONSUME(T.Ident, { LABEL: 'from' });
          this.CONSUME(T.Minus);
          this.CONSUME1(T.Ident, { LABEL: 'to' });
        },
      },
      {
        ALT: () => {
          this.CONSUME2(T.Ident, { LABEL: 'day' });
          this.MANY(() => {
            this.CONSUME(T.Comma);
            this.CONSUME3(T.Ident, { LABEL: 'day' });
          });
        },
      },
    ]));
  });

  approval = this.RULE('approval', () => {
    this.CONSUME(T.By);
    this.CONSUME(T.StringLiteral);
    this.MANY(() => {
      this.OR((this.cache[15] ??= [
        {
          ALT: () => {
            this.CONSUME(T.Quorum);
            this.CONSUME(T.IntegerLiteral, { LABEL: 'quorum' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Within);
            this.CONSUME(T.DurationLiteral);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Mode);
            this.CONSUME(T.Ident, { LABEL: 'mode' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Uses);
            this.CONSUME1(T.IntegerLiteral, { LABEL: 'uses' });
          },
        },
      ]));
    });
  });

  maskRule = this.RULE('maskRule', () => {
    this.CONSUME(T.Mask);
    this.SUBRULE(this.path);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE1(this.path);
    });
    this.CONSUME(T.With);
    this.SUBRULE(this.strategy);
  });

  strategy = this.RULE('strategy', () => {
    this.CONSUME(T.Ident);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.CONSUME(T.IntegerLiteral);
      this.CONSUME(T.RParen);
    });
  });

  limitRule = this.RULE('limitRule', () => {
    this.CONSUME(T.Limit);
    this.CONSUME(T.Rows);
    this.CONSUME(T.IntegerLiteral);
  });
}

let parserInstance: PamParser | undefined;

function parser(): PamParser {
  parserInstance ??= new PamParser();
  return parserInstance;
}

// ---------------------------------------------------------------------------------------------
// Parsing and error conversion

export interface ParseOutput {
  cst: CstNode | undefined;
  diagnostics: Diagnostic[];
  /** true when the parser stopped at the error limit */
  stopped: boolean;
  /** true when the parser reported no error, so the CST has no holes */
  clean: boolean;
  /**
   * where the parser met each error (reported or not), sorted: a node around one of them may
   * look complete after recovery (a token deleted) and yet not be what was written
   */
  errorOffsets: number[];
}

function runParser(tokens: IToken[], text: string, budget: number): { cst: CstNode | undefined; errors: IRecognitionException[]; stoppedAt?: IToken } {
  const p = parser();
  errorBudget = budget;
  p.text = text;
  p.input = tokens;
  try {
    const cst = p.file();
    return { cst, errors: p.errors };
  } catch (e) {
    if (e instanceof TooManyErrors) return { cst: undefined, errors: p.errors, stoppedAt: e.token };
    throw e;
  } finally {
    errorBudget = Infinity;
    p.text = '';
  }
}

/** Parses tokens into a CST and reports syntax errors. Never throws on user input. */
export function parseTokens(tokens: IToken[], text: string, path: string): ParseOutput {
  let { cst, errors, stoppedAt } = runParser(tokens, text, MAX_ERRORS);
  let stopped = false;
  if (stoppedAt !== undefined) {
    // Too many errors: parse again the tokens before the one that broke the limit, so the
    // syntax tree still holds what came before.
    stopped = true;
    let cut = stoppedAt.tokenType === EOF ? tokens.length : tokens.indexOf(stoppedAt);
    if (cut < 0) cut = lowerBound(tokens, stoppedAt.startOffset);
    const again = runParser(tokens.slice(0, cut), text, MAX_ERRORS + 1);
    cst = again.cst;
    errors = again.errors.length > 0 ? again.errors : errors;
  }
  const ctx = new ErrorContext(tokens, text, path);
  const diagnostics: Diagnostic[] = [];
  // An error at the token right after the previous error's token is almost always a consequence
  // of it (`target on: x` is one mistake, not two): report the first only.
  let lastIndex = -2;
  for (const e of errors) {
    const index = ctx.indexOf(e.token);
    const cascade = index <= lastIndex + 1;
    lastIndex = Math.max(lastIndex, index);
    if (cascade) continue;
    const d = ctx.convert(e);
    if (d !== undefined) diagnostics.push(d);
  }
  const errorOffsets = errors
    .map((e) => e.token.startOffset)
    .filter((o) => Number.isFinite(o))
    .sort((a, b) => a - b);
  return { cst, diagnostics, stopped, clean: errors.length === 0 && !stopped, errorOffsets };
}

function lowerBound(tokens: IToken[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].startOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// What a position expects, in words, for the messages.

// `audit` and `approvals` are left out of the list (one block each per policy), but a near miss
// such as `audti` still gets "did you mean `audit`?" from KEYWORDS_BY_CONTEXT.file
const TOP_LEVEL = '`policy`, `identity`, `target`, `set`, `group` or `on`';

const BLOCK_CONTENT: Record<string, string> = {
  identityBlock: 'an identity setting',
  targetDecl: 'a target setting',
  targetSetting: 'a masking option',
  groupBlock: '`on`',
  onBlock: 'a rule (`allow`, `deny`, `approve`, `mask` or `limit`)',
  auditBlock: 'an audit setting',
  approvalsBlock: 'an approvals setting',
};

const IDENT_NOUN: Record<string, string> = {
  accessRule: 'an action',
  onBlock: 'a target name',
  setDecl: 'a set name',
  strategy: 'a masking strategy',
  daySpec: 'a day',
  credential: 'a credential name',
  tlsMode: 'a tls mode such as `require`',
  identitySetting: 'an algorithm',
  nameList: 'a schema name',
  maskingOption: 'a masking option',
  auditSetting: '`refuse` or `continue`',
  approvalsSetting: 'a payload format (`json` or `slack`)',
};

const KEYWORDS_BY_CONTEXT: Record<string, string[]> = {
  file: ['policy', 'identity', 'target', 'set', 'group', 'on', 'audit', 'approvals'],
  identityBlock: ['issuer', 'audience', 'jwks', 'groups', 'agent', 'algorithms', 'clock_skew'],
  targetDecl: ['host', 'port', 'database', 'server', 'listen', 'login', 'tls', 'upstream', 'embedded', 'search_path', 'masking'],
  onBlock: ['allow', 'deny', 'approve', 'mask', 'limit'],
  groupBlock: ['on'],
  auditBlock: ['dir', 'key', 'rotate', 'checkpoint', 'on_failure', 'forward'],
  approvalsBlock: ['webhook', 'api', 'dir'],
};

function tokenTypeByName(name: string): TokenType | undefined {
  return T.allTokens.find((t) => t.name === name) ?? (name === EOF.name ? EOF : undefined);
}

function labelOf(name: string): string {
  const t = tokenTypeByName(name);
  if (t === EOF) return 'end of file';
  return (t?.LABEL as string | undefined) ?? name;
}

function joinAlternatives(items: string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? 'something else';
  return unique.slice(0, -1).join(', ') + ' or ' + unique[unique.length - 1];
}

/** Edit distance counting a swap of two neighbours as one edit (`hots` → `host`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** A keyword close to `word`, for "did you mean". */
export function nearestWord(word: string, candidates: readonly string[]): string | undefined {
  if (word.length < 3 || word.length > 40) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= (word.length <= 4 ? 1 : 2) ? best : undefined;
}

class ErrorContext {
  /** for each token index, the index of the innermost `{` still open before it (-1: none) */
  private openBefore: Int32Array | undefined;

  constructor(
    private readonly tokens: IToken[],
    private readonly text: string,
    private readonly path: string,
  ) {}

  private lastEnd(): number {
    const last = this.tokens[this.tokens.length - 1];
    return last === undefined ? 0 : tokenEnd(last);
  }

  private spanOf(t: IToken): Span {
    if (t.tokenType === EOF || !Number.isFinite(t.startOffset)) {
      const end = this.lastEnd();
      return { start: end, end };
    }
    return { start: t.startOffset, end: tokenEnd(t) };
  }

  private found(t: IToken): string {
    if (t.tokenType === EOF || !Number.isFinite(t.startOffset)) return 'end of file';
    return `\`${showText(t.image, 30)}\``;
  }

  indexOf(t: IToken): number {
    if (t.tokenType === EOF || !Number.isFinite(t.startOffset)) return this.tokens.length;
    return lowerBound(this.tokens, t.startOffset);
  }

  /** The innermost `{` left open before token index `i`. */
  private openBrace(i: number): IToken | undefined {
    if (this.openBefore === undefined) {
      const open = new Int32Array(this.tokens.length + 1);
      const stack: number[] = [];
      for (let k = 0; k < this.tokens.length; k++) {
        open[k] = stack.length > 0 ? stack[stack.length - 1] : -1;
        const tt = this.tokens[k].tokenType;
        if (tt === T.LCurly) stack.push(k);
        else if (tt === T.RCurly) stack.pop();
      }
      open[this.tokens.length] = stack.length > 0 ? stack[stack.length - 1] : -1;
      this.openBefore = open;
    }
    const k = this.openBefore[Math.min(i, this.tokens.length)];
    return k >= 0 ? this.tokens[k] : undefined;
  }

  /** Whether the token starts a new line. */
  private startsLine(t: IToken): boolean {
    if (t.tokenType === EOF || !Number.isFinite(t.startOffset)) return true;
    for (let i = t.startOffset - 1; i >= 0; i--) {
      const c = this.text.charCodeAt(i);
      if (c === 10 || c === 13) return true;
      if (c !== 32 && c !== 9) return false;
    }
    return true;
  }

  convert(e: IRecognitionException): Diagnostic | undefined {
    let info: ErrorInfo;
    try {
      info = JSON.parse(e.message) as ErrorInfo;
    } catch {
      info = { kind: 'mismatch', expected: [], rule: '' };
    }
    const token = e.token;
    const span = this.spanOf(token);
    const found = this.found(token);
    const rule = info.rule;
    let expected = info.expected;
    const d = (code: string, message: string, extra: { help?: string; related?: Diagnostic['related'] } = {}) =>
      diagnostic(code, 'error', this.path, span, message, extra);

    // A block whose `}` is missing: the next thing is the end of the file or starts an item.
    if (info.kind === 'mismatch' && expected[0] === T.RCurly.name && rule in BLOCK_CONTENT) {
      const tt = token.tokenType;
      const outer = [T.Policy, T.Identity, T.Target, T.SetKw, T.Group];
      if (rule !== 'groupBlock') outer.push(T.On);
      const block = blockWords.includes(tt) && this.tokens[this.indexOf(token) + 1]?.tokenType === T.LCurly;
      if (tt === EOF || ((outer.includes(tt) || block) && this.startsLine(token))) {
        const open = this.openBrace(this.indexOf(token));
        const related = open === undefined ? [] : [{ file: this.path, span: this.spanOf(open), message: 'block opened here' }];
        return d('PAM0005', `expected \`}\` to close the block, found ${found}`, { related });
      }
      const near = this.suggest(token, KEYWORDS_BY_CONTEXT[rule] ?? []);
      return d('PAM0004', `expected ${BLOCK_CONTENT[rule]} or \`}\`, found ${found}`, near);
    }

    if (info.kind === 'notall' || (info.kind === 'mismatch' && rule === 'file')) {
      return d('PAM0004', `expected ${TOP_LEVEL}, found ${found}`, this.suggest(token, KEYWORDS_BY_CONTEXT.file));
    }

    const expectsIdent = expected.includes(T.Ident.name) || expected.includes(T.Word.name);
    if (expectsIdent) expected = expected.filter((name) => name !== T.Reserved.name);
    const nouns = expected.map((name) => {
      if (rule === 'maskingOption' && name === T.Word.name) return 'a value such as `deny`';
      return (name === T.Ident.name || name === T.Word.name) && rule in IDENT_NOUN ? IDENT_NOUN[rule] : labelOf(name);
    });
    let what = joinAlternatives(nouns);
    if (rule === 'targetDecl' && expected[0] === T.Ident.name) {
      what = this.previousIs(token, T.Colon) ? 'a target kind such as `postgres`' : 'a target name';
    }
    if (rule === 'condition' && info.kind === 'noalt') what = 'a condition (`during`, `claim` or a property such as `unbounded`)';
    if (rule === 'path' || rule === 'resource') what = 'an identifier, a string or `*`';

    // A reserved word where a name belongs, on the same line as what precedes it.
    if (expectsIdent && tokenMatcher(token, T.Reserved) && !clauseWords.includes(token.tokenType) && !this.startsLine(token)) {
      const quotable = rule === 'path' || rule === 'resource' || rule === 'maskRule' || rule === 'nameList';
      const help = quotable
        ? `quote it: \`"${token.image}"\``
        : `expected ${what} here; a reserved word cannot be one`;
      return d('PAM0010', `\`${token.image}\` is a reserved word`, { help });
    }
    return d('PAM0004', `expected ${what}, found ${found}`);
  }

  private previousIs(t: IToken, type: TokenType): boolean {
    const i = this.indexOf(t);
    return i > 0 && this.tokens[i - 1].tokenType === type;
  }

  private suggest(t: IToken, words: string[]): { help?: string } {
    if (!tokenMatcher(t, T.Word)) return {};
    const near = nearestWord(t.image, words);
    return near === undefined || near === t.image ? {} : { help: `did you mean \`${near}\`?` };
  }
}
