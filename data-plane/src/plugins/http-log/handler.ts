/**
 * http-log: ships each request's log entry to `http_endpoint`, off the request path, through a bounded queue per
 * endpoint and config (Kong's queue settings): batches of `max_batch_size` (a single entry goes as a JSON object,
 * a batch as an array), flushed after `max_coalescing_delay`, retried with backoff up to `max_retry_time`.
 */
import type { HttpLogConfig, Logger } from '@turnpike/shared'
import { logEntry } from '../../pipeline/log-entry.ts'
import { outboundRequest } from '../../pipeline/outbound.ts'
import { defineHandler } from '../../pipeline/types.ts'

export class LogQueue {
  readonly #conf: HttpLogConfig
  readonly #logger: Logger
  readonly #url: string
  readonly #headers: Record<string, string>
  readonly #entries: string[] = []
  #timer: NodeJS.Timeout | undefined
  #sending = false
  #dropped = 0

  constructor(conf: HttpLogConfig, logger: Logger) {
    this.#conf = conf
    this.#logger = logger
    const u = new URL(conf.http_endpoint)
    this.#headers = { 'content-type': conf.content_type, ...(conf.headers ?? {}) }
    if (u.username || u.password) {
      this.#headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`
      u.username = ''
      u.password = ''
    }
    this.#url = u.toString()
  }

  add(entry: Record<string, unknown>): void {
    const q = this.#conf.queue
    if (this.#entries.length >= q.max_entries) {
      this.#entries.shift()
      if (this.#dropped++ % 1000 === 0)
        this.#logger.warn({ endpoint: this.#url, max_entries: q.max_entries }, 'http-log queue full; dropping oldest')
    }
    this.#entries.push(JSON.stringify(entry))
    if (this.#entries.length >= q.max_batch_size) this.#flushSoon(0)
    else this.#flushSoon(q.max_coalescing_delay * 1000)
  }

  #flushSoon(delayMs: number): void {
    if (this.#sending) return
    if (this.#timer && delayMs > 0) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#flush()
    }, delayMs)
    this.#timer.unref()
  }

  async #flush(): Promise<void> {
    if (this.#sending || this.#entries.length === 0) return
    this.#sending = true
    const q = this.#conf.queue
    try {
      while (this.#entries.length) {
        const batch = this.#entries.splice(0, q.max_batch_size)
        const body = q.max_batch_size === 1 ? batch[0] : `[${batch.join(',')}]`
        await this.#send(body, batch.length)
      }
    } finally {
      this.#sending = false
    }
  }

  async #send(body: string, count: number): Promise<void> {
    const q = this.#conf.queue
    const deadline = Date.now() + q.max_retry_time * 1000
    let delay = q.initial_retry_delay * 1000
    for (;;) {
      try {
        const r = await outboundRequest(this.#url, {
          method: this.#conf.method,
          headers: this.#headers,
          body,
          timeoutMs: this.#conf.timeout,
        })
        if (r.status < 400) return
        throw new Error(`endpoint answered ${r.status}`)
      } catch (err) {
        if (Date.now() + delay > deadline) {
          this.#logger.error(
            { endpoint: this.#url, entries: count, err: (err as Error).message },
            'http-log gave up on a batch',
          )
          return
        }
        await new Promise((r) => setTimeout(r, delay).unref())
        delay = Math.min(delay * 2, q.max_retry_delay * 1000)
      }
    }
  }
}

const queues = new Map<string, LogQueue>()

export const httpLogHandler = defineHandler<HttpLogConfig, LogQueue>({
  compile(conf, env) {
    if (conf.custom_fields_by_lua) env.logger.warn('http-log: custom_fields_by_lua is Lua and is ignored by Turnpike')
    // Same endpoint and settings: one queue, kept across snapshots so nothing queued is lost on a config change.
    const key = JSON.stringify(conf)
    let q = queues.get(key)
    if (!q) {
      q = new LogQueue(conf, env.logger)
      queues.set(key, q)
    }
    return q
  },
  log(ctx, queue) {
    queue.add(logEntry(ctx))
  },
})
