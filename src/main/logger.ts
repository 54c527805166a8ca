import pino, { type DestinationStream, type Logger } from 'pino';

export type LogFormat = 'auto' | 'text' | 'json';

export interface LoggerOptions {
  /** text: one readable line per record; json: pino's JSON lines (the default). */
  format?: 'text' | 'json';
  /** Where the lines go; standard output when absent. */
  out?: { write(text: string): unknown };
  /** Colour the level names (a terminal that wants it). */
  color?: boolean;
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const settings = { level, base: { service: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.format !== 'text') {
    return options.out ? pino(settings, options.out as DestinationStream) : pino(settings);
  }
  const out = options.out ?? process.stdout;
  const color = options.color ?? false;
  return pino(settings, { write: (line: string) => out.write(formatLogLine(line, color)) });
}

/** `auto` picks text on a terminal, JSON for files, pipes and log collectors. */
export function resolveLogFormat(format: LogFormat, isTerminal: boolean): 'text' | 'json' {
  if (format === 'auto') return isTerminal ? 'text' : 'json';
  return format;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLORS: Record<number, string> = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
// pino's own fields, shown in the line's head or not at all.
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'err']);

/**
 * One JSON record from pino as a readable line: `20:14:03.125 INFO  registry listening url=http://…`.
 * An error's stack follows on indented lines.
 */
export function formatLogLine(line: string, color = false): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = typeof record.level === 'number' ? record.level : 30;
  const time = typeof record.time === 'string' ? record.time.slice(11, 23) : '';
  let name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const paint = color ? LEVEL_COLORS[level] : undefined;
  if (paint) name = `${paint}${name}\x1b[0m`;
  const fields: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (HEAD_FIELDS.has(key) || value === undefined) continue;
    fields.push(`${key}=${formatValue(value)}`);
  }
  let text = `${time} ${name} ${escapeControls(String(record.msg ?? ''))}`;
  const err = record.err as { message?: unknown; stack?: unknown } | undefined;
  if (err && typeof err === 'object') fields.push(`err=${formatValue(err.message ?? 'error')}`);
  if (fields.length > 0) text += `  ${fields.join(' ')}`;
  if (err && typeof err.stack === 'string' && level >= 50) {
    text += `\n${err.stack
      .split('\n')
      .slice(1)
      .map((l) => `    ${escapeControls(l.trim())}`)
      .join('\n')}`;
  }
  return `${text}\n`;
}

// Printable ASCII without quotes or `=` goes bare; anything else is quoted as JSON, which escapes controls.
const BARE_VALUE = /^[\x21\x23-\x3c\x3e-\x7e]+$/;

function formatValue(value: unknown): string {
  if (typeof value === 'string') return BARE_VALUE.test(value) ? value : JSON.stringify(value);
  return escapeControls(JSON.stringify(value) ?? String(value));
}

/** Values can come from requests: no escape sequence of theirs reaches the terminal. */
function escapeControls(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
