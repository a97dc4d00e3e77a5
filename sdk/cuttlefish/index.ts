/**
 * Switchboard's Cuttlefish SDK: typed connectors for both ends of the Cuttlefish
 * signaling protocol. Browser- and Node-safe: it needs only a WHATWG WebSocket (the
 * global one by default, or one passed as `options.WebSocket`).
 */
export { CuttlefishDeviceConnector } from './device-connector.ts';
export {
  CuttlefishClientConnector,
  createServerConnector,
  type ClientConnectOptions,
  type DeviceConnection,
  type ServerConnector,
} from './client-connector.ts';
export type {
  ClientDisconnected,
  ClientForwardMessage,
  ClientIceCandidatePayload,
  ClientMsg,
  ClientPayload,
  ClientToServerMessage,
  ConfigMessage,
  ConnectMessage,
  DeviceErrorPayload,
  DeviceForwardMessage,
  DeviceIceCandidatePayload,
  DeviceInfoMessage,
  DeviceMsg,
  DevicePayload,
  DeviceToServerMessage,
  ErrorMessage,
  IceServer,
  JsonValue,
  RegisterMessage,
  RequestOfferPayload,
  SdpPayload,
  ServerToClientMessage,
  ServerToDeviceMessage,
} from './messages.ts';
export {
  CuttlefishConnectorError,
  endpointUrl,
  type ConnectorOptions,
  type DisconnectInfo,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.ts';
