import Type, { type Static } from 'typebox';

/**
 * The wire messages of the cuttlefish dialect as data. docs/cuttlefish.md and the SDK's
 * types come from here. The server's own checks (wire.ts and the endpoints) test fields in
 * the reference operator's order, because which field is checked first decides which of
 * its error strings a malformed message gets.
 */
const IceServer = Type.Object(
  {
    urls: Type.Array(Type.String(), { description: 'Always an array: real devices reject a string.' }),
    username: Type.Optional(Type.String()),
    credential: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

const any = (description: string) => Type.Unknown({ description });

export const DeviceToServer = {
  register: Type.Object(
    {
      message_type: Type.Literal('register'),
      device_id: Type.String({ minLength: 1 }),
      device_info: Type.Optional(any('Stored as sent and given to clients untouched.')),
    },
    { description: 'First message of a device. Extra fields (device_port, …) are ignored.' },
  ),
  forward: Type.Object(
    { message_type: Type.Literal('forward'), client_id: Type.Integer(), payload: any('Relayed byte for byte.') },
    { description: 'A payload for one of the device\'s clients.' },
  ),
};

export const ServerToDevice = {
  config: Type.Object({ message_type: Type.Literal('config'), ice_servers: Type.Array(IceServer) }, { description: 'Answer to register.' }),
  client_msg: Type.Object({ message_type: Type.Literal('client_msg'), client_id: Type.Integer({ minimum: 1 }), payload: any('As the client sent it.') }),
  client_disconnected: Type.Object({ message_type: Type.Literal('client_disconnected'), client_id: Type.Integer({ minimum: 1 }) }),
  error: Type.Object({ error: Type.String() }, { description: 'Only on misuse; see the error table.' }),
};

export const ClientToServer = {
  connect: Type.Object(
    {
      message_type: Type.Literal('connect'),
      device_id: Type.String(),
      switchboard_wait_ms: Type.Optional(Type.Integer({ minimum: 0, description: 'Alternative flow: wait this long for the device to register (capped by cuttlefish.maxWaitForDeviceMs).' })),
    },
    { description: 'First message of a client.' },
  ),
  forward: Type.Object({ message_type: Type.Literal('forward'), payload: any('Relayed byte for byte.') }),
};

export const ServerToClient = {
  config: ServerToDevice.config,
  device_info: Type.Object({ message_type: Type.Literal('device_info'), device_info: any('As the device registered it.') }),
  device_msg: Type.Object({ message_type: Type.Literal('device_msg'), payload: any('As the device sent it.') }),
  error: Type.Object({ error: Type.String() }, { description: 'Sent right before the server closes the socket.' }),
};

export type IceServerMessage = Static<typeof IceServer>;
export type RegisterMessage = Static<typeof DeviceToServer.register>;
export type ConfigMessage = Static<typeof ServerToDevice.config>;
