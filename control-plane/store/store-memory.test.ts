import { describe } from 'node:test';
import { createMemoryStore } from './store-memory.js';
import { storeContractTests } from '../../test/support/store-contract.js';

describe('the memory store', () => {
  storeContractTests(async (opts) => createMemoryStore(opts));
});
