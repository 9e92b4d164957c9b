"""The local backend: a transformers causal LM loaded from a directory (no hub access), one per process.

Two ways to grade. Generation: the model writes a verdict, parsed like a server's. Logprobs: the reply is
prefilled with ``Score: `` and the verdict is the expected score under the model's probabilities of each
number 0..scale (G-Eval style), which is smoother than a sampled integer and cannot be unreadable.

The probability of a number is that of its tokens followed by something that is not a digit, so ``1``
and ``10`` are told apart even where ``10`` is two tokens: P("1") alone would count every 10 as a 1.
Each candidate text is tokenized whole (prompt, prefill and number), so BPE merges such as " 7" come out
as the model saw them in training; the tokens the candidates share are the context.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from ...errors import ConfigError
from ...types import Sample, Score
from .config import JudgeParams
from .openai_http import Reply
from .retry import Fatal
from .scoring import Job, Outcome, plan
from .templates import Template

PREFILL = "Score: "

_lock = threading.Lock()
_models: dict[tuple[str, str], LocalModel] = {}


@dataclass
class LocalModel:
    tokenizer: Any
    model: Any
    device: str
    lock: threading.Lock
    digit_start: Any = None  # bool tensor over the vocabulary, built on first logprob use


def load(path: str, device: str) -> LocalModel:
    """The model in ``path``, loaded once per process and device."""
    with _lock:
        if (path, device) not in _models:
            _models[(path, device)] = _load(path, device)
        return _models[(path, device)]


def _load(path: str, device: str) -> LocalModel:
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise ConfigError(
            "the judge reward's 'transformers' backend needs transformers and torch: pip install 'rewardkit[train]'"
        ) from None
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise ConfigError(
            f"judge backend 'transformers': model {path!r} is not a local directory. Give the path of a "
            "saved model (save_pretrained); models are not downloaded."
        )
    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True)
    model = model.to(device).eval()  # type: ignore[arg-type]  # transformers' stubs mistype .to()
    return LocalModel(tokenizer, model, device, threading.Lock())


def chat_text(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, bool]:
    """The prompt as the model expects it; the flag says whether special tokens are already in it."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True), True
    return "\n\n".join(m["content"] for m in messages) + "\n\n", False


def generate(lm: LocalModel, messages: list[dict[str, str]], max_tokens: int) -> Reply:
    """The model's reply; ``finish_reason`` is ``length`` when it used its whole token allowance."""
    import torch

    text, templated = chat_text(lm.tokenizer, messages)
    enc = lm.tokenizer(text, return_tensors="pt", add_special_tokens=not templated).to(lm.device)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else lm.tokenizer.eos_token_id
    with lm.lock, torch.inference_mode():
        out = lm.model.generate(**enc, max_new_tokens=max_tokens, do_sample=False, pad_token_id=pad)
    new = out[0, enc["input_ids"].shape[1] :]
    text = str(lm.tokenizer.decode(new, skip_special_tokens=True))
    eos = lm.tokenizer.eos_token_id
    stopped = len(new) < max_tokens or (eos is not None and int(new[-1]) == eos)
    return Reply(text, "stop" if stopped else "length")


class LocalChatBackend:
    """The local model behind the same interface as `OpenAIChatBackend` (no structured output)."""

    def __init__(self, path: str, device: str) -> None:
        self.path, self.device = path, device

    async def __aenter__(self) -> LocalChatBackend:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def complete(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        top_logprobs: int = 0,
    ) -> Reply:
        lm = load(self.path, self.device)
        try:
            return await asyncio.to_thread(generate, lm, messages, max_tokens or 512)
        except (RuntimeError, ValueError) as exc:  # e.g. out of memory, a prompt longer than the context
            raise Fatal(f"local judge failed: {type(exc).__name__}: {exc}") from None


