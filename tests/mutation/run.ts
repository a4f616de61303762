/**
 * `npm run mutation [-- name …]`: Stryker over each machine in turn, one run per machine with
 * only that machine's unit tests (tests/unit/<name>.test.ts), then one table of scores.
 *
 * One run per machine because a machine is built when its module is imported, so nearly every
 * mutant is "static" and re-runs every test it is given: a single run over all machines with
 * all unit tests did not finish in 50 minutes (FACTS.md). Reports (JSON, HTML, each run's log)
 * land in tests/mutation/reports/. MUTATION_CONCURRENCY sets Stryker's worker count.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const reports = path.join(root, 'tests/mutation/reports');
const stryker = path.join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');

const all = fs
	.readdirSync(path.join(root, 'machines'))
	.filter((f) => f.endsWith('.machine.ts'))
	.map((f) => f.slice(0, -'.machine.ts'.length))
	.filter((name) => fs.existsSync(path.join(root, `tests/unit/${name}.test.ts`)))
	.sort();
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !all.includes(name));
if (unknown.length) {
	console.error(`No machine with a unit test file: ${unknown.join(', ')} (machines: ${all.join(', ')})`);
	process.exit(2);
}
const machines = asked.length ? asked : all;
fs.mkdirSync(reports, { recursive: true });

type Status = 'Killed' | 'Timeout' | 'Survived' | 'NoCoverage' | 'Ignored' | 'CompileError' | 'RuntimeError';
interface Report {
	files: Record<string, { mutants: { status: Status }[] }>;
}
type Counts = Record<Status, number>;
interface Row {
	name: string;
	seconds: number;
	result: (Counts & { score: number }) | null;
}

/** Stryker's mutation score: detected / valid (errors and ignored mutants are not valid). */
function score(name: string): Counts & { score: number } {
	const report = JSON.parse(fs.readFileSync(path.join(reports, `${name}.json`), 'utf8')) as Report;
	const counts: Counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, CompileError: 0, RuntimeError: 0 };
	for (const file of Object.values(report.files)) {
		for (const mutant of file.mutants) counts[mutant.status] += 1;
	}
	const detected = counts.Killed + counts.Timeout;
	const valid = detected + counts.Survived + counts.NoCoverage;
	return { ...counts, score: valid ? (100 * detected) / valid : NaN };
}

function run(name: string): Promise<{ code: number | null; seconds: number }> {
	const log = fs.createWriteStream(path.join(reports, `${name}.log`));
	const started = Date.now();
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [stryker, 'run', 'tests/mutation/stryker.config.mjs'], {
			cwd: root,
			env: { ...process.env, MUTATE_MACHINE: name, FORCE_COLOR: '0' },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		child.stdout.pipe(log);
		child.stderr.pipe(log);
		child.on('close', (code) => resolve({ code, seconds: (Date.now() - started) / 1000 }));
	});
}

const rows: Row[] = [];
let failed = false;
for (const name of machines) {
	process.stdout.write(`${name}: mutating machines/${name}.machine.ts against tests/unit/${name}.test.ts … `);
	const { code, seconds } = await run(name);
	if (code !== 0) {
		failed = true;
		console.log(`Stryker exited ${code} after ${seconds.toFixed(0)} s: see tests/mutation/reports/${name}.log`);
		rows.push({ name, seconds, result: null });
		continue;
	}
	const result = score(name);
	console.log(`${result.score.toFixed(1)}% in ${seconds.toFixed(0)} s`);
	rows.push({ name, seconds, result });
}

const header = ['machine', 'score %', 'killed', 'timeout', 'survived', 'no cov', 'ignored', 'errors', 'time s'];
const lines = rows.map(({ name, seconds, result: r }) =>
	r
		? [
				name,
				r.score.toFixed(1),
				r.Killed,
				r.Timeout,
				r.Survived,
				r.NoCoverage,
				r.Ignored,
				r.CompileError + r.RuntimeError,
				seconds.toFixed(0)
			].map(String)
		: [name, 'failed', '', '', '', '', '', '', seconds.toFixed(0)]
);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const format = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(`\n${format(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
for (const line of lines) console.log(format(line));
console.log(`\nReports: tests/mutation/reports/<machine>.html (survivors with their diffs), .json, .log`);
process.exit(failed ? 1 : 0);
