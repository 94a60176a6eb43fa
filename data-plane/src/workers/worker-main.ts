/** Entry of a proxy worker thread: serves until the main thread drains it (see proxy-worker.ts). */
import { parentPort, workerData } from 'node:worker_threads'
import type { WorkerInit } from './protocol.ts'
import { runProxyWorker } from './proxy-worker.ts'

if (parentPort === null) throw new Error('worker-main.ts runs as a worker thread of a data plane')
await runProxyWorker(parentPort, workerData as WorkerInit)
