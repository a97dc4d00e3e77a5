import { createHmac } from 'node:crypto';
import type { IceServer } from '../ops/config.ts';

export interface TurnSettings {
  urls: readonly string[];
  secret: string;
  ttlS: number;
}

/**
 * coturn's TURN REST credentials (`use-auth-secret`): username `<expiry unix s>:<id>`,
 * credential base64(HMAC-SHA1(secret, username)). coturn checks them without talking to
 * us, so minting is local and per connection.
 */
export function mintTurnCredential(secret: string, id: string, ttlS: number, nowMs = Date.now()): { username: string; credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlS}:${id}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/** The ICE server list every dialect hands out: static entries plus freshly minted TURN. */
export class IceConfigProvider {
  readonly #static: readonly IceServer[];
  readonly #turn: TurnSettings;

  constructor(staticServers: readonly IceServer[], turn: TurnSettings) {
    this.#static = staticServers;
    this.#turn = turn;
  }

  /** `id` names the user in the TURN username (coturn logs it); any string without ':'. */
  iceServers(id: string): IceServer[] {
    const servers = this.#static.map((s) => ({ ...s, urls: [...s.urls] }));
    if (this.#turn.urls.length > 0) {
      const { username, credential } = mintTurnCredential(this.#turn.secret, id.replaceAll(':', '_'), this.#turn.ttlS);
      servers.push({ urls: [...this.#turn.urls], username, credential });
    }
    return servers;
  }
}
