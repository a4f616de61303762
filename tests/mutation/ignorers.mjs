// Stryker ignorers for parts of an XState machine that no behaviour depends on, so their mutants
// are equivalent by construction and only dilute the score:
// - `description` of a state or transition: a label the inspector shows on the chart;
// - `types` in setup(): TypeScript-only, erased at run time.
// Anything else (event names, targets, guards, reasons, delays) is mutated as usual.
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

/** @param {import('@babel/core').NodePath} path */
function keyName(path) {
	if (!path.isObjectProperty()) return null;
	const key = path.node.key;
	return key.type === 'Identifier' ? key.name : key.type === 'StringLiteral' ? key.value : null;
}

export const strykerPlugins = [
	declareValuePlugin(PluginKind.Ignore, 'machine-labels', {
		/** @param {import('@babel/core').NodePath} path */
		shouldIgnore(path) {
			const name = keyName(path);
			if (name === 'description') return 'A description only labels the chart';
			if (name === 'types' && path.parentPath?.parentPath?.isCallExpression()) return 'setup({ types }) only informs TypeScript';
			return undefined;
		}
	})
];
