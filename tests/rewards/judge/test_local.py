"""The local transformers backend on a tiny model and a character tokenizer built here (no downloads)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest

from rewardkit import Sample, Status
from rewardkit.errors import ConfigError, ParamError
from rewardkit.params import build_params
from rewardkit.rewards.judge import JudgeParams, judge_batch

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
tokenizers = pytest.importorskip("tokenizers")

from rewardkit.rewards.judge import local_transformers as local  # noqa: E402

pytestmark = pytest.mark.timeout(120)
SAMPLES = [Sample("42", "What is 6*7?", "42"), Sample("41", "What is 6*7?", "42")]


def char_tokenizer() -> Any:
    """One token per printable character: '10' is two tokens, which the expected score must handle."""
    vocab = {c: i for i, c in enumerate(["[PAD]", "[UNK]", "[EOS]", *string.printable])}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Split(tokenizers.Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = tokenizers.decoders.Fuse()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]"
    )


def tiny_model(vocab: int) -> Any:
    torch.manual_seed(0)
    config = transformers.Qwen2Config(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=0,
        eos_token_id=2,
        bos_token_id=2,
    )
    return transformers.Qwen2ForCausalLM(config).eval()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-judge")
    tok = char_tokenizer()
    tiny_model(len(tok)).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def params(model_dir: Path, **kw: Any) -> JudgeParams:
    values = {"backend": "transformers", "model": str(model_dir), "cache_path": None, "max_tokens": 24, **kw}
    return build_params("judge", JudgeParams, values)  # type: ignore[no-any-return]


def local_model(model: Any) -> Any:
    import threading

    return local.LocalModel(char_tokenizer(), model, "cpu", threading.Lock())


def test_generated_garbage_is_null_not_zero(model_dir: Path) -> None:
    scores = judge_batch(SAMPLES, params(model_dir, max_error_rate=1.0))
    # A random model writes noise: cut off at max_tokens (masked) or unreadable (the low value), never a reward.
    for s in scores:
        assert s.details["verdict_status"] in ("truncated", "unreadable"), s
        assert (s.status, s.value) in ((Status.ERROR, None), (Status.OK, 0.0))


def test_logprob_scores_are_in_range_deterministic_and_cached(model_dir: Path, tmp_path: Path) -> None:
    p = params(model_dir, logprobs=True, min_score_mass=0.0, cache_path=str(tmp_path / "c.sqlite"))
    first, second = judge_batch(SAMPLES, p), judge_batch(SAMPLES, p)
    assert all(s.status is Status.OK and s.value is not None and 0 <= s.value <= 1 for s in first)
    assert [s.value for s in first] == [s.value for s in second]
    assert all(s.details["cached"] for s in second)


def test_expected_score_of_a_uniform_model_counts_two_token_numbers() -> None:
    tok = char_tokenizer()
    model = tiny_model(len(tok))
    with torch.no_grad():
        model.model.norm.weight.zero_()  # final hidden state 0: every next token equally likely
    probs = local.score_probabilities(local_model(model), [{"role": "user", "content": "grade"}], 10)
    v = len(tok)
    ends = 1 - 10 / v  # after a number, a non-digit follows
    assert probs[:10] == pytest.approx([ends / v] * 10)
    assert probs[10] == pytest.approx(ends / v**2)  # "10" is "1" then "0", then a non-digit
    expected, mass = local.expected_score(probs)
    assert expected == pytest.approx((45 + 10 / v) / (10 + 1 / v))
    assert mass == pytest.approx(ends * (10 / v + 1 / v**2))


def test_expected_score_follows_the_model_belief() -> None:
    tok = char_tokenizer()
    model = tiny_model(len(tok))
    head = torch.nn.Linear(32, len(tok), bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[tok.convert_tokens_to_ids("7")] = 9.0  # the model believes "7"...
        head.bias[tok.convert_tokens_to_ids("\n")] = 9.0  # ...then ends the line
    model.lm_head = head
    probs = local.score_probabilities(local_model(model), [{"role": "user", "content": "grade"}], 10)
    expected, mass = local.expected_score(probs)
    assert expected == pytest.approx(7.0, abs=0.05) and mass == pytest.approx(0.25, abs=0.02)


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        ([0.0, 0.0, 1.0], (2.0, 1.0)),
        ([0.25, 0.0, 0.25], (1.0, 0.5)),  # renormalised over the scores
        ([0.0, 0.0, 0.0], (0.0, 0.0)),  # no mass: the caller reports an error
    ],
)
def test_expected_score_table(probs: list[float], expected: tuple[float, float]) -> None:
    assert local.expected_score(probs) == pytest.approx(expected)


def test_too_little_mass_on_scores_is_an_error(model_dir: Path) -> None:
    scores = judge_batch(SAMPLES[:1], params(model_dir, logprobs=True, min_score_mass=0.9))
    assert scores[0].value is None and "probability on the scores 0-10" in scores[0].reason


def test_configuration_errors(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a local directory"):
        judge_batch(SAMPLES, params(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="asks yes/no"):
        judge_batch(SAMPLES, params(model_dir, logprobs=True, template="yes_no"))
    with pytest.raises(ParamError, match="logprobs scoring needs backend 'transformers'"):
        build_params("judge", JudgeParams, {"logprobs": True})
