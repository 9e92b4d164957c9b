"""A tiny Qwen2-style model, a character-level tokenizer and an arithmetic dataset, all built locally.

Nothing is downloaded: the CPU demo and the tests run on machines without access to a model hub. The
four format tags are single tokens (not special, so TRL's ``skip_special_tokens`` decoding keeps them),
which makes ``<think>...</think><answer>...</answer>`` reachable by a random model in a few steps.
"""

from __future__ import annotations

import ast
import json
import operator
import random
import string
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

TAGS = ("<think>", "</think>", "<answer>", "</answer>")
SPECIAL = ("<pad>", "<eos>", "<unk>")
# Printable ASCII and newline; tabs and other control characters map to <unk>.
CHARS = tuple(c for c in string.printable if c not in "\t\r\x0b\x0c")

#: Defaults of the ``model.tiny`` block; any Qwen2Config field may be added there.
MODEL_DEFAULTS: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 256,
    "tie_word_embeddings": True,
}


def build_tokenizer(directory: str | Path, chars: str | None = None) -> Any:
    """Save a character-level fast tokenizer (tags as single tokens) to ``directory`` and return it.

    ``chars`` narrows the alphabet (other characters become ``<unk>``): the smaller the vocabulary, the
    likelier a random model is to emit a tag.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    alphabet = CHARS if chars is None else tuple(dict.fromkeys(chars))
    vocab = {tok: i for i, tok in enumerate((*SPECIAL, *TAGS, *alphabet))}
    # BPE without merges over an un-pre-tokenized string is exactly a character split.
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.decoder = decoders.Fuse()
    core.add_special_tokens(list(SPECIAL))
    core.add_tokens([AddedToken(t, normalized=False, special=False) for t in TAGS])
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core, eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )
    tokenizer.save_pretrained(str(directory))
    return tokenizer


def build_model(directory: str | Path, settings: Mapping[str, Any] | None = None, seed: int = 0) -> Path:
    """Save a randomly initialised Qwen2 model and its tokenizer to ``directory``; return the directory.

    ``settings`` are Qwen2Config fields over `MODEL_DEFAULTS`, plus ``chars`` for the tokenizer.
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    directory = Path(directory)
    fields = {**MODEL_DEFAULTS, **(settings or {})}
    tokenizer = build_tokenizer(directory, fields.pop("chars", None))
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **fields,
    )
    torch.manual_seed(seed)
    Qwen2ForCausalLM(config).save_pretrained(str(directory))
    return directory


_OPS: dict[type, Callable[[int, int], int]] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _value(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


def arithmetic_rows(rows: int, max_operand: int = 9, ops: str = "+", seed: int = 0) -> list[dict[str, str]]:
    """Questions such as ``3+4`` with their answers, drawn reproducibly (with replacement)."""
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        a, b, op = rng.randint(0, max_operand), rng.randint(0, max_operand), rng.choice(ops)
        out.append({"question": f"{a}{op}{b}", "answer": str(_value(a, op, b))})
    return out


def evaluate(expression: str) -> int:
    """The value of an integer expression of ``+``, ``-`` and ``*`` (parsed, never `eval`-ed)."""
    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        raise ValueError(f"not an integer expression of + - *: {expression!r}")

    return value(ast.parse(expression, mode="eval").body)


def arithmetic_split(
    holdout: float, max_operand: int = 9, ops: str = "+", max_answer: int | None = None, seed: int = 0,
    forms: Sequence[str] = (),
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Every distinct question (answers in ``[0, max_answer]``), split into training and held-out rows.

    Questions are ``a<op>b`` for each of ``ops``, or each of ``forms`` (templates over ``{a}`` and ``{b}``,
    e.g. ``"{a}+{b}-{b}"``) when given. The split is by question, so no held-out question is ever trained
    on: held-out accuracy measures what the policy learned about the operation, not what it memorised.
    """
    templates = list(forms) or [f"{{a}}{op}{{b}}" for op in ops]
    texts = [t.format(a=a, b=b) for t in templates for a in range(max_operand + 1) for b in range(max_operand + 1)]
    top = max_answer if max_answer is not None else 10**9
    rows = [{"question": q, "answer": str(evaluate(q))} for q in dict.fromkeys(texts) if 0 <= evaluate(q) <= top]
    random.Random(seed).shuffle(rows)
    cut = round(len(rows) * holdout)
    return rows[cut:], rows[:cut]


def write_jsonl(path: str | Path, rows: list[dict[str, str]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:  # a reader in another process is safe
        path.write_text(text, encoding="utf-8")
    return path


def write_arithmetic(path: str | Path, rows: int, max_operand: int = 9, ops: str = "+", seed: int = 0,
                     holdout: float | None = None, max_answer: int | None = None, forms: Sequence[str] = ()) -> Path:
    """Write `arithmetic_rows` as JSONL to ``path``; with ``holdout``, `arithmetic_split` instead.

    With ``holdout`` the training rows are every training question repeated to ``rows`` rows, and the
    held-out questions go to ``heldout.jsonl`` beside ``path``.
    """
    if holdout is None:
        return write_jsonl(path, arithmetic_rows(rows, max_operand, ops, seed))
    train, heldout = arithmetic_split(holdout, max_operand, ops, max_answer, seed, forms)
    write_jsonl(Path(path).with_name("heldout.jsonl"), heldout)
    return write_jsonl(path, [train[i % len(train)] for i in range(max(rows, len(train)))])
