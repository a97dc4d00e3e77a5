import { describe } from 'node:test';
import { singleNodeTopology } from '../../support/switchboard-node.ts';
import { cuttlefishProtocolSuite, SUITE_OVERRIDES } from './protocol.scenarios.ts';

describe('cuttlefish protocol, single node', () => {
  cuttlefishProtocolSuite(() => singleNodeTopology(SUITE_OVERRIDES));
});
