// The gateway's structured log: one JSON object per line. Events are connect, statement,
// decision, disconnect and the gateway's own life (start, reload, shutdown). Secrets never go
// here: no passwords, no tokens, no bind parameter values (the tamper-evident session record
// is its own component).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogSink {
  write(line: string): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export class Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly minLevel: LogLevel = 'info',
    private readonly base: Record<string, unknown> = {},
  ) {}

  /** Whether a level is written (callers skip building costly fields when it is not). */
  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.minLevel];
  }

  child(fields: Record<string, unknown>): Logger {
    return new Logger(this.sink, this.minLevel, { ...this.base, ...fields });
  }

  log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
    if (LEVELS[level] < LEVELS[this.minLevel]) return;
    let line: string;
    try {
      line = JSON.stringify({ ts: new Date().toISOString(), level, event, ...this.base, ...fields });
    } catch {
      line = JSON.stringify({ ts: new Date().toISOString(), level, event, note: 'unserializable fields' });
    }
    this.sink.write(line + '\n');
  }

  debug(event: string, fields?: Record<string, unknown>): void {
    this.log('debug', event, fields);
  }
  info(event: string, fields?: Record<string, unknown>): void {
    this.log('info', event, fields);
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.log('warn', event, fields);
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.log('error', event, fields);
  }
}

/** A logger writing to a stream (stdout by default). */
export function streamLogger(stream: NodeJS.WritableStream = process.stdout, level: LogLevel = 'info'): Logger {
  return new Logger({ write: (line) => void stream.write(line) }, level);
}

/** A logger that keeps lines in memory (tests). */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger({ write: (line) => void lines.push(JSON.parse(line)) }, level) as Logger & { lines: Record<string, unknown>[] };
  logger.lines = lines;
  return logger;
}
