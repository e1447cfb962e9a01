import Bottleneck from 'bottleneck';
import type { JobOptions, LimiterSettings, Limiters, Rate, RequestWindow } from '../limiters.js';
import { ArrivalWindow } from './arrival-window.js';

/**
 * Limits held in this process (the embedded profile, and any instance without Redis): one
 * Bottleneck and one ArrivalWindow per id, given to everyone who asks for that id here.
 */
export class LocalLimiters implements Limiters {
  readonly shared = false;
  private readonly limiters = new Map<string, Bottleneck>();
  private readonly windows = new Map<string, ArrivalWindow>();

  /** Jobs never expire here: a process that dies takes its limiters with it. */
  limiter(id: string, settings: LimiterSettings, _jobs?: JobOptions): Bottleneck {
    let l = this.limiters.get(id);
    if (l === undefined) {
      l = new Bottleneck({ ...settings, id });
      this.limiters.set(id, l);
    }
    return l;
  }

  window(id: string, limit: Rate): RequestWindow {
    let w = this.windows.get(id);
    if (w === undefined) {
      w = new ArrivalWindow(limit);
      this.windows.set(id, w);
    }
    return w;
  }

  async close(): Promise<void> {
    this.limiters.clear();
    this.windows.clear();
  }
}
