/** Runs a node load-generator script as a tracked child of its own (never sharing the harness's loop); resolves with its stdout. */
import { spawn } from 'node:child_process'
import { track } from '../processes.ts'

export function runNodeChild(script: URL, args: string[]): Promise<string> {
  const path = decodeURIComponent(script.pathname)
  return new Promise<string>((resolve, reject) => {
    const p = track(spawn(process.execPath, [path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }))
    let text = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString()
    })
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    p.once('error', reject)
    p.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`${path} exited ${code}: ${err}`))))
  })
}
