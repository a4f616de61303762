/**
 * Only for `npm run mutation`. A mutant that makes the machine throw while its module is being
 * imported (`initial: ""`, an unknown `src`) leaves the machine's own test file with no test
 * results at all, and Stryker's vitest runner counts a run with no failed test as "survived".
 * This test imports the machine inside a test, so such a mutant fails a test and is killed.
 */
import { expect, test } from 'vitest';
import { createActor, type AnyStateMachine } from 'xstate';

const machine = process.env.MUTATE_MACHINE;

test.runIf(machine)(`machines/${machine}.machine.ts builds and starts`, async () => {
	const mod = (await import(`../../machines/${machine}.machine.ts`)) as Record<string, unknown>;
	const built = mod[`${machine}Machine`] as AnyStateMachine;
	expect(built.id).toBe(machine);
	expect(() => createActor(built).getSnapshot()).not.toThrow();
});
