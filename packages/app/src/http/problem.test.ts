import { describe, expect, it } from 'vitest';
import { problemBody, titleOf } from './problem.js';

describe('problem titles', () => {
  it('each status the app answers with is titled as HTTP names it, not as a bad request', () => {
    expect(titleOf(408)).toBe('Request timeout');
    expect(titleOf(412)).toBe('Precondition failed');
    expect(titleOf(428)).toBe('Precondition required');
    expect(titleOf(431)).toBe('Request header fields too large');
    expect(problemBody({ status: 408, detail: 'x', code: 'REQUEST_TIMEOUT' })).toMatchObject({
      title: 'Request timeout',
      type: 'https://signalbox.dev/problems/request-timeout',
    });
  });
});
