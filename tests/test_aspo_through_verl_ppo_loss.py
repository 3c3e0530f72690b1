"""ASPO as the engine runs it: verl's own ``ppo_loss`` on a TensorDict, after a plain ``import verl``."""

import pytest
import torch

import verl  # noqa: F401  (loads the archer plugin)
import verl.workers.utils.losses as verl_losses
from verl.trainer.ppo.core_algos import get_policy_loss_fn

from archer.aspo import METRIC_NAMES, finalize_metric_parts

ASPO_METRICS = set(METRIC_NAMES)


def finalized(metrics) -> dict:
    """ppo_loss's metrics with each ASPO metric's numerator/denominator parts divided (what the worker
    logs for a step made of this one micro-batch)."""
    return finalize_metric_parts(dict(metrics))


def run_ppo_loss(h, config, old, new, adv, entropy, mask, **kwargs):
    data, model_output, leaf, index = h.to_verl(old, new, adv, entropy, mask, **kwargs)
    loss, metrics = verl_losses.ppo_loss(config, model_output, data)
    (flat_grad,) = torch.autograd.grad(loss, leaf)
    return loss, metrics, h.gather_grad(flat_grad, index)


def reference_loss_and_grad(h, old, new, adv, entropy, mask, eps, c=3.0, scope_rows=True):
    """token-mean ASPO from the scalar reference, the high-entropy bucket from reference quantiles."""
    total = mask.sum().item()
    loss, grad = 0.0, torch.zeros_like(old)
    for b in range(old.shape[0]):
        n = int(mask[b].sum())
        threshold = h.quantile(entropy[b, :n].tolist(), 0.8)
        for t in range(n):
            high = entropy[b, t].item() > threshold
            e_low, e_high = eps["high"] if high else eps["low"]
            v, g = h.token(old[b, t].item(), new[b, t].item(), adv[b, t].item(), e_low, e_high, c)
            loss += v / total
            grad[b, t] = g / total
    return loss, grad


def test_ppo_loss_hands_entropy_to_aspo_and_matches_the_reference(h, actor_config):
    config = actor_config()
    old, new, adv, entropy, mask = h.make_batch(batch=6, length=14, spread=0.7, seed=2)
    loss, metrics, grad = run_ppo_loss(h, config, old, new, adv, entropy, mask)
    ref_loss, ref_grad = reference_loss_and_grad(h, old, new, adv, entropy, mask, {"low": (0.2, 0.2), "high": (0.4, 0.4)})
    assert loss.item() == pytest.approx(ref_loss, rel=1e-5, abs=1e-6)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-7)
    assert ASPO_METRICS <= set(finalized(metrics))
    assert finalized(metrics)["actor/aspo/high_entropy_frac"] > 0


def test_paper_preset_is_uniform_eps_and_runs_without_entropy(h, actor_config):
    config = actor_config("aspo_preset=paper")
    assert config.calculate_entropy is False
    old, new, adv, entropy, mask = h.make_batch(batch=5, length=10, spread=0.7, seed=4)
    data, model_output, leaf, index = h.to_verl(old, new, adv, entropy, mask)
    del model_output["entropy"]  # what the engine produces with calculate_entropy=false
    loss, metrics = verl_losses.ppo_loss(config, model_output, data)
    (flat_grad,) = torch.autograd.grad(loss, leaf)
    eps = {"low": (0.2, 0.2), "high": (0.2, 0.2)}
    ref_loss, ref_grad = reference_loss_and_grad(h, old, new, adv, entropy, mask, eps)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-5, abs=1e-6)
    torch.testing.assert_close(h.gather_grad(flat_grad, index), ref_grad, rtol=1e-5, atol=1e-7)
    assert "actor/aspo/high_entropy_frac" not in finalized(metrics)


def test_entropy_eps_without_calculate_entropy_names_the_switch(h, actor_config):
    config = actor_config("actor_rollout_ref.actor.calculate_entropy=false")
    old, new, adv, entropy, mask = h.make_batch(batch=2, length=5)
    data, model_output, _, _ = h.to_verl(old, new, adv, entropy, mask)
    del model_output["entropy"]
    with pytest.raises(ValueError, match=r"actor_rollout_ref\.actor\.calculate_entropy"):
        verl_losses.ppo_loss(config, model_output, data)


def test_entropy_hand_off_is_scoped_to_one_ppo_loss_call(h, actor_config):
    """After ppo_loss returns, a direct call of the loss must not see a stale entropy."""
    config = actor_config()
    old, new, adv, entropy, mask = h.make_batch(batch=2, length=5)
    run_ppo_loss(h, config, old, new, adv, entropy, mask)
    with pytest.raises(ValueError, match="calculate_entropy"):
        get_policy_loss_fn("aspo")(old, new, adv, mask, "token-mean", actor_config(), None)


@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum"])
def test_padding_values_and_width_do_not_change_loss_or_gradient(h, actor_config, agg):
    """The registered loss on padded tensors: 7 extra padding columns and garbage (huge entropies,
    extreme log-probs and advantages) in every padded slot change nothing."""
    old, new, adv, entropy, mask = h.make_batch(batch=4, length=9, spread=0.8, seed=7)
    loss_fn = get_policy_loss_fn("aspo")

    def loss_and_grad(o, n, a, e, m):
        n = n.clone().requires_grad_(True)
        loss, _ = loss_fn(o, n, a, m, agg, actor_config(f"actor_rollout_ref.actor.loss_agg_mode={agg}"), None, entropy=e)
        return loss, torch.autograd.grad(loss, n)[0]

    loss_a, grad_a = loss_and_grad(old, new, adv, entropy, mask)
    g = torch.Generator().manual_seed(1)
    wide_mask = torch.cat([mask, torch.zeros(4, 7, dtype=torch.bool)], dim=1)
    garbage = [torch.randn(4, 16, generator=g) * s for s in (30.0, 30.0, 50.0, 1e6)]
    wide = []
    for t, junk in zip((old, new, adv, entropy), garbage):
        junk[:, :9][mask] = t[mask]
        wide.append(junk)
    loss_b, grad_b = loss_and_grad(*wide, wide_mask)
    torch.testing.assert_close(loss_b, loss_a)
    torch.testing.assert_close(grad_b[:, :9], grad_a)
    assert torch.all(grad_b[~wide_mask] == 0)


