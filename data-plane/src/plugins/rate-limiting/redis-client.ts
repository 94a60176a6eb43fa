/**
 * A small RESP2 client for the rate-limiting counters: one pipelined connection per Redis, AUTH and SELECT on
 * connect, a timeout per command (a timed-out connection is dropped, since later replies could no longer be
 * matched to their commands), reconnect on the next command.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { RedisConfig } from '@turnpike/shared'

export type RespValue = string | number | null | RespValue[] | RedisError

export class RedisError extends Error {}

interface Pending {
  resolve: (v: RespValue) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
  /** Replies to AUTH/SELECT are checked but not handed to anyone. */
  internal: boolean
}

function encode(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = Buffer.from(String(a))
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** Parses one reply at `pos`; undefined when the buffer does not hold a whole one yet. */
export function parseReply(buf: Buffer, pos: number): { value: RespValue; next: number } | undefined {
  if (pos >= buf.length) return undefined
  const lineEnd = buf.indexOf('\r\n', pos)
  if (lineEnd === -1) return undefined
  const type = buf[pos]
  const line = buf.toString('utf8', pos + 1, lineEnd)
  const next = lineEnd + 2
  switch (type) {
    case 0x2b: // +
      return { value: line, next }
    case 0x2d: // -
      return { value: new RedisError(line), next }
    case 0x3a: // :
      return { value: Number(line), next }
    case 0x24: {
      // $
      const len = Number(line)
      if (len === -1) return { value: null, next }
      if (buf.length < next + len + 2) return undefined
      return { value: buf.toString('utf8', next, next + len), next: next + len + 2 }
    }
    case 0x2a: {
      // *
      const count = Number(line)
      if (count === -1) return { value: null, next }
      const items: RespValue[] = []
      let at = next
      for (let i = 0; i < count; i++) {
        const r = parseReply(buf, at)
        if (!r) return undefined
        items.push(r.value)
        at = r.next
      }
      return { value: items, next: at }
    }
    default:
      throw new RedisError(`unexpected reply type ${String.fromCharCode(type ?? 0)}`)
  }
}

export class RedisClient {
  readonly #conf: RedisConfig
  #socket: Socket | null = null
  #buffer: Buffer = Buffer.alloc(0)
  readonly #pending: Pending[] = []

  constructor(conf: RedisConfig) {
    this.#conf = conf
  }

  get address(): string {
    return `${this.#conf.host}:${this.#conf.port}`
  }

  #connect(): Socket {
    const c = this.#conf
    const socket =
      c.ssl === true
        ? tlsConnect({
            host: c.host ?? '127.0.0.1',
            port: c.port,
            servername: c.server_name ?? undefined,
            rejectUnauthorized: c.ssl_verify,
          })
        : netConnect({ host: c.host ?? '127.0.0.1', port: c.port })
    socket.setNoDelay(true)
    socket.unref()
    socket.on('data', (d: Buffer) => this.#onData(d))
    const fail = (err: Error) => this.#drop(socket, err)
    socket.on('error', fail)
    socket.on('close', () => this.#drop(socket, new Error(`connection to Redis ${this.address} closed`)))
    this.#socket = socket
    this.#buffer = Buffer.alloc(0)
    if (c.password) this.#send(socket, c.username ? ['AUTH', c.username, c.password] : ['AUTH', c.password], true)
    if (c.database) this.#send(socket, ['SELECT', c.database], true)
    return socket
  }

  #drop(socket: Socket, err: Error): void {
    if (this.#socket !== socket) return
    this.#socket = null
    socket.destroy()
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer)
      p.reject(err)
    }
  }

  #send(socket: Socket, args: readonly (string | number)[], internal: boolean, p?: Omit<Pending, 'internal'>): void {
    const timeout = this.#conf.timeout
    const entry: Pending = p
      ? { ...p, internal }
      : {
          internal,
          resolve: () => {},
          reject: () => {},
          timer: setTimeout(() => this.#drop(socket, new Error(`Redis ${this.address} timed out`)), timeout),
        }
    this.#pending.push(entry)
    socket.write(encode(args))
  }

  #onData(d: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, d]) : d
    let pos = 0
    for (;;) {
      let r: ReturnType<typeof parseReply>
      try {
        r = parseReply(this.#buffer, pos)
      } catch (err) {
        if (this.#socket) this.#drop(this.#socket, err as Error)
        return
      }
      if (!r) break
      pos = r.next
      const p = this.#pending.shift()
      if (!p) continue
      clearTimeout(p.timer)
      if (r.value instanceof RedisError) {
        if (p.internal && this.#socket) this.#drop(this.#socket, r.value)
        else p.reject(r.value)
      } else p.resolve(r.value)
    }
    this.#buffer = pos === this.#buffer.length ? Buffer.alloc(0) : this.#buffer.subarray(pos)
  }

  /** Sends one command; rejects on a Redis error reply, a timeout or a lost connection. */
  command(args: readonly (string | number)[]): Promise<RespValue> {
    return new Promise((resolve, reject) => {
      const socket = this.#socket ?? this.#connect()
      const timer = setTimeout(
        () => this.#drop(socket, new Error(`Redis ${this.address} timed out after ${this.#conf.timeout} ms`)),
        this.#conf.timeout,
      )
      this.#send(socket, args, false, { resolve, reject, timer })
    })
  }

  close(): void {
    if (this.#socket) this.#drop(this.#socket, new Error('client closed'))
  }
}

const clients = new Map<string, RedisClient>()

/** One shared client per Redis (host, port, database, user, TLS). */
export function redisClient(conf: RedisConfig): RedisClient {
  const key = `${conf.host}|${conf.port}|${conf.database}|${conf.username ?? ''}|${conf.ssl}|${conf.timeout}`
  let c = clients.get(key)
  if (!c) {
    c = new RedisClient(conf)
    clients.set(key, c)
  }
  return c
}
