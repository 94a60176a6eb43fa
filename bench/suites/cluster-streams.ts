/**
 * cluster suite helper: `--count` simulated data planes in one process, each on its own gRPC connection (its own
 * TLS session) to the control plane, as real DPs would be. They say Hello like a DP (delta capable, every bundled
 * plugin), Ack every config at once without applying it and answer heartbeats. Once every stream holds its first
 * config the ready line is printed; then, each time every stream has acked a newer version, a line
 * `ALL {"version", "first", "p50", "p99", "last"}` gives the receipt times (epoch ms) across streams.
 *
 * Usage: node cluster-streams.ts --address host:port --count 1000 --cert F --key F [--server-name N]
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import {
  ConfigSyncClient,
  type ConfigSyncClientStream,
  type ControlPlaneMessage,
  channelOptions,
  create,
  DataPlaneMessageSchema,
  grpc,
} from '@turnpike/proto'
import { pluginDefs, TURNPIKE_VERSION } from '@turnpike/shared'
import { announceReady, exitOnStop } from '../targets/lifecycle.ts'

const { values } = parseArgs({
  options: {
    address: { type: 'string' },
    count: { type: 'string', default: '1000' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'server-name': { type: 'string', default: 'turnpike_clustering' },
  },
})
const count = Number(values.count)
const cert = readFileSync(values.cert!)
const key = readFileSync(values.key!)
const credentials = grpc.credentials.createSsl(cert, key, cert, { checkServerIdentity: () => undefined })
const options = { ...channelOptions, 'grpc.ssl_target_name_override': values['server-name'] }
const now = () => performance.timeOrigin + performance.now()

type StreamClient = grpc.Client & { stream(): ConfigSyncClientStream }
const clients: StreamClient[] = []
const receipts = new Map<number, number[]>()
let announced = 0
let firstConfigs = 0

function received(version: number): void {
  const list = receipts.get(version) ?? []
  list.push(now())
  receipts.set(version, list)
  // Everyone has it (or something newer) once the count for the newest version seen by all is reached.
  if (list.length === count && version > announced) {
    announced = version
    list.sort((a, b) => a - b)
    const at = (q: number) => list[Math.min(list.length - 1, Math.floor(q * list.length))]
    process.stdout.write(
      `ALL ${JSON.stringify({ version, first: list[0], p50: at(0.5), p99: at(0.99), last: list.at(-1) })}\n`,
    )
    for (const v of receipts.keys()) if (v <= version) receipts.delete(v)
  }
}

function open(): Promise<void> {
  return new Promise((resolve) => {
    const client = new ConfigSyncClient(values.address!, credentials, options) as unknown as StreamClient
    clients.push(client)
    const call = client.stream()
    let first = true
    const send = (kind: Parameters<typeof create<typeof DataPlaneMessageSchema>>[1]) =>
      call.write(create(DataPlaneMessageSchema, kind))
    call.on('data', (m: ControlPlaneMessage) => {
      const k = m.kind
      if (k.case === 'snapshot' || k.case === 'delta') {
        const version = k.case === 'snapshot' ? k.value.version : k.value.toVersion
        received(Number(version))
        send({ kind: { case: 'ack', value: { version, hash: k.value.hash, nonce: k.value.nonce } } })
        if (first) {
          first = false
          firstConfigs++
          resolve()
        }
      } else if (k.case === 'heartbeat') {
        send({ kind: { case: 'heartbeat', value: { sentAtMs: BigInt(Date.now()) } } })
      }
    })
    call.on('error', (err) => process.stderr.write(`stream error: ${err.message}\n`))
    send({
      kind: {
        case: 'hello',
        value: {
          nodeId: randomUUID(),
          hostname: `sim-${clients.length}`,
          version: TURNPIKE_VERSION,
          plugins: pluginDefs.map((d) => ({ name: d.name, version: d.version })),
          capabilities: ['delta', 'encoding:rows+zstd', 'encoding:rows+gzip'],
        },
      },
    })
  })
}

// In waves, so 1,000 TLS handshakes do not all land on the CP in the same millisecond.
for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => open()))
announceReady({ streams: clients.length, first_configs: firstConfigs, pid: process.pid })
exitOnStop(() => {
  for (const c of clients) c.close()
})
