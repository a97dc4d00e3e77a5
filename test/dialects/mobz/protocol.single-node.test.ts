import { describe } from 'node:test';
import { singleNodeTopology } from '../../support/switchboard-node.ts';
import { mobzProtocolSuite } from './protocol.scenarios.ts';

describe('mobz protocol, single node', () => {
  mobzProtocolSuite((overrides) => singleNodeTopology(overrides));
});
