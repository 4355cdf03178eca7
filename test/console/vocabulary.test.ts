/** The console's copies of Herald's vocabulary stay equal to the contract's. */
import { DEAD_LETTER_KINDS, DEAD_LETTER_REASONS, TERMINAL_STATES } from '../../console/src/vocabulary';
import { DeadLetterKindSchema } from '../../src/contract/dead-letter';
import {
  DEAD_LETTER_REASONS as CONTRACT_REASONS,
  TERMINAL_STATES as CONTRACT_TERMINAL,
} from '../../src/contract/message-status';

test('dead-letter reasons and kinds, and terminal states, are the contract’s', () => {
  expect([...TERMINAL_STATES]).toEqual([...CONTRACT_TERMINAL]);
  expect([...DEAD_LETTER_REASONS]).toEqual([...CONTRACT_REASONS]);
  expect([...DEAD_LETTER_KINDS]).toEqual(DeadLetterKindSchema.anyOf.map((literal: { const: string }) => literal.const));
});
