// Comparison target: the PeerJS server (npm `peer`), started with its programmatic API.
// Peers connect to ws://host:port/peerjs?key=peerjs&id=<id>&token=<token>, receive
// {"type":"OPEN"}, and send {"type":"OFFER","dst":<peer id>,"payload":…}; the server sets
// `src` and relays {"type","src","dst","payload"} to dst (see node_modules/peer/dist).
//
// usage: node bench/targets/peerjs-server.ts <port>

import { PeerServer } from 'peer';

const port = Number(process.argv[2] ?? 9000);

PeerServer(
  {
    port,
    host: '127.0.0.1',
    path: '/',
    // The default (5000) would refuse connections in an idle-connection run.
    concurrent_limit: 100_000,
  },
  () => {
    console.log(JSON.stringify({ msg: 'peerjs listening', port }));
  },
);
process.on('SIGTERM', () => process.exit(0));
