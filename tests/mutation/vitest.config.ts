/**
 * The unit tests alone, for Stryker (tests/mutation/run.ts): the browser and server projects
 * must never run once per mutant. No SvelteKit plugin: the machines and their tests need only
 * the `$machines` alias.
 *
 * MUTATE_MACHINE=<name> narrows the run to that machine's own test file. (Stryker's
 * `testFiles` option would do the same, but with it Stryker activates static mutants at run
 * time, after the machine was already built at import: they all "survive". A machine built at
 * import time is nearly all static mutants.)
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../..', import.meta.url));
const machine = process.env.MUTATE_MACHINE;

export default defineConfig({
	root,
	// The root tsconfig extends .svelte-kit/tsconfig.json, which the sandbox does not have.
	tsconfig: 'tests/mutation/tsconfig.json',
	resolve: { alias: { $machines: `${root}machines` } },
	test: {
		include: machine
			? [`tests/unit/${machine}.test.ts`, 'tests/mutation/machine-loads.test.ts']
			: ['tests/unit/**/*.test.ts'],
		environment: 'node'
	}
});
