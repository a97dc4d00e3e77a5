import type { Dialect, DialectContext, MountedDialect } from '../dialect.ts';
import { MobzEndpoint } from './endpoint.ts';
import { MemberPost } from './member-post.ts';
import { RoomSignals } from './room-signals.ts';
import { RoomStore } from './room-store.ts';
import { RoomWarden } from './room-warden.ts';

/** MobZ room signaling (specs/mobz.md): rooms with heartbeats, lossless reconnect, mesh WebRTC. */
export const mobz: Dialect = {
  name: 'mobz',
  async mount(context: DialectContext): Promise<MountedDialect> {
    const { config, router, log, metrics } = context;
    const heartbeatTimeoutMs = config['mobz.heartbeatTimeoutMs'];
    const store = new RoomStore(context.state, heartbeatTimeoutMs, config['mobz.resumeBufferSignals']);
    const post = new MemberPost(router, store, metrics, log);
    const signals = new RoomSignals(context.nodeId, store, post, context.ice);
    const warden = new RoomWarden(context.nodeId, store, signals, context.liveness, heartbeatTimeoutMs, config.nodeLeaseMs, log);
    signals.homes = warden;
    const endpoint = new MobzEndpoint(context, {
      signals,
      store,
      post,
      metrics,
      log,
      register: (local, mailbox) => router.register(local, mailbox),
      unregister: (local) => router.unregister(local),
      lingerMs: heartbeatTimeoutMs * 2,
    });
    context.addWebSocketEndpoint(endpoint);
    await warden.start();
    endpoint.start();
    return {
      async stop() {
        endpoint.stop();
        warden.stop();
      },
    };
  },
};
