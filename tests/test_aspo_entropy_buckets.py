"""Which tokens count as high-entropy, and that they get the high-entropy eps."""

import math

import pytest
import torch

from archer.aspo import aspo_token_losses, high_entropy_mask, masked_quantile


@pytest.mark.parametrize("q", [0.05, 0.5, 0.8, 0.95])
def test_masked_quantile_equals_torch_nanquantile(q):
    g = torch.Generator().manual_seed(0)
    values = torch.rand(7, 33, generator=g) * 5
    mask = torch.rand(7, 33, generator=g) > 0.4
    mask[1] = False
    mask[1, 3] = True  # a single valid token
    mask[2] = True
    expected = torch.nanquantile(values.masked_fill(~mask, float("nan")), q, dim=-1)
    torch.testing.assert_close(masked_quantile(values, mask, q), expected)


def test_masked_quantile_of_empty_row_is_inf_so_no_token_is_high():
    values = torch.rand(2, 5)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[0, :2] = True
    result = masked_quantile(values, mask, 0.8)
    assert math.isinf(result[1].item())
    assert not high_entropy_mask(values, mask, 0.8)[1].any()


def test_sequence_scope_marks_tokens_strictly_above_each_responses_quantile(h):
    # response 0: entropies 0.1 .. 1.0 (10 tokens); 0.8 quantile = 0.82 -> 0.9 and 1.0 are high
    # response 1: 4 valid tokens [5, 1, 3, 2] + padding of huge entropies that must not count
    entropy = torch.zeros(2, 10)
    entropy[0] = torch.arange(1, 11) / 10
    entropy[1, :4] = torch.tensor([5.0, 1.0, 3.0, 2.0])
    entropy[1, 4:] = 1000.0
    mask = torch.zeros(2, 10, dtype=torch.bool)
    mask[0] = True
    mask[1, :4] = True
    high = high_entropy_mask(entropy, mask, 0.8, "sequence")
    assert h.quantile(entropy[0].tolist(), 0.8) == pytest.approx(0.82)
    assert high[0].tolist() == [False] * 8 + [True] * 2
    # response 1 quantile: sorted [1, 2, 3, 5], rank 2.4 -> 3.8: only the 5 is above
    assert h.quantile([5.0, 1.0, 3.0, 2.0], 0.8) == pytest.approx(3.8)
    assert high[1].tolist() == [True, False, False, False] + [False] * 6


def test_batch_scope_uses_one_quantile_over_all_valid_tokens(h):
    entropy = torch.tensor([[0.1, 0.2, 0.3, 9.0], [1.0, 2.0, 3.0, 4.0]])
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    valid = [0.1, 0.2, 0.3, 1.0, 2.0, 3.0, 4.0]
    threshold = h.quantile(valid, 0.8)  # rank 4.8 -> 2.0 + 0.8 * 1.0 = 2.8
    assert threshold == pytest.approx(2.8)
    high = high_entropy_mask(entropy, mask, 0.8, "batch")
    assert high.tolist() == [[False, False, False, False], [False, False, True, True]]
    # per-sequence scope differs: response 0 has its own high token
    assert high_entropy_mask(entropy, mask, 0.8, "sequence")[0].tolist() == [False, False, True, False]


def test_equal_entropies_give_no_high_entropy_token():
    entropy = torch.full((3, 6), 0.7)
    mask = torch.ones(3, 6, dtype=torch.bool)
    assert not high_entropy_mask(entropy, mask, 0.8).any()


def test_high_entropy_tokens_get_the_wider_clip_range():
    """r = 1.3, A > 0: masked with eps_high 0.2 (low entropy), kept with 0.4 (high entropy);
    r = 0.7, A < 0: masked with eps_low 0.2, kept with 0.4."""
    old = torch.full((2, 5), -1.0)
    ratio = torch.tensor([[1.3, 1.3, 1.0, 1.0, 1.0], [0.7, 0.7, 1.0, 1.0, 1.0]])
    new = (old + ratio.log()).requires_grad_(True)
    adv = torch.tensor([[1.0] * 5, [-1.0] * 5])
    entropy = torch.tensor([[3.0, 0.1, 0.2, 0.3, 0.4], [3.0, 0.1, 0.2, 0.3, 0.4]])
    mask = torch.ones(2, 5, dtype=torch.bool)
    out = aspo_token_losses(
        old, new, adv, mask, clip_low=0.2, clip_high=0.2, entropy=entropy,
        high_entropy_clip_low=0.4, high_entropy_clip_high=0.4,
    )
    (grad,) = torch.autograd.grad(out.loss.sum(), new)
    assert out.high_entropy[:, 0].all() and not out.high_entropy[:, 1:].any()
    assert out.clipped_upper[0].tolist() == [False, True, False, False, False]
    assert out.clipped_lower[1].tolist() == [False, True, False, False, False]
    torch.testing.assert_close(grad[0, :2], torch.tensor([-1 / 1.3, 0.0]))
    torch.testing.assert_close(grad[1, :2], torch.tensor([0.7, 0.0]))


def test_uniform_eps_needs_no_entropy():
    old = torch.zeros(1, 3)
    new = torch.log(torch.tensor([[1.1, 1.3, 0.7]]))
    out = aspo_token_losses(old, new, torch.ones(1, 3), torch.ones(1, 3, dtype=torch.bool), clip_low=0.2, clip_high=0.2)
    assert out.high_entropy is None
    assert out.clipped_upper.tolist() == [[False, True, False]]


def test_entropy_eps_without_entropy_is_an_error():
    with pytest.raises(ValueError, match="entropy"):
        aspo_token_losses(
            torch.zeros(1, 2), torch.zeros(1, 2), torch.ones(1, 2), torch.ones(1, 2, dtype=torch.bool),
            clip_low=0.2, clip_high=0.2, high_entropy_clip_low=0.4, high_entropy_clip_high=0.4,
        )


@pytest.mark.slow
def test_batch_scope_works_beyond_torchs_2_pow_24_quantile_limit():
    n = 2**24 + 1000
    g = torch.Generator().manual_seed(1)
    entropy = torch.rand(1, n, generator=g)
    mask = torch.ones(1, n, dtype=torch.bool)
    with pytest.raises(RuntimeError, match="too large"):
        torch.quantile(entropy.view(-1), 0.8)
    result = masked_quantile(entropy.view(1, -1), mask, 0.8)
    sorted_values = entropy.view(-1).sort().values
    pos = 0.8 * (n - 1)
    lo = int(pos)
    expected = sorted_values[lo] + (sorted_values[lo + 1] - sorted_values[lo]) * (pos - lo)
    torch.testing.assert_close(result, expected.view(1), rtol=0, atol=1e-6)
    frac = high_entropy_mask(entropy, mask, 0.8, "batch").float().mean().item()
    assert frac == pytest.approx(0.2, abs=1e-4)


@pytest.mark.parametrize("q", [0.01, 0.333, 0.8, 0.999])
@pytest.mark.parametrize("width", [1, 2, 3, 7, 40])
def test_masked_quantile_matches_nanquantile_for_every_valid_count(q, width):
    """Rows holding 1..width valid tokens (scattered, not only a prefix), including ties."""
    g = torch.Generator().manual_seed(width)
    values = torch.randint(0, 5, (width, width), generator=g).float() / 4
    order = torch.rand(width, width, generator=g).argsort(-1)
    mask = order < torch.arange(1, width + 1)[:, None]
    expected = torch.nanquantile(values.masked_fill(~mask, float("nan")), q, dim=-1)
    torch.testing.assert_close(masked_quantile(values, mask, q), expected)
