/** A data plane's identity: a UUID kept under `<prefix>/node_id` so the control plane sees the same node after restarts. */
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export async function loadNodeId(prefix: string): Promise<string> {
  const file = join(prefix, 'node_id')
  try {
    const stored = (await readFile(file, 'utf8')).trim()
    if (UUID.test(stored)) return stored.toLowerCase()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const id = randomUUID()
  await mkdir(prefix, { recursive: true })
  // Written aside then renamed, so a crash never leaves a truncated id behind.
  const temp = `${file}.${process.pid}.tmp`
  await writeFile(temp, `${id}\n`)
  await rename(temp, file)
  return id
}
