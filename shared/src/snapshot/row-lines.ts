/**
 * The sync payload: UTF-8 lines `+\t<collection>\t<canonical row JSON>` (insert or replace) and
 * `-\t<collection>\t<id>` (delete), in id order within a collection, compressed. A full snapshot is the
 * upserts of every row. Decoding parses line by line and yields to the event loop between slices, so a
 * 100k-row config never stalls the data plane; row digests come from the received bytes, not re-serialization.
 */

import { once } from 'node:events'
import { promisify } from 'node:util'
import {
  createGunzip,
  createGzip,
  createZstdCompress,
  createZstdDecompress,
  gunzip,
  gzip,
  constants as zlib,
  zstdCompress,
  zstdDecompress,
} from 'node:zlib'
import { type ConfigChanges, cooperative } from './delta.ts'
import { rowDigestString, writeDigests } from './digests.ts'
import { canonicalJson, type EntityRow, type Snapshot, snapshotCollections } from './model.ts'

/** Payload encodings, most preferred first. */
export const ROW_ENCODINGS = ['rows+zstd', 'rows+gzip'] as const
export type RowEncoding = (typeof ROW_ENCODINGS)[number]

export function isRowEncoding(s: string): s is RowEncoding {
  return (ROW_ENCODINGS as readonly string[]).includes(s)
}

const TAB = 0x09
const NEWLINE = 0x0a
const PLUS = 0x2b
const MINUS = 0x2d

/** Encodes changes as payload lines (uncompressed), in chunks of about a thousand lines, yielding between them. */
export async function* encodeChangeChunks(changes: ConfigChanges): AsyncGenerator<Buffer> {
  const tick = cooperative()
  let parts: string[] = []
  for (const [name, change] of Object.entries(changes)) {
    for (const row of change.upserts) {
      parts.push(`+\t${name}\t${canonicalJson(row)}\n`)
      if (parts.length === 1024) {
        yield Buffer.from(parts.join(''), 'utf8')
        parts = []
        await tick()
      }
    }
    for (const id of change.deletes) parts.push(`-\t${name}\t${id}\n`)
  }
  if (parts.length) yield Buffer.from(parts.join(''), 'utf8')
}

/** The same, as one buffer (the control plane compresses a payload once for every data plane). */
export async function encodeChangeLines(changes: ConfigChanges): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of encodeChangeChunks(changes)) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** A whole snapshot as changes from an empty config (every row an upsert). */
export function snapshotAsChanges(snapshot: Snapshot): ConfigChanges {
  const out: ConfigChanges = {}
  for (const [name, rows] of Object.entries(snapshot.entities))
    if (rows.length) out[name] = { upserts: rows, deletes: [] }
  return out
}

/**
 * Parses payload lines into changes with the digest of every upserted row. The input is the whole payload or its
 * chunks as they are decompressed (lines may span chunks), so a big payload is never held or joined in one piece.
 * Throws (with a message meant for a Nack) on a malformed line, an unknown collection or rows out of id order.
 */
export async function decodeChangeLines(input: Buffer | AsyncIterable<Buffer>): Promise<ConfigChanges> {
  const tick = cooperative()
  const known = new Set(snapshotCollections())
  const out: ConfigChanges = {}
  const digestLists = new Map<string, string[]>()
  let line = 0

  /** Parses the complete lines in buf[0, end). */
  const lines = async (buf: Buffer, end: number) => {
    let pos = 0
    while (pos < end) {
      // A look at the clock every 64 lines keeps each slice near its budget even for wide rows.
      if ((++line & 0x3f) === 0) await tick()
      let eol = buf.indexOf(NEWLINE, pos)
      if (eol < 0 || eol > end) eol = end
      parseLine(buf, pos, eol)
      pos = eol + 1
    }
  }

  const parseLine = (buf: Buffer, pos: number, end: number) => {
    const op = buf[pos]
    const tab = buf.indexOf(TAB, pos + 2)
    if ((op !== PLUS && op !== MINUS) || buf[pos + 1] !== TAB || tab < 0 || tab > end)
      throw new Error(`payload line ${line} is malformed`)
    const name = buf.toString('utf8', pos + 2, tab)
    if (!known.has(name)) throw new Error(`payload line ${line}: unknown collection '${name}'`)
    let change = out[name]
    if (!change) {
      change = { upserts: [], deletes: [] }
      out[name] = change
      digestLists.set(name, [])
    }
    if (op === PLUS) {
      const bytes = buf.subarray(tab + 1, end)
      let row: EntityRow
      try {
        row = JSON.parse(bytes.toString('utf8'))
      } catch (err) {
        throw new Error(`payload line ${line}: ${(err as Error).message}`)
      }
      if (row === null || typeof row !== 'object' || typeof row.id !== 'string')
        throw new Error(`payload line ${line}: a ${name} row must be an object with a string id`)
      const prev = change.upserts.at(-1)
      if (prev && !(prev.id < row.id)) throw new Error(`payload line ${line}: ${name} rows are not in id order`)
      change.upserts.push(row)
      digestLists.get(name)!.push(rowDigestString(bytes))
    } else {
      const id = buf.toString('utf8', tab + 1, end)
      const prev = change.deletes.at(-1)
      if (prev !== undefined && !(prev < id))
        throw new Error(`payload line ${line}: ${name} deletes are not in id order`)
      change.deletes.push(id)
    }
  }

  if (Buffer.isBuffer(input)) await lines(input, input.length)
  else {
    // The partial last line of a chunk waits for the rest of it in the next.
    let carry: Buffer = Buffer.alloc(0)
    for await (const chunk of input) {
      const last = chunk.lastIndexOf(NEWLINE)
      if (last < 0) {
        carry = Buffer.concat([carry, chunk])
        continue
      }
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk
      const end = carry.length + last
      await lines(buf, end)
      carry = buf.subarray(end + 1)
    }
    if (carry.length) await lines(carry, carry.length)
  }
  for (const [name, list] of digestLists) out[name]!.digests = writeDigests(list)
  return out
}

