import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CellRecord } from '../../src/results/record.ts';
import { confusedPairsTables } from '../../src/report/table.ts';
import { withPresentation } from '../../src/jobs/methods.ts';

// As the report reads them: each with its method's presentation (fine-tuning's names its `train` variant).
const rec = (fields: Record<string, unknown>) => withPresentation([{ backbone: 'clip-vit-b32', method: 'lr', eval_split: 'test', ...fields } as unknown as CellRecord])[0];

test('confused pairs tables: one per record that lists them, titled by backbone, method and set; none without the field', () => {
  const pairs = [
    { a: 'Grape Blue', b: 'Cherry Wax Black', iou: 110 / 164, m_ab: 100, m_ba: 10, n_a: 100, n_b: 64 },
    { a: 'Tomato 1', b: 'Tomato Cherry Red', iou: 0.5, m_ab: 3, m_ba: 1, n_a: 4, n_b: 4 },
  ];
  const out = confusedPairsTables([rec({ confused_pairs: pairs }), rec({ method: 'knn' }), rec({ method: 'finetune', train: 'head', eval_split: 'ood_test', confused_pairs: [] })]);
  assert.equal(
    out,
    [
      'most confused pairs: clip-vit-b32 lr on test',
      'class_a     class_b            iou     m_ab  m_ba  n_a  n_b',
      '----------  -----------------  ------  ----  ----  ---  ---',
      'Grape Blue  Cherry Wax Black   0.6707   100    10  100   64',
      'Tomato 1    Tomato Cherry Red  0.5000     3     1    4    4',
      '',
      'most confused pairs: clip-vit-b32 finetune (train head) on ood_test: none (no test image was mistaken for another class)',
    ].join('\n'),
  );
  assert.equal(confusedPairsTables([rec({}), rec({ method: 'knn' })]), '');
});

