// A local copy of a collection kept current the way client-go's informers do: one list, then a watch from its
// resourceVersion, watched again from the last version seen when the server ends it, listed again when that
// version has expired. `status --watch` follows the cluster with it instead of listing every few seconds.
import type { Context } from "../context.js";
import type { Collection, KubeClient } from "../kube/types.js";
import { asError, backoff, proven } from "./write.js";

interface Obj {
  metadata: { namespace?: string; name?: string; resourceVersion?: string };
}

/** A watch that ends sooner than this without a change is followed by a pause: a server or proxy that closes watches at once must not make a busy loop. */
const MIN_WATCH_MS = 1000;

export class Mirror<T extends Obj> {
  private objects = new Map<string, T>();
  private resourceVersion = "";

  constructor(
    private readonly kube: KubeClient,
    readonly what: Collection,
  ) {}

  items(): T[] {
    return [...this.objects.values()];
  }

  /** Lists the collection (in pages) and replaces the copy. */
  async list(): Promise<void> {
    const l = await this.kube.listAt<T>(this.what);
    this.objects = new Map(l.items.map((o) => [key(o), o]));
    this.resourceVersion = l.resourceVersion;
  }

  /**
   * Keeps the copy current until ctx.signal aborts, calling onChange after each change. Transient failures
   * (connection lost, 5xx) are retried with backoff; a refusal (403) ends it with that error.
   */
  async follow(ctx: Context, onChange: () => void): Promise<void> {
    for (let failures = 0; !ctx.signal.aborted; ) {
      const started = ctx.clock.now().getTime();
      let changes = 0;
      try {
        const end = await this.kube.watch<T>(
          this.what,
          this.resourceVersion,
          (e) => {
            if (e.object.metadata.resourceVersion) this.resourceVersion = e.object.metadata.resourceVersion;
            if (e.type === "BOOKMARK") return;
            if (e.type === "DELETED") this.objects.delete(key(e.object));
            else this.objects.set(key(e.object), e.object);
            changes++;
            onChange();
          },
          ctx.signal,
        );
        failures = 0;
        if (end === "expired") {
          await this.list();
          onChange();
        } else if (changes === 0 && ctx.clock.now().getTime() - started < MIN_WATCH_MS) {
          await ctx.clock.sleep(MIN_WATCH_MS, ctx.signal);
        }
      } catch (e) {
        if (proven(e) || ctx.signal.aborted) {
          if (ctx.signal.aborted) return;
          throw e;
        }
        const err = asError(e);
        await ctx.clock.sleep(err.retryAfterMs ?? backoff(failures++), ctx.signal);
      }
    }
  }
}

const key = (o: Obj): string => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
