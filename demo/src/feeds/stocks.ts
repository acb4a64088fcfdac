import type { Hub } from '@ssekit/core';

/** The topic the ticker publishes to. */
export const STOCKS_TOPIC = 'stocks';

/** One symbol in a tick. */
export interface Quote {
  readonly symbol: string;
  readonly name: string;
  readonly price: number;
  /** Change since the session opened, in currency and in percent. */
  readonly change: number;
  readonly changePercent: number;
}

/** What each `tick` event carries. `seq` counts ticks without holes, so a client can prove it missed none. */
export interface Tick {
  readonly seq: number;
  readonly t: number;
  readonly quotes: readonly Quote[];
}

// Made-up companies: a demo should not look like market data anyone could trade on.
const LISTING = [
  { symbol: 'ACME', name: 'Acme Rockets', open: 124.5, volatility: 0.004 },
  { symbol: 'NOVA', name: 'Nova Energy', open: 58.2, volatility: 0.006 },
  { symbol: 'ORBT', name: 'Orbital Freight', open: 212.75, volatility: 0.003 },
  { symbol: 'PIXL', name: 'Pixel Foundry', open: 33.9, volatility: 0.009 },
  { symbol: 'QNTM', name: 'Quantum Mills', open: 401.1, volatility: 0.005 },
  { symbol: 'ZETA', name: 'Zeta Logistics', open: 76.45, volatility: 0.004 },
] as const;

/**
 * The stock ticker, on a hub: a random walk per symbol, one `tick` event per interval on the `stocks` topic.
 * Instead of a thread per connection (the usual Spring `SseEmitter` ticker), one publisher serves every subscriber
 * on every instance.
 */
export class StockTicker {
  private readonly prices: number[] = LISTING.map((s) => s.open);
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: Hub,
    private readonly interval: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.publish();
    this.timer = setInterval(() => this.publish(), this.interval);
    // The server's handle keeps the process alive, never a feed.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The next tick: moves every price and numbers the tick. */
  next(): Tick {
    const quotes = LISTING.map((listing, i) => {
      const previous = this.prices[i] as number;
      // A gentle pull back to the open keeps the walk on screen for hours.
      const drift = ((listing.open - previous) / listing.open) * 0.02;
      const shock = (Math.random() - 0.5) * 2 * listing.volatility;
      const price = Math.max(1, previous * (1 + drift + shock));
      this.prices[i] = price;
      const change = price - listing.open;
      return {
        symbol: listing.symbol,
        name: listing.name,
        price: round(price),
        change: round(change),
        changePercent: round((change / listing.open) * 100),
      };
    });
    return { seq: ++this.seq, t: Date.now(), quotes };
  }

  private publish(): void {
    if (this.hub.closed) return;
    this.hub.publish(STOCKS_TOPIC, this.next(), { event: 'tick' }).catch(this.onError);
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
