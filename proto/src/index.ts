/** The wire contract: generated protobuf messages plus the grpc-js service definition bridging them. */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import * as grpc from '@grpc/grpc-js'
import {
  type ControlPlaneMessage,
  ControlPlaneMessageSchema,
  type DataPlaneMessage,
  DataPlaneMessageSchema,
} from '../gen/sync_pb.ts'

export * from '../gen/sync_pb.ts'
export { create, grpc }

/** Capability a DP announces in Hello when it sends HealthReports and applies HealthOverrides. */
export const HEALTH_CAPABILITY = 'health'

/** grpc-js definition of ConfigSync.Stream, serialized with @bufbuild/protobuf. */
export const configSyncService = {
  stream: {
    path: '/turnpike.sync.v1.ConfigSync/Stream',
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: DataPlaneMessage) => Buffer.from(toBinary(DataPlaneMessageSchema, m)),
    requestDeserialize: (b: Buffer) => fromBinary(DataPlaneMessageSchema, b),
    responseSerialize: (m: ControlPlaneMessage) => Buffer.from(toBinary(ControlPlaneMessageSchema, m)),
    responseDeserialize: (b: Buffer) => fromBinary(ControlPlaneMessageSchema, b),
  },
} satisfies grpc.ServiceDefinition

export type ConfigSyncStream = grpc.ServerDuplexStream<DataPlaneMessage, ControlPlaneMessage>
export type ConfigSyncClientStream = grpc.ClientDuplexStream<DataPlaneMessage, ControlPlaneMessage>

/** Client constructor for ConfigSync; `new ConfigSyncClient(address, credentials, options)`. */
export const ConfigSyncClient = grpc.makeGenericClientConstructor(configSyncService, 'ConfigSync')

/** Room for a message's fields besides its payload. */
const ENVELOPE_BYTES = 64 * 1024

/**
 * Channel options both sides use. Message limits follow `cluster_max_payload` (grpc-js's 4 MiB default
 * is far too small for big configs); keepalive pings notice a dead peer within ~10 s even when no
 * message is due.
 */
export function channelOptionsFor(maxPayloadBytes: number): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxPayloadBytes + ENVELOPE_BYTES,
    'grpc.max_send_message_length': maxPayloadBytes + ENVELOPE_BYTES,
    'grpc.keepalive_time_ms': 5_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Below the peer's keepalive time, or the server would answer its pings with GOAWAY.
    'grpc.http2.min_ping_interval_without_data_ms': 4_000,
  }
}

/** The options for the default `cluster_max_payload` (128 MiB). */
export const channelOptions: grpc.ChannelOptions = channelOptionsFor(128 * 1024 * 1024)
