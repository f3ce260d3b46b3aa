import { basicAuthPassword } from './basic-auth';

const basic = (text: string): string => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('basicAuthPassword', () => {
  it('takes the password and ignores the user name', () => {
    expect(basicAuthPassword(basic('anyone:the-key'))).toBe('the-key');
    expect(basicAuthPassword(basic(':the-key'))).toBe('the-key');
    // Only the first colon separates: a key may contain colons.
    expect(basicAuthPassword(basic('ops:a:b:c'))).toBe('a:b:c');
    expect(basicAuthPassword(basic('ops:ключ'))).toBe('ключ');
  });

  it('accepts the scheme in any case', () => {
    expect(basicAuthPassword(`bAsIc ${Buffer.from('u:k').toString('base64')}`)).toBe('k');
  });

  it.each([
    ['absent', undefined],
    ['repeated', ['Basic dTpr', 'Basic dTpr']],
    ['another scheme', 'Bearer dTpr'],
    ['no credentials', 'Basic '],
    ['not base64', 'Basic %%%%'],
    ['base64 of the wrong length', 'Basic dTprZ'],
    ['padding in the middle', 'Basic dT=r'],
    ['two tokens', 'Basic dTpr dTpr'],
    ['no colon', basic('just-a-key')],
    ['far too long', `Basic ${'A'.repeat(8192)}`],
  ])('refuses a header that is %s', (_what, header) => {
    expect(basicAuthPassword(header as string | string[] | undefined)).toBeNull();
  });
});