def test_prompt_lengths_do_not_change_the_result_through_ppo_loss(h, actor_config):
    old, new, adv, entropy, mask = h.make_batch(batch=4, length=9, spread=0.8, seed=7)
    loss_a, _, grad_a = run_ppo_loss(h, actor_config(), old, new, adv, entropy, mask)
    loss_b, _, grad_b = run_ppo_loss(h, actor_config(), old, new, adv, entropy, mask, prompt_lens=[5, 1, 3, 2])
    torch.testing.assert_close(loss_b, loss_a)
    torch.testing.assert_close(grad_b, grad_a)


@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum"])
@pytest.mark.parametrize("micro", [2, 3])
def test_micro_batches_sum_to_the_whole_batch_through_global_batch_info(h, actor_config, agg, micro):
    old, new, adv, entropy, mask = h.make_batch(batch=6, length=11, spread=0.8, seed=9)
    over = f"actor_rollout_ref.actor.loss_agg_mode={agg}"
    whole_loss, _, whole_grad = run_ppo_loss(h, actor_config(over), old, new, adv, entropy, mask)

    step = old.shape[0] // micro
    total_loss, grads = 0.0, []
    for i in range(0, old.shape[0], step):
        part = [t[i : i + step] for t in (old, new, adv, entropy, mask)]
        data, model_output, leaf, index = h.to_verl(*part)
        # what the engine stores: token count and batch size of the whole mini-batch
        data.set_non_tensor("batch_num_tokens", int(mask.sum()))
        data.set_non_tensor("global_batch_size", old.shape[0])
        loss, _ = verl_losses.ppo_loss(actor_config(over), model_output, data)
        (flat_grad,) = torch.autograd.grad(loss, leaf)
        total_loss += loss.item()
        grads.append(h.gather_grad(flat_grad, index))
    assert total_loss == pytest.approx(whole_loss.item(), rel=1e-5, abs=1e-7)
    torch.testing.assert_close(torch.cat(grads), whole_grad)


def test_rollout_is_weights_scale_each_tokens_loss(h, actor_config):
    old, new, adv, entropy, mask = h.make_batch(batch=3, length=6, seed=12)
    weights = torch.rand(3, 6, generator=torch.Generator().manual_seed(0)) + 0.5
    _, _, plain = run_ppo_loss(h, actor_config(), old, new, adv, entropy, mask)
    _, _, weighted = run_ppo_loss(h, actor_config(), old, new, adv, entropy, mask, rollout_is_weights=weights)
    torch.testing.assert_close(weighted, plain * weights * mask)


def test_metrics_on_a_hand_built_batch(h, actor_config):
    """Two responses: positive (A=+1) and negative (A=-1), four tokens each, known ratios."""
    old = torch.full((2, 4), -1.0)
    ratio = torch.tensor([[1.5, 1.0, 0.25, 1.1], [0.5, 4.0, 1.0, 1.2]])
    new = old + ratio.log()
    adv = torch.tensor([[1.0] * 4, [-1.0] * 4])
    entropy = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    mask = torch.ones(2, 4, dtype=torch.bool)
    _, metrics, _ = run_ppo_loss(h, actor_config("aspo_preset=paper", "actor_rollout_ref.actor.calculate_entropy=true"),
                                 old, new, adv, entropy, mask)
    value = {k: v for k, v in finalized(metrics).items() if k in ASPO_METRICS}
    assert set(value) == ASPO_METRICS
    assert value["actor/aspo/clipfrac_upper"] == pytest.approx(1 / 8)  # r = 1.5 > 1.2, A > 0
    assert value["actor/aspo/clipfrac_lower"] == pytest.approx(1 / 8)  # r = 0.5 < 0.8, A < 0
    assert value["actor/pg_clipfrac"] == pytest.approx(2 / 8)
    # verl's meaning of pg_clipfrac_lower: A < 0 tokens in the dual-clip region (r = 4 > c), over all tokens
    assert value["actor/pg_clipfrac_lower"] == pytest.approx(1 / 8)
    assert value["actor/aspo/dual_clipfrac_pos"] == pytest.approx(1 / 4)  # 1/0.25 = 4 > 3
    assert value["actor/aspo/dual_clipfrac_neg"] == pytest.approx(1 / 4)  # 4 > 3
    assert value["actor/aspo/is_ratio_mean_pos"] == pytest.approx((1.5 + 1.0 + 0.25 + 1.1) / 4, rel=1e-5)
    assert value["actor/aspo/is_ratio_mean_neg"] == pytest.approx((0.5 + 4.0 + 1.0 + 1.2) / 4, rel=1e-5)
    assert value["actor/ppo_kl"] == pytest.approx(-ratio.log().mean().item(), rel=1e-5)
    assert value["actor/aspo/entropy_mean_pos"] == pytest.approx(0.25)
    assert value["actor/aspo/entropy_mean_neg"] == pytest.approx(0.25)
    # each response: quantile 0.8 of 4 values -> one token strictly above
    assert value["actor/aspo/high_entropy_frac"] == pytest.approx(2 / 8)
    assert all(type(v) is float for v in value.values())
