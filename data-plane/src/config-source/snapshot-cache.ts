/**
 * The data plane's config cache: every applied snapshot, written atomically (temp file, fsync, rename, fsync of
 * the directory) under the prefix, so a DP restarted while its control plane is away serves what it served. The
 * file is a header line (version, hashes, payload checksum) and the compressed payload in the sync wire format;
 * a corrupt or partial file is detected and ignored with a clear log line. Writes happen after the swap, off the
 * request path, at most one at a time and no more often than `minIntervalMs` (the newest snapshot wins).
 */
import { createHash } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  applyChanges,
  compressPayload,
  configHash,
  decodeChangeLines,
  decompressChunks,
  encodeChangeLines,
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
    const eol = file.indexOf(0x0a, MAGIC.length)
    if (eol < 0) throw new Error('header is truncated')
    const header = JSON.parse(file.toString('utf8', MAGIC.length, eol)) as Header
    const payload = file.subarray(eol + 1)
    if (payload.length !== header.payload_bytes)
      throw new Error(`payload is ${payload.length} bytes, the header says ${header.payload_bytes}`)
    const sum = createHash('sha256').update(payload).digest('hex')
    if (sum !== header.payload_sha256) throw new Error('payload checksum mismatch')
    const changes = await decodeChangeLines(decompressChunks(payload, header.encoding, header.raw_size, MAX_RAW_BYTES))
    const snapshot = await applyChanges(sealSnapshot(0, {}), changes, header.version)
    if (snapshot.hash !== header.hash || configHash(header.part_hashes) !== header.hash)
      throw new Error(`content hashes to ${snapshot.hash}, the header says ${header.hash}`)
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
    // The bytes it arrived in when it came whole from the CP; re-encoded (off the hot path) after a delta.
    let encoded = receivedPayload(snapshot)
    if (!encoded) {
      const raw = await encodeChangeLines(snapshotAsChanges(snapshot))
      encoded = { encoding: 'rows+zstd', payload: await compressPayload(raw, 'rows+zstd'), raw_size: raw.length }
    }
    const header: Header = {
      version: snapshot.version,
      hash: snapshot.hash,
      part_hashes: snapshot.part_hashes,
      encoding: encoded.encoding,
      raw_size: encoded.raw_size,
      payload_bytes: encoded.payload.length,
      payload_sha256: createHash('sha256').update(encoded.payload).digest('hex'),
      written_at: new Date().toISOString(),
    }
    await mkdir(this.#dir, { recursive: true })
    const temp = `${this.path}.${process.pid}.tmp`
    const fh = await open(temp, 'w', 0o600)
    try {
      await fh.writeFile(Buffer.concat([Buffer.from(MAGIC), Buffer.from(`${JSON.stringify(header)}\n`)]))
      await fh.writeFile(encoded.payload)
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
    return MAGIC.length + encoded.payload.length
  }
}
