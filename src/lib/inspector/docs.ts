/**
 * The machines' descriptions, for /inspect only. Every state and transition may carry a
 * `description` in its machine's source, where it documents the code; the production build
 * strips those strings from the machine definitions every phone downloads (about 1.5 KB brotli
 * before a call, most of it on the first visit) and extracts them, from the same definitions,
 * into a module /inspect imports (`virtual:machine-docs`, see vite.config.ts). The chart puts
 * them back by node path and transition key, so it shows what the source says.
 * Plain TypeScript: no DOM, no Svelte, unit-tested under Node.
 */
import type { ChartModel } from './model';

/** machine id → `n:<node path>` or `e:<transition key>` → description. */
export type MachineDocs = Record<string, Record<string, string>>;

/** The descriptions in `models` (drawn from the definitions before stripping). */
export function docsOf(models: ChartModel[]): MachineDocs {
	const docs: MachineDocs = {};
	for (const model of models) {
		const own: Record<string, string> = {};
		for (const node of model.nodes) if (node.description) own[`n:${node.path}`] = node.description;
		for (const edge of model.edges) if (edge.description) own[`e:${edge.key}`] = edge.description;
		docs[model.id] = own;
	}
	return docs;
}

/** `model` with the descriptions the build stripped put back (one it still has is kept). */
export function withDocs(model: ChartModel, docs: MachineDocs): ChartModel {
	const own = docs[model.id];
	if (!own) return model;
	const get = (key: string) => (Object.hasOwn(own, key) ? own[key] : null);
	return {
		...model,
		nodes: model.nodes.map((n) => ({ ...n, description: n.description ?? get(`n:${n.path}`) })),
		edges: model.edges.map((e) => ({ ...e, description: e.description ?? get(`e:${e.key}`) }))
	};
}
