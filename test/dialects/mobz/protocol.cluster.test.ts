import { describe } from 'node:test';
import { clusterTopology } from '../../support/switchboard-node.ts';
import { mobzProtocolSuite } from './protocol.scenarios.ts';

// Member i of a room connects to node i mod 2, so every forwarded signal and every
// PUBLISH_LIST_CHANGED crosses nodes; a re-JOIN goes to the other node.
describe('mobz protocol, 2-node cluster on one Redis', () => {
  mobzProtocolSuite((overrides) => clusterTopology(overrides, 2));
});
