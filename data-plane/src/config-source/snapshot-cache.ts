/**
 * The data plane's config cache: every applied snapshot, written atomically (temp file, fsync, rename, fsync of
 * the directory) under the prefix, so a DP restarted while its control plane is away serves what it served. The
 * file is a magic line, the compressed payload in the sync wire format, then a trailer line (version, hashes,
 * payload size and checksum) — last, so a payload re-encoded after a delta streams to disk without being held
 * whole. A corrupt or partial file is detected and ignored with a clear log line. Writes happen after the swap,
 * off the request path, at most one at a time and no more often than `minIntervalMs` (the newest snapshot wins).
 */
import { createHash } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  applyChanges,
  compressChunks,
  configHash,
  decodeChangeLines,
  decompressChunks,
  encodeChangeChunks,
  type Logger,
  type RowEncoding,
  type Snapshot,
  sealSnapshot,
  snapshotAsChanges,
} from '@turnpike/shared'
import { receivedPayload } from './decode-config.ts'

const MAGIC = 'TURNPIKE-CONFIG-CACHE 1\n'
export const CACHE_FILE = 'config.cache'
const MAX_RAW_BYTES = 4 * 1024 ** 3

interface Header {
  version: number
  hash: string
  part_hashes: Record<string, string>
  encoding: RowEncoding
  raw_size: number
  payload_bytes: number
  payload_sha256: string
  written_at: string
}

export interface SnapshotCacheOptions {
  prefix: string
  logger: Logger
  minIntervalMs?: number
}

export class SnapshotCache {
  readonly path: string
  readonly #dir: string
  readonly #log: Logger
  readonly #minIntervalMs: number
  /** Hash of what the file holds, so re-saving it is a no-op. */
  #savedHash: string | undefined
  #wanted: Snapshot | undefined
  #writing: Promise<void> | undefined
  #lastWrite = 0

  constructor(options: SnapshotCacheOptions) {
    this.#dir = options.prefix
    this.path = join(options.prefix, CACHE_FILE)
    this.#log = options.logger.child({ component: 'config-cache', path: this.path })
    this.#minIntervalMs = options.minIntervalMs ?? 2000
  }

  /** The cached snapshot, verified end to end; undefined (logged) when there is none or it is damaged. */
  async load(): Promise<Snapshot | undefined> {
    let file: Buffer
    try {
      file = await readFile(this.path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.#log.info('no config cache yet')
      else this.#log.warn({ err }, 'config cache unreadable; ignoring it')
      return undefined
    }
    try {
      const snapshot = await this.#decode(file)
      this.#savedHash = snapshot.hash
      this.#log.info({ version: snapshot.version, hash: snapshot.hash }, 'loaded config from the cache')
      return snapshot
    } catch (err) {
      this.#log.warn(
        { reason: (err as Error).message },
        'config cache is corrupt or partially written; ignoring it (the next applied config replaces it)',
      )
      return undefined
    }
  }

  async #decode(file: Buffer): Promise<Snapshot> {
    if (!file.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) throw new Error('not a Turnpike config cache')
    // The trailer is the last line; JSON has no raw newline, so the one before it ends the payload.
    const end = file.length - 1
    const start = file[end] === 0x0a ? file.lastIndexOf(0x0a, end - 1) : -1
    if (start < MAGIC.length - 1) throw new Error('the trailer is missing (a partial write)')
    const header = JSON.parse(file.toString('utf8', start + 1, end)) as Header
    const payload = file.subarray(MAGIC.length, start)
    if (payload.length !== header.payload_bytes)
      throw new Error(`payload is ${payload.length} bytes, the trailer says ${header.payload_bytes}`)
    const sum = createHash('sha256').update(payload).digest('hex')
    if (sum !== header.payload_sha256) throw new Error('payload checksum mismatch')
    const changes = await decodeChangeLines(decompressChunks(payload, header.encoding, header.raw_size, MAX_RAW_BYTES))
    const snapshot = await applyChanges(sealSnapshot(0, {}), changes, header.version)
    if (snapshot.hash !== header.hash || configHash(header.part_hashes) !== header.hash)
      throw new Error(`content hashes to ${snapshot.hash}, the trailer says ${header.hash}`)
    return snapshot
  }

  /** Schedules writing `snapshot` (replacing any write still waiting). */
  save(snapshot: Snapshot): void {
    if (snapshot.hash === this.#savedHash && !this.#wanted) return
    this.#wanted = snapshot
    this.#writing ??= this.#drain().finally(() => {
      this.#writing = undefined
    })
  }

  /** Resolves once nothing is waiting to be written. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing
  }

  async #drain(): Promise<void> {
    for (let next = this.#wanted; next; next = this.#wanted) {
      const wait = this.#lastWrite + this.#minIntervalMs - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait).unref())
      next = this.#wanted!
      this.#wanted = undefined
      if (next.hash === this.#savedHash) continue
      this.#lastWrite = Date.now()
      try {
        const started = performance.now()
        const bytes = await this.#write(next)
        this.#savedHash = next.hash
        this.#log.debug(
          { version: next.version, bytes, ms: Math.round(performance.now() - started) },
          'config cache written',
        )
      } catch (err) {
        this.#log.error({ err, version: next.version }, 'writing the config cache failed; the previous cache stays')
      }
    }
  }

  async #write(snapshot: Snapshot): Promise<number> {
    await mkdir(this.#dir, { recursive: true })
    const temp = `${this.path}.${process.pid}.tmp`
    const fh = await open(temp, 'w', 0o600)
    let bytes = 0
    try {
      const sum = createHash('sha256')
      let raw = 0
      const put = async (chunk: Uint8Array) => {
        await fh.write(chunk)
        bytes += chunk.length
      }
      await put(Buffer.from(MAGIC))
      // The bytes it arrived in when it came whole from the CP; re-encoded after a delta, chunk by chunk.
      const received = receivedPayload(snapshot)
      const encoding = received?.encoding ?? 'rows+zstd'
      if (received) {
        sum.update(received.payload)
        raw = received.raw_size
        await put(received.payload)
      } else {
        const counted = (async function* (chunks: AsyncIterable<Buffer>) {
          for await (const c of chunks) {
            raw += c.length
            yield c
          }
        })(encodeChangeChunks(snapshotAsChanges(snapshot)))
        for await (const chunk of compressChunks(counted, encoding)) {
          sum.update(chunk)
          await put(chunk)
        }
      }
      const header: Header = {
        version: snapshot.version,
        hash: snapshot.hash,
        part_hashes: snapshot.part_hashes,
        encoding,
        raw_size: raw,
        payload_bytes: bytes - MAGIC.length,
        payload_sha256: sum.digest('hex'),
        written_at: new Date().toISOString(),
      }
      await put(Buffer.from(`\n${JSON.stringify(header)}\n`))
      await fh.sync()
    } catch (err) {
      await fh.close().catch(() => {})
      await rm(temp, { force: true })
      throw err
    }
    await fh.close()
    await rename(temp, this.path)
    // The rename itself must survive a crash: sync the directory entry too.
    const dir = await open(this.#dir, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
    return bytes
  }
}
