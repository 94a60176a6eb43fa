/**
 * Baseline: @fastify/http-proxy with its defaults (undici transport), logging off.
 *
 * Usage: node fastify-proxy.ts --upstream http://127.0.0.1:PORT
 */
import { parseArgs } from 'node:util'
import httpProxy from '@fastify/http-proxy'
import Fastify from 'fastify'
import { announceReady, exitOnStop } from './lifecycle.ts'

const { values } = parseArgs({ options: { upstream: { type: 'string' } } })
if (!values.upstream) throw new Error('--upstream is required')

const app = Fastify({ logger: false, keepAliveTimeout: 120_000 })
await app.register(httpProxy, { upstream: values.upstream })
const address = await app.listen({ host: '127.0.0.1', port: 0 })
announceReady({ url: address, port: Number(new URL(address).port) })
exitOnStop(() => app.close())
