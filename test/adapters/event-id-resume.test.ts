import { MAX_LAST_EVENT_ID_LENGTH } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { openEventSource } from '../support/clients.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { resumeThroughEveryEdgeId, startApp } from './edge-ids.js';
import { adapters, appTracker } from './harness.js';

// Every id send() accepts comes back intact as Last-Event-ID and resumes, in the `eventsource` package (edge-ids.ts
// lists the edge cases; event-id-resume-chromium.test.ts runs them in Chromium).

const teardown = closeAfterEach();
const apps = appTracker(teardown);

describe.each(adapters)('$name: the eventsource package', (adapter) => {
  it('resumes from every edge-case id send() accepts', async () => {
    const { app, seen } = await startApp(apps, adapter);
    const es = teardown.track(openEventSource(`${app.url}/events?id=tab`, { eventTypes: ['ssekit-reset'] }));
    await es.waitForOpen();
    await resumeThroughEveryEdgeId(app, seen, {
      waitForEvents: (count) => es.waitForEvents(count),
      waitForOpens: (count) => es.waitForOpen(count),
    });
  });

  it('refuses at send() ids that could not come back (non-ASCII, too long), so the client keeps resuming', async () => {
    const { app, seen } = await startApp(apps, adapter);
    const es = teardown.track(openEventSource(`${app.url}/events?id=tab`, { eventTypes: ['ssekit-reset'] }));
    await es.waitForOpen();
    await waitFor(() => app.hub.has('tab'), 'the client to register');
    expect(() => app.hub.send('tab', 'euro', { id: '€-2' })).toThrow(/encodeURIComponent\(id\)/);
    expect(() => app.hub.send('tab', 'long', { id: 'x'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1) })).toThrow(/at most/);
    await app.hub.send('tab', 'kept', { id: 'kept-1' });
    await es.waitForEvents(1);
    app.hub.disconnect('tab');
    await app.hub.send('tab', 'missed');
    await es.waitForOpen(2);
    expect((await es.waitForEvents(2)).map((e) => e.data)).toEqual(['kept', 'missed']);
    expect(seen).toEqual([undefined, 'kept-1']);
  });
});
