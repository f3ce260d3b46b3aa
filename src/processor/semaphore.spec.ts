import { Semaphore } from './semaphore';

describe('Semaphore', () => {
  it('admits up to its size and then serves waiters in order', async () => {
    const s = new Semaphore(2);
    await s.acquire();
    await s.acquire();
    const order: number[] = [];
    const a = s.acquire().then(() => order.push(1));
    const b = s.acquire().then(() => order.push(2));
    expect(s.waiting).toBe(2);
    s.release();
    await a;
    expect(order).toEqual([1]);
    s.release();
    await b;
    expect(order).toEqual([1, 2]);
    expect(s.waiting).toBe(0);
  });

  it('returns a permit when nobody waits', async () => {
    const s = new Semaphore(1);
    await s.acquire();
    s.release();
    let got = false;
    await s.acquire().then(() => (got = true));
    expect(got).toBe(true);
  });
});