def score_probabilities(lm: LocalModel, messages: list[dict[str, str]], scale: int) -> list[float]:
    """P(the reply after ``Score: `` is exactly the number s), for s in 0..scale (not normalised)."""
    import torch

    text, templated = chat_text(lm.tokenizer, messages)
    seqs = [
        lm.tokenizer(text + PREFILL + str(s), add_special_tokens=not templated)["input_ids"] for s in range(scale + 1)
    ]
    shared = _common_prefix(seqs)
    longest = max(len(s) for s in seqs)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    ids = torch.tensor([s + [pad] * (longest - len(s)) for s in seqs], device=lm.device)
    mask = torch.tensor([[1] * len(s) + [0] * (longest - len(s)) for s in seqs], device=lm.device)
    # Right padding leaves every real token's position unchanged; only the last `keep` positions are needed.
    keep = longest - shared + 1
    with lm.lock, torch.inference_mode():
        logprobs = _last_logits(lm.model, ids, mask, keep).float().log_softmax(-1)
    digit_start = _digit_start(lm)
    probs = []
    for row, seq in enumerate(seqs):
        offset = longest - keep  # position p of the sequence is column p - offset of the kept logits
        total = sum(float(logprobs[row, p - 1 - offset, seq[p]]) for p in range(shared, len(seq)))
        after = logprobs[row, len(seq) - 1 - offset].exp()
        ends = 1.0 - float(after[: digit_start.shape[0]][digit_start].sum())
        probs.append(float(torch.tensor(total).exp()) * max(ends, 0.0))
    return probs


def _last_logits(model: Any, ids: Any, mask: Any, keep: int) -> Any:
    try:
        return model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits[:, -keep:]
    except TypeError:  # models without logits_to_keep
        return model(input_ids=ids, attention_mask=mask).logits[:, -keep:]


def _common_prefix(seqs: list[list[int]]) -> int:
    n = min(len(s) for s in seqs)
    for i in range(n):
        if any(s[i] != seqs[0][i] for s in seqs):
            return i
    return n - 1 if all(len(s) == n for s in seqs) else n  # keep at least one token to predict


def _digit_start(lm: LocalModel) -> Any:
    """Tokens whose text starts with a digit: the ones that would extend a number."""
    import torch

    if lm.digit_start is None:
        texts = lm.tokenizer.batch_decode([[i] for i in range(len(lm.tokenizer))])
        flags = [bool(t) and t[0].isdigit() for t in texts]
        lm.digit_start = torch.tensor(flags, device=lm.device)
    return lm.digit_start


def expected_score(probs: list[float]) -> tuple[float, float]:
    """The expected score under ``probs`` renormalised over the scores, and the mass they held."""
    mass = sum(probs)
    if mass <= 0:
        return 0.0, 0.0
    return sum(s * p for s, p in enumerate(probs)) / mass, mass


def _logprob_outcome(lm: LocalModel, job: Job, params: JudgeParams) -> Outcome:
    from .cache import Entry
    from .scoring import score_entry

    probs = score_probabilities(lm, job.messages, params.scale)
    value, mass = expected_score(probs)
    if mass < params.min_score_mass or mass == 0:
        return Score.error(
            f"local judge put only {mass:.1%} probability on the scores 0-{params.scale} after "
            f"{PREFILL.strip()!r} (min_score_mass={params.min_score_mass:g}); its verdict is not a reward"
        ), None
    entry = Entry(
        value / params.scale,
        value,
        float(params.scale),
        f"expected score {value:.3f}/{params.scale} ({mass:.1%} of probability on score tokens)",
    )
    return score_entry(entry, "score", cached=False, attempts=1), entry


def judge_logprobs(
    samples: Sequence[Sample], template: Template, params: JudgeParams, scores: list[Score | None]
) -> list[Score]:
    """Score by expected value over the score tokens (no generation, so never unreadable)."""
    from .cache import VerdictCache

    if template.verdict != "score":
        raise ConfigError(f"judge: logprobs scoring reads a 0..scale score; template {template.name!r} asks yes/no")
    requests = plan(samples, template, params, scores)
    cache = VerdictCache(params.cache_path)
    hits = cache.get_many(requests)
    lm = load(params.model, params.device) if len(hits) < len(requests) else None
    fresh: dict[str, Any] = {}
    for key, request in requests.items():
        if key in hits:
            e = hits[key]
            score = Score.ok(e.value, f"judge said {e.raw:.3g}/{e.out_of:g}", verdict=e.verdict, cached=True)
        else:
            assert lm is not None
            try:
                score, entry = _logprob_outcome(lm, Job(key, request.messages), params)
            except (RuntimeError, ValueError) as exc:
                score, entry = Score.error(f"local judge failed: {type(exc).__name__}: {exc}"), None
            if entry is not None:
                fresh[key] = entry
        for i in request.indices:
            scores[i] = score
    cache.put_many(fresh)
    return [s if s is not None else Score.error("judge: internal error, sample left unscored") for s in scores]
