import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helpText } from '../../src/cli/main.ts';
import { COMMANDS } from '../../src/cli/commands.ts';

// Words split at whitespace and before yargs' annotations ("[string]"), which it butts against a description that
// fills its column.
const words = (s: string) => s.split(/\s+|(?=\[(?:string|number|boolean|array|required|default|choices)\b)/).filter(Boolean);

// Wrapping at word boundaries changes only whitespace, so every word of the wrapped help is a word of the unwrapped help
// (which yargs lays out one description per line), except pieces of a word too long for any line (a path in an
// example). A wrap that cuts inside words ("logistic-reg / ression") fails.
for (const args of [[], ...COMMANDS.map((c) => [c.name])]) {
  test(`help wraps at word boundaries: reprobe ${args.join(' ') || '(top level)'}`, async () => {
    const unwrapped = await helpText(args, null);
    assert.ok(unwrapped.length > 200, unwrapped);
    for (const width of [80, 110]) {
      const wrapped = await helpText(args, width);
      assert.ok(wrapped.split('\n').some((l) => l.length > 0 && l.length <= width), 'laid out');
      assert.ok(wrapped.split('\n').every((l) => l.length <= width), `a line longer than ${width}`);
      const whole = new Set(words(unwrapped));
      const tooLong = [...whole].filter((w) => w.length > 30);
      const cut = words(wrapped).filter((w) => !whole.has(w) && !tooLong.some((t) => t.includes(w)));
      assert.deepEqual(cut, [], `words cut at width ${width}`);
    }
  });
}
