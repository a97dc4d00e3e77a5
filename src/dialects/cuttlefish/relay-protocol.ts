import type { Address } from '../../core/message-router.ts';

/**
 * What device and client mailboxes tell each other through the MessageRouter, possibly
 * across nodes. One letter of kind, then the fields; payloads travel as their JSON source.
 *
 * to a device:  a<client>            attach: give the client an id, answer with `i`
 *               m<client>\n<payload>  a client's forward
 *               d<client>            the client is gone
 * to a client:  i<device_info>        attached; the device_info source
 *               f<payload>            a device's forward
 *               x                     the device is gone
 */
export const ToDevice = {
  attach: (client: Address) => `a${client}`,
  message: (client: Address, payloadSource: string) => `m${client}\n${payloadSource}`,
  detach: (client: Address) => `d${client}`,
};

export const ToClient = {
  attached: (deviceInfoSource: string) => `i${deviceInfoSource}`,
  message: (payloadSource: string) => `f${payloadSource}`,
  deviceGone: 'x',
};
