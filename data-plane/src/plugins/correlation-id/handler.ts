/**
 * correlation-id: gives every request an id in `header_name` (kept when the client sent one) for the upstream,
 * and with `echo_downstream` for the client too. Generators: `uuid`, `uuid#counter` (a per-process uuid and a
 * counter, cheap and unique), `tracker` (address, port, pid, connection, request number, time).
 */
import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { CorrelationIdConfig } from '@turnpike/shared'
import { defineHandler, type PluginContext } from '../../pipeline/types.ts'

const processUuid = randomUUID()
let counter = 0
let connections = 0
const socketIds = new WeakMap<Socket, { id: number; requests: number }>()

function tracker(ctx: PluginContext): string {
  const socket = ctx.request.raw.socket
  let s = socketIds.get(socket)
  if (!s) {
    s = { id: ++connections, requests: 0 }
    socketIds.set(socket, s)
  }
  s.requests++
  return `${socket.localAddress}-${socket.localPort}-${process.pid}-${s.id}-${s.requests}-${(Date.now() / 1000).toFixed(3)}`
}

const GENERATORS: Record<CorrelationIdConfig['generator'], (ctx: PluginContext) => string> = {
  uuid: () => randomUUID(),
  'uuid#counter': () => `${processUuid}#${++counter}`,
  tracker,
}

interface Compiled {
  conf: CorrelationIdConfig
  header: string
  generate: (ctx: PluginContext) => string
}

export const correlationIdHandler = defineHandler<CorrelationIdConfig, Compiled>({
  compile(conf) {
    return { conf, header: conf.header_name.toLowerCase(), generate: GENERATORS[conf.generator] }
  },
  access(ctx, c) {
    let id = ctx.request.header(c.header)
    if (id === undefined || id === '') {
      id = c.generate(ctx)
      ctx.upstream.setHeader(c.conf.header_name, id)
    }
    ctx.shared.correlation_id = id
    if (c.conf.echo_downstream) ctx.plugin.id = id
    return undefined
  },
  response(ctx, c) {
    if (!c.conf.echo_downstream) return
    const id = (ctx.plugin.id as string | undefined) ?? ctx.request.header(c.header)
    if (id !== undefined) ctx.response.setHeader(c.conf.header_name, id)
  },
})
