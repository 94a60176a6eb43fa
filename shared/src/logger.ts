/** Structured logging with pino; components take child loggers. */
import { pino } from 'pino'

export type Logger = pino.Logger

/** Root logger; level from TURNPIKE_LOG_LEVEL (Kong's `log_level`), JSON lines on stdout. */
export function createLogger(level = process.env.TURNPIKE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime })
}
