import { sendJson, sendJsonText } from '../../transport/http-router.ts';
import { staticFiles } from '../../transport/static-files.ts';
import type { Dialect, DialectContext, MountedDialect } from '../dialect.ts';
import { ClientEndpoint } from './client-endpoint.ts';
import { DeviceDirectory } from './device-directory.ts';
import { DeviceEndpoint } from './device-endpoint.ts';
import { DeviceWaiters } from './device-link.ts';
import { PollingClients } from './polling.ts';
import { configFrame } from './wire.ts';

/** Android Cuttlefish's webrtc_operator protocol (specs/cuttlefish.md). */
export const cuttlefish: Dialect = {
  name: 'cuttlefish',
  async mount(context: DialectContext): Promise<MountedDialect> {
    const { config, http, state, bus } = context;
    const directory = new DeviceDirectory(state, bus, config['cuttlefish.deviceLeaseMs']);
    const waiters = new DeviceWaiters();
    const unsubscribe = await directory.onRegistered(waiters.handleRegistration);
    const devices = new DeviceEndpoint(context, directory);
    const clients = new ClientEndpoint(context, directory, waiters);
    const polling = new PollingClients(context, directory);
    context.addWebSocketEndpoint(devices);
    context.addWebSocketEndpoint(clients);

    http.route('GET', '/devices', async (_request, response) => {
      sendJson(response, 200, await directory.list());
    });
    http.route('GET', '/devices/:id', async (_request, response, { id }) => {
      const record = await directory.lookup(id!);
      if (!record) return sendJson(response, 404, { error: `Device not found: ${id}` });
      sendJsonText(response, 200, `{"device_id":${JSON.stringify(id)},"device_info":${record.deviceInfoSource}}`);
    });
    http.route('GET', '/infra_config', (_request, response) => {
      sendJsonText(response, 200, configFrame(context.ice.iceServers(`cf-http-${context.nodeId}`)));
    });
    http.route('POST', '/connect', polling.connect);
    http.route('POST', '/forward', polling.forward);
    http.route('POST', '/poll_messages', polling.pollMessages);
    if (config['cuttlefish.staticDir']) http.fallback(staticFiles(config['cuttlefish.staticDir']));

    devices.start();
    clients.start();
    polling.start();
    return {
      async stop() {
        devices.stop();
        clients.stop();
        polling.stop();
        await unsubscribe();
      },
    };
  },
};
