import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CARDS } from '../../src/backbones/cards/index.ts';
import { isKerasCard } from '../../src/backbones/types.ts';
import { ConfigError } from '../../src/errors.ts';
import { EXPLAINER_NAMES, explainersFor, pickExplainer } from '../../src/explain/explainers.ts';

test('every built-in backbone: the methods that serve it by its card (ConvNets, Keras or ONNX: gradcam; ONNX transformers: rollout, relevance), the others refused in one line naming those', () => {
  for (const card of CARDS) {
    const served = explainersFor(card);
    const vit = !isKerasCard(card) && card.patch !== undefined;
    assert.deepEqual(served, vit ? ['rollout', 'relevance'] : ['gradcam'], card.id);
    const backbone = { name: card.id, card };
    if (served.length) assert.equal(pickExplainer(undefined, backbone, false), vit ? 'rollout' : 'gradcam');
    else assert.throws(() => pickExplainer(undefined, backbone, false), new RegExp(`^ConfigError: No explanation method serves ${card.id} yet`));
    if (vit) assert.equal(pickExplainer(undefined, backbone, true), 'relevance', 'a prompt asks for relevance');
    for (const m of EXPLAINER_NAMES.filter((x) => !served.includes(x))) {
      const supports = served.length ? served.join(', ') : 'no explanation method yet';
      assert.throws(
        () => pickExplainer(m, backbone, false),
        (e: Error) => e instanceof ConfigError && !e.message.includes('\n') && e.message.startsWith(`${m} cannot explain ${card.id}`) && e.message.endsWith(`${card.id} supports ${supports}.`),
      );
    }
  }
  assert.throws(() => pickExplainer('lime', { name: 'mobilenet-v2', card: CARDS.find(isKerasCard)! }, false), /Unknown explain method "lime"\. Known: rollout, relevance, gradcam/);
});
