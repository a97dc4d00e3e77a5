import { describe } from 'node:test';
import { clusterTopology } from '../../support/switchboard-node.ts';
import { cuttlefishProtocolSuite, SUITE_OVERRIDES } from './protocol.scenarios.ts';

describe('cuttlefish protocol, 3-node cluster on one Redis', () => {
  cuttlefishProtocolSuite(() => clusterTopology({ ...SUITE_OVERRIDES, 'cuttlefish.deviceLeaseMs': 3000 }));
});
