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
export {
  CuttlefishConnectorError,
  endpointUrl,
  type ClientDisconnected,
  type ClientForwardMessage,
  type ClientIceCandidatePayload,
  type ClientMsg,
  type ClientPayload,
  type ClientToServerMessage,
  type ConfigMessage,
  type ConnectMessage,
  type ConnectorOptions,
  type DeviceErrorPayload,
  type DeviceForwardMessage,
  type DeviceIceCandidatePayload,
  type DeviceInfoMessage,
  type DeviceMsg,
  type DevicePayload,
  type DeviceToServerMessage,
  type DisconnectInfo,
  type ErrorMessage,
  type IceServer,
  type JsonValue,
  type RegisterMessage,
  type RequestOfferPayload,
  type SdpPayload,
  type ServerToClientMessage,
  type ServerToDeviceMessage,
  type WebSocketConstructor,
  type WebSocketLike,
} from './messages.ts';