const zstdCompressAsync = promisify(zstdCompress)
const zstdDecompressAsync = promisify(zstdDecompress)
const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)

/** Compresses off the main thread (libuv's pool). zstd at level 3: as small as gzip -6 here, and faster. */
export function compressPayload(raw: Buffer, encoding: RowEncoding): Promise<Buffer> {
  return encoding === 'rows+zstd'
    ? zstdCompressAsync(raw, { params: { [zlib.ZSTD_c_compressionLevel]: 3 } })
    : gzipAsync(raw)
}

function checkSizes(encoding: string, rawSize: number, maxRawBytes: number): asserts encoding is RowEncoding {
  if (!isRowEncoding(encoding))
    throw new Error(`unsupported payload encoding '${encoding}' (expected one of ${ROW_ENCODINGS.join(', ')})`)
  if (rawSize > maxRawBytes) throw new Error(`payload of ${rawSize} bytes exceeds the ${maxRawBytes}-byte limit`)
}

/**
 * Decompresses off the main thread, refusing more than `maxRawBytes` of output (a corrupt or hostile payload
 * cannot exhaust memory) and checking the size the sender announced.
 */
export async function decompressPayload(
  payload: Uint8Array,
  encoding: string,
  rawSize: number,
  maxRawBytes: number,
): Promise<Buffer> {
  checkSizes(encoding, rawSize, maxRawBytes)
  const input = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  // One byte of slack over the announced size, so a longer payload is detected rather than truncated.
  const options = { maxOutputLength: Math.max(1, rawSize + 1) }
  let raw: Buffer
  try {
    raw = encoding === 'rows+zstd' ? await zstdDecompressAsync(input, options) : await gunzipAsync(input, options)
  } catch (err) {
    throw new Error(`payload could not be decompressed: ${(err as Error).message}`)
  }
  if (raw.length !== rawSize) throw new Error(`payload is ${raw.length} bytes once decompressed, expected ${rawSize}`)
  return raw
}

/**
 * The same as a stream of chunks, for decodeChangeLines: the decompressed payload is never joined into one
 * buffer (tens of megabytes copied on the main thread at once).
 */
export async function* decompressChunks(
  payload: Uint8Array,
  encoding: string,
  rawSize: number,
  maxRawBytes: number,
): AsyncGenerator<Buffer> {
  checkSizes(encoding, rawSize, maxRawBytes)
  const input = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  const stream = encoding === 'rows+zstd' ? createZstdDecompress(STREAM) : createGunzip(STREAM)
  stream.end(input)
  let total = 0
  const chunks = stream[Symbol.asyncIterator]()
  try {
    for (;;) {
      let next: IteratorResult<Buffer>
      try {
        next = await chunks.next()
      } catch (err) {
        throw new Error(`payload could not be decompressed: ${(err as Error).message}`)
      }
      if (next.done) break
      total += next.value.length
      if (total > rawSize) throw new Error(`payload is longer than the ${rawSize} bytes announced`)
      yield next.value
    }
  } finally {
    stream.destroy()
  }
  if (total !== rawSize) throw new Error(`payload is ${total} bytes once decompressed, expected ${rawSize}`)
}

/** Chunks of 256 KiB: few enough callbacks, small enough to parse between yields. */
const STREAM = { chunkSize: 256 * 1024 }

/** Compresses chunks as they come (zlib's thread pool), yielding compressed chunks: nothing is joined whole. */
export async function* compressChunks(chunks: AsyncIterable<Buffer>, encoding: RowEncoding): AsyncGenerator<Buffer> {
  const stream =
    encoding === 'rows+zstd'
      ? createZstdCompress({ ...STREAM, params: { [zlib.ZSTD_c_compressionLevel]: 3 } })
      : createGzip(STREAM)
  const feeding = (async () => {
    try {
      for await (const chunk of chunks) if (!stream.write(chunk)) await once(stream, 'drain')
      stream.end()
    } catch (err) {
      stream.destroy(err as Error)
    }
  })()
  try {
    for await (const out of stream) yield out as Buffer
  } finally {
    stream.destroy()
    await feeding
  }
}
