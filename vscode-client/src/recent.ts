/** Recently planned tasks, most recent first, kept in the extension's global state. */
export interface StateStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

export const RECENT_KEY = 'rtk.recentTasks';
export const RECENT_MAX = 10;

export class RecentTasks {
  constructor(private readonly store: StateStore) {}

  list(): string[] {
    const value = this.store.get<unknown>(RECENT_KEY);
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
  }

  async add(task: string): Promise<void> {
    const t = task.trim();
    if (!t) {
      return;
    }
    const next = [t, ...this.list().filter((x) => x !== t)].slice(0, RECENT_MAX);
    await this.store.update(RECENT_KEY, next);
  }
}
