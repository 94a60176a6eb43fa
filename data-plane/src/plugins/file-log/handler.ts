/**
 * file-log: appends each request's log entry as a JSON line. One append stream per path, shared by instances and
 * kept across snapshots; with `reopen` every entry opens, appends and closes (for external log rotation).
 */
import { appendFile, createWriteStream, type WriteStream } from 'node:fs'
import type { FileLogConfig } from '@turnpike/shared'
import { logEntry } from '../../pipeline/log-entry.ts'
import { defineHandler } from '../../pipeline/types.ts'

const streams = new Map<string, WriteStream>()

function streamFor(path: string, onError: (err: Error) => void): WriteStream {
  let s = streams.get(path)
  if (!s) {
    s = createWriteStream(path, { flags: 'a' })
    s.on('error', (err) => {
      streams.delete(path)
      onError(err)
    })
    streams.set(path, s)
  }
  return s
}

export const fileLogHandler = defineHandler<FileLogConfig>({
  compile(conf, env) {
    if (conf.custom_fields_by_lua) env.logger.warn('file-log: custom_fields_by_lua is Lua and is ignored by Turnpike')
    return conf
  },
  log(ctx, conf) {
    const line = `${JSON.stringify(logEntry(ctx))}\n`
    const log = ctx.log
    const onError = (err: Error | null) => {
      if (err) log.error({ err: err.message, path: conf.path }, 'file-log could not write')
    }
    if (conf.reopen) appendFile(conf.path, line, onError)
    else streamFor(conf.path, onError).write(line)
  },
})

/** Closes the shared streams (tests, shutdown). */
export function closeFileLogs(): void {
  for (const s of streams.values()) s.end()
  streams.clear()
}
