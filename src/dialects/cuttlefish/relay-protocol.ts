import type { Address, Mailbox, MessageRouter } from '../../core/message-router.ts';
import { payloadText } from './wire.ts';

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
  message: (_device: Address, payloadSource: string) => `f${payloadSource}`,
  deviceGone: 'x',
};

/**
 * A device or client mailbox that takes a forwarded payload as bytes. Between two sockets
 * on one node the payload then goes from one frame into the next without ever being a
 * string; the letters above are for the Bus.
 */
export interface PayloadSink extends Mailbox {
  relayPayload(from: Address, payload: Uint8Array, originAt: number): void;
}

/** Sends a payload from `from` to `to`: as bytes when `to` is on this node, else as a letter. */
export function relayPayload(
  router: MessageRouter,
  to: Address,
  from: Address,
  payload: Uint8Array,
  originAt: number,
  letter: (from: Address, payloadSource: string) => string,
): void {
  const mailbox = router.local(to);
  if (mailbox !== undefined && 'relayPayload' in mailbox) (mailbox as PayloadSink).relayPayload(from, payload, originAt);
  else router.send(to, letter(from, payloadText(payload)), originAt);
}
