// The PostgreSQL v3 wire protocol: framing, one module per message family, SCRAM and md5.
export * from './errors.ts';
export * from './writer.ts';
export * from './framing.ts';
export * from './startup.ts';
export * from './authentication.ts';
export * from './scram.ts';
export * from './simple-query.ts';
export * from './extended-query.ts';
export * from './row-data.ts';
export * from './copy.ts';
export * from './error-notice.ts';
export * from './status.ts';
export * from './function-call.ts';
