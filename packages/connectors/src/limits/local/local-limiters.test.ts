import { limitersContract } from '../testing/limiters-contract.js';
import { LocalLimiters } from './local-limiters.js';

// in one process, the one factory is its own peer
limitersContract('in-process', async () => {
  const f = new LocalLimiters();
  return { a: f, b: f, close: () => f.close() };
});
