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

/** Channel options both sides use: big configs must stream, dead peers must be noticed. */
export const channelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 256 * 1024 * 1024,
  'grpc.max_send_message_length': 256 * 1024 * 1024,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
}
