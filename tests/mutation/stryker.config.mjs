// Stryker over ONE machine with its own unit test file (FACTS.md: a run over every machine with every
// unit test did not finish in 50 min; each machine is built at import time, so nearly every
// mutant is "static" and re-runs all the tests it is given). tests/mutation/run.ts sets
// MUTATE_MACHINE and runs this once per machine; by hand:
//   MUTATE_MACHINE=capture npx stryker run tests/mutation/stryker.config.mjs
const machine = process.env.MUTATE_MACHINE;
if (!machine || !/^[a-z]+$/.test(machine)) {
	throw new Error('Set MUTATE_MACHINE to a machine name, e.g. MUTATE_MACHINE=capture');
}
const out = 'tests/mutation/reports';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
	testRunner: 'vitest',
	plugins: ['@stryker-mutator/*', './tests/mutation/ignorers.mjs'],
	ignorers: ['machine-labels'],
	vitest: { configFile: 'tests/mutation/vitest.config.ts', related: false },
	// Note: with vitest 4.1, vitest-runner 9.5.1's per-test coverage hook fails quietly (fixed in
	// 9.6), so every mutant runs the machine's whole test file: slower, same scores.
	coverageAnalysis: 'perTest',
	mutate: [`machines/${machine}.machine.ts`],
	// Which tests run: tests/mutation/vitest.config.ts reads MUTATE_MACHINE (only
	// tests/unit/<machine>.test.ts).
	// Copy only what the unit tests need into the sandbox (not src/, build/, static/, …).
	ignorePatterns: [
		'/*',
		'!/machines',
		'!/tests',
		'/tests/*',
		'!/tests/unit',
		'!/tests/mutation',
		'/tests/mutation/reports',
		'!/package.json'
	],
	tempDirName: 'tests/mutation/.stryker-tmp',
	...(process.env.MUTATION_CONCURRENCY ? { concurrency: Number(process.env.MUTATION_CONCURRENCY) } : {}),
	reporters: ['json', 'html', 'clear-text', 'progress'],
	jsonReporter: { fileName: `${out}/${machine}.json` },
	htmlReporter: { fileName: `${out}/${machine}.html` },
	clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
	timeoutMS: 10000
};
