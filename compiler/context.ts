// State shared by the compiler's passes: the parsed files and the diagnostics collected so far.

import type { PolicyFile, Span } from '../language/ast.ts';
import { diagnostic, type Diagnostic, type Related, type Severity } from '../language/diagnostic.ts';
import type { BuiltinData } from './builtins.ts';

export interface SourceFile {
  /** path relative to the policy root, `/`-separated */
  path: string;
  text: string;
  sha256: string;
  ast: PolicyFile;
}

/** A node and the file it came from. */
export interface Located<T> {
  node: T;
  file: string;
}

export class CompileContext {
  readonly diagnostics: Diagnostic[] = [];
  readonly files: SourceFile[];
  readonly builtins: BuiltinData;

  constructor(files: SourceFile[], builtins: BuiltinData) {
    this.files = files;
    this.builtins = builtins;
  }

  report(
    code: string,
    severity: Severity,
    file: string,
    span: Span,
    message: string,
    extra: { help?: string; related?: Related[] } = {},
  ): void {
    this.diagnostics.push(diagnostic(code, severity, file, span, message, extra));
  }

  error(code: string, file: string, span: Span, message: string, extra: { help?: string; related?: Related[] } = {}): void {
    this.report(code, 'error', file, span, message, extra);
  }

  warn(code: string, file: string, span: Span, message: string, extra: { help?: string; related?: Related[] } = {}): void {
    this.report(code, 'warning', file, span, message, extra);
  }

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }
}
