/**
 * A module kept out of the first load and imported on first use, that can be used at once, in
 * the same step, once it has arrived. A bare `import()` resolves a task or more later even for
 * a module already loaded: where the module's work starts a call (the microphone's request), the
 * render of the state that asked for it ran first, and the call waited behind it (100–230 ms
 * from dial to the microphone's request, measured in `npm run bench`).
 */
export interface LazyModule<M> {
	/** The module, once it has loaded; null before. */
	readonly now: M | null;
	/** Imports it (once; again after a failure, e.g. offline before it was cached). */
	load(): Promise<M>;
	/** Runs `use` with the module: at once if it has loaded, else when it arrives; `failed` if it
	 * cannot load. */
	use(use: (m: M) => void, failed?: () => void): void;
}

/**
 * A dynamic import that is fetched once, but only once it worked: a rejected import (a chunk
 * that failed to load: offline, a flaky network, a deploy that replaced it) is forgotten, so the
 * next call fetches it again instead of failing for the rest of the page's life.
 */
export function importOnce<T>(load: () => Promise<T>): () => Promise<T> {
	let pending: Promise<T> | null = null;
	return () => {
		pending ??= load().catch((err: unknown) => {
			pending = null;
			throw err;
		});
		return pending;
	};
}

export function lazyModule<M>(load: () => Promise<M>): LazyModule<M> {
	let loaded: M | null = null;
	const once = importOnce(() => load().then((m) => (loaded = m)));
	const lazy: LazyModule<M> = {
		get now() {
			return loaded;
		},
		load: once,
		use(use, failed = () => {}) {
			if (loaded) return use(loaded);
			once().then(use, failed);
		}
	};
	return lazy;
}
