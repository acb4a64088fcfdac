/**
 * A map from event name to the type of that event's data, shared by the server that sends the events and the
 * client that reads them: `type ChatEvents = { token: { text: string }; usage: { tokens: number } }`. Events
 * without an `event:` field are named `message`.
 */
export type EventMap = object;

/** Any event map: event names are strings and data is not known. */
export type UntypedEvents = Record<string, unknown>;

/**
 * One event as the client delivers it, a union discriminated by `event`: for `ChatEvents`,
 * `{ event: 'token'; data: { text: string }; id: string } | { event: 'usage'; data: { tokens: number }; id: string }`.
 */
export type SseEvent<Events extends EventMap = UntypedEvents> = {
  [Name in keyof Events & string]: {
    /** The event's name (`message` when the server sent no `event:` field). */
    readonly event: Name;
    /** The event's data, as the `parse` option returned it (by default `JSON.parse` of the data). */
    readonly data: Events[Name];
    /**
     * The last event id as of this event (its own `id:`, or the one before it): what the client sends as
     * `Last-Event-ID` if the connection drops now. Empty before any id.
     */
    readonly id: string;
  };
}[keyof Events & string];
