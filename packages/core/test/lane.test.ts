import { describe, expect, it } from 'vitest';
import { client, data, hub, start } from '../../../test/support/hub-harness.js';

describe('broadcast lane', () => {
  it('a broadcast published just before close() in the same tick is written before the stream ends', async () => {
    await start();
    const raw = await client();
    void hub!.broadcast('last words');
    hub!.streams()[0]!.close();
    await raw.waitForEnd();
    expect(data(raw)).toEqual(['last words']);
  });

  it('broadcasts around a disconnect() in one tick: the leaving tab gets the one before, the staying tab both', async () => {
    await start();
    const stays = await client('?client=bob');
    const leaves = await client('?client=alice');
    void hub!.broadcast('one');
    hub!.disconnect('alice');
    void hub!.broadcast('two');
    await stays.waitForEvents(2);
    await leaves.waitForEnd();
    expect(data(stays)).toEqual(['one', 'two']);
    expect(data(leaves)).toEqual(['one']);
  });
});
